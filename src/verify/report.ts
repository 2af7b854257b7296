/**
 * The verification report: its JSON shape (what `lblab verify --json` prints). render-report.ts
 * turns it into the human table and JUnit XML.
 */
import type { ExpectationResult } from './expect.js';
import type { TallySummary } from './tally.js';
import type { TimelineBucket } from './timeline.js';

export type Verdict = 'pass' | 'fail' | 'error';

/** A command's output captured into the report. */
export interface Evidence {
  /** What it shows, e.g. `ospf-routes`, `hash policy`, `route to 172.16.253.100`. */
  label: string;
  /** The command as run in the node, quoted as for a shell. */
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The outcome of one step. */
export interface StepResult {
  /** Position in the `verify:` list, from 0. */
  index: number;
  /** The step's `name`, or one made from its type and arguments. */
  name: string;
  /** The step type (its key in the `verify:` item). */
  type: string;
  /** Topology node name the step ran on. */
  node: string;
  /** `pass`: every expectation held; `fail`: one did not; `error`: the step could not run. */
  verdict: Verdict;
  durationMs: number;
  /** One line of what happened, e.g. `server1 57 / server2 43`, `exit 0`, `12 lines`. */
  summary: string;
  /** Every expectation evaluated, passing ones included. */
  expectations: ExpectationResult[];
  /** http-tally only: the full tally. */
  tally?: TallySummary;
  /** Command output captured by `show`, by `exec`, and by http-tally after a failure. */
  evidence: Evidence[];
  /** Why the step could not run (verdict `error`). */
  error?: string;
  /** The index of the step it ran during (an http-load's `during:` list). */
  parent?: number;
  /** A fault step: when its fault took effect (epoch ms), when the step can tell better than its start. */
  tookEffectAt?: number;
  /** http-load only: what happened second by second. */
  timeline?: LoadTimeline;
}

/** The traffic of an http-load step over time; offsets in seconds from its first request. */
export interface LoadTimeline {
  /** ISO 8601 time of the first request. */
  startedAt: string;
  ratePerSecond: number;
  sent: number;
  failed: number;
  /** One per second: requests sent, failed, answered per header value, median latency. */
  buckets: TimelineBucket[];
  /** The steps that ran during the traffic, faults marked. */
  marks: { name: string; atS: number; endS: number; fault: boolean }[];
  /** The first fault's start and, when a later fault step mended it, that step's end. */
  faultAtS?: number;
  restoredAtS?: number;
  /** Runs of failed requests (per source when there are sources); `endS` absent: never answered again. */
  outages: { source?: string; startS: number; endS?: number; failed: number }[];
  maxOutageMs: number;
  /** From the fault to the end of the last outage after it; absent without a fault, null if it never recovered. */
  recoveryMs?: number | null;
  /** Failed requests after the fault's failures had settled (a quiet second), left out of recoveryMs. */
  laterFailures?: number;
  /** Latency of the answered requests per header value (the path each took). */
  latencyByValue: Record<string, { p50: number; p95: number; max: number; count: number }>;
}

/** `lblab verify --json` output. */
export interface VerifyReport {
  lab: string;
  topologyFile: string;
  /** ISO 8601 time the first step started. */
  startedAt: string;
  durationMs: number;
  /** True when every step passed; `lblab verify` exits 1 otherwise. */
  ok: boolean;
  counts: { steps: number; passed: number; failed: number; errors: number };
  /** What the verdicts should be read with, e.g. that the topology file changed since `up`. */
  warnings?: string[];
  steps: StepResult[];
  /** The faults the steps injected, put back when the run ended (newest first). */
  undone?: UndoResult[];
}

export interface UndoResult {
  what: string;
  ok: boolean;
  error?: string;
}

export function summarizeSteps(steps: StepResult[]): Pick<VerifyReport, 'ok' | 'counts'> {
  const count = (verdict: Verdict) => steps.filter((s) => s.verdict === verdict).length;
  const counts = {
    steps: steps.length,
    passed: count('pass'),
    failed: count('fail'),
    errors: count('error'),
  };
  return { ok: counts.passed === counts.steps, counts };
}
