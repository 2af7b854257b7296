/**
 * What a verify step type owns, whole: its YAML value parsed into a typed step (defaults applied),
 * what the schema cannot check, how it runs against the lab, and what it puts in the report. One
 * module per type under step-types/, listed once in steps.ts; its YAML shape is its fragment of
 * schema/verify.schema.json.
 */
import type { TopologyIssue } from '../core/issue.js';
import type { KindTrait } from '../core/kind-traits.js';
import type { Plan, PlannedNode, ReadinessCheck } from '../core/plan.js';
import type { ContainerRuntime, ExecResult } from '../core/runtime.js';
import { shellCommand } from '../util/shell.js';
import { firstLine } from '../util/text.js';
import type { Evidence, StepResult } from './report.js';
import type { TimelineMark } from './timeline.js';

/** A parsed step; `type` names its step type, which owns the other fields. */
export interface VerifyStep {
  type: string;
  /** Position in the `verify:` list, for issue paths and reports. */
  index: number;
  name: string;
  node: string;
  /** Where the step is in the YAML (`['verify', 3]`, `['verify', 3, 'http-load', 'during', 0]`); default `['verify', index]`. */
  path?: Path;
  /** The index of the step whose `during:` list holds this one. */
  parent?: number;
  /** `at:` inside a `during:` list: when to start, in ms after the parent's traffic began. */
  atMs?: number;
  /** An exercise's check: what it is worth, and what the student reads when it fails. */
  points?: number;
  hint?: string;
  readonly [field: string]: unknown;
}

type Path = (string | number)[];

export interface StepCheckContext {
  /** The YAML path of one of the step's keys: `at('url')` is `['verify', 2, 'http-tally', 'url']`. */
  at: (...rest: (string | number)[]) => Path;
  /** An issue when the step's node lacks `trait` (`what` names the step, e.g. `show "ospf-routes"`). */
  requireTrait: (trait: KindTrait, what: string, path: Path) => TopologyIssue[];
  /** An issue when `name` (a node a step refers to besides its own) is not in the topology. */
  nodeExists: (name: string, path: Path) => TopologyIssue[];
}

export interface StepRunContext {
  runtime: ContainerRuntime;
  plan: Plan;
  /** The planned node the step runs on. */
  node: PlannedNode;
  /** Polls a readiness check until it holds; rejects with a message saying what was tried for how long. */
  waitFor: (check: ReadinessCheck) => Promise<void>;
  /**
   * How to put back what this step changed (a fault it injected): the runner undoes, newest first,
   * when the run ends, whether it passed, failed or was interrupted.
   */
  undoLater: (what: string, undo: () => Promise<void>) => void;
  /** Aborted by Ctrl-C: a long step (a user's command) stops early so the faults are undone promptly. */
  signal?: AbortSignal;
  /**
   * A step with a `during:` list calls this once its own work is under way: the runner runs those
   * steps (each `at:` counted from `origin`, epoch ms) and says when each ran.
   */
  runDuring?: (origin: number) => Promise<TimelineMark[]>;
}

/** What a step produced; the runner adds identity and timing. */
export type StepOutcome = Pick<StepResult, 'verdict' | 'summary' | 'expectations' | 'evidence'> &
  Partial<Pick<StepResult, 'tally' | 'error' | 'timeline' | 'tookEffectAt'>>;

export interface StepType<S extends VerifyStep = VerifyStep, Raw = unknown> {
  /** The step's key in a `verify:` item, and its `type` in the report. */
  type: string;
  /** The schema-valid YAML value under the key to the step, its default name included. */
  parse(raw: Raw, index: number): S;
  /** What the schema cannot check (the node's existence is checked for every step). */
  check?(step: S, context: StepCheckContext): TopologyIssue[];
  run(step: S, context: StepRunContext): Promise<StepOutcome>;
  /** The report prints this step's evidence whenever another step failed (a `show` step's output). */
  evidenceWhenOthersFail?: boolean;
  /** It breaks (or mends) the lab on purpose: a timeline marks when it ran, and its phases follow it. */
  fault?: boolean;
  /** Its YAML value may hold a `during:` list of steps, run while it works (see runDuring). */
  hasDuring?: boolean;
}

/** A step type as the registry holds it: its own field types erased. */
export type AnyStepType = StepType<VerifyStep, unknown>;

/** Lets a typed step module be listed beside others (the registry only calls it with its own steps). */
export function defineStepType<S extends VerifyStep, Raw>(type: StepType<S, Raw>): AnyStepType {
  return type as unknown as AnyStepType;
}

/** Longest a single step may take; beyond this a typo (`timeout: 100m`) is likelier than intent. */
export const MAX_STEP_MS = 30 * 60_000;

export function timeoutIssues(timeoutMs: number, path: Path): TopologyIssue[] {
  return timeoutMs <= 0 || timeoutMs > MAX_STEP_MS
    ? [{ path, message: `timeout must be more than 0 and at most 30m, not ${timeoutMs}ms` }]
    : [];
}

export function failedToRun(summary: string, evidence: Evidence[], error: string): StepOutcome {
  return { verdict: 'error', summary, expectations: [], evidence, error };
}

export function toEvidence(label: string, cmd: string[], result: ExecResult): Evidence {
  return {
    label,
    command: shellCommand(cmd),
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

/** The first line of what a failed command said: stderr, else stdout. */
export function outputLine(result: ExecResult): string {
  return firstLine(result.stderr.trim() || result.stdout);
}
