/**
 * The verification report: its JSON shape (what `lblab verify --json` prints). render-report.ts
 * turns it into the human table and JUnit XML.
 */
import type { ExpectationResult } from './expect.js';
import type { TallySummary } from './tally.js';

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
