/** exec: run the user's own command in a node and expect an exit code (and, maybe, stdout matching). */
import { parseDuration } from '../../util/duration.js';
import { clip, oneLine } from '../../util/text.js';
import { evaluateExec } from '../expect.js';
import { defineStepType, timeoutIssues, toEvidence, type VerifyStep } from '../step-type.js';

export interface ExecStep extends VerifyStep {
  type: 'exec';
  /** The user's own command, run with `sh -c` (never spliced into a script lblab renders). */
  cmd: string;
  exitCode: number;
  /** JavaScript regular expression that stdout must match. */
  match?: string;
  timeoutMs: number;
}

/** How long a command (exec, show) may run when its step says no `timeout:`. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

export const execStep = defineStepType<
  ExecStep,
  { node: string; cmd: string; 'exit-code'?: number; match?: string; timeout?: string }
>({
  type: 'exec',
  parse: (raw, index) => ({
    type: 'exec',
    index,
    name: `exec ${clip(oneLine(raw.cmd), 60)}`,
    node: raw.node,
    cmd: raw.cmd,
    exitCode: raw['exit-code'] ?? 0,
    ...(raw.match !== undefined && { match: raw.match }),
    timeoutMs: parseDuration(raw.timeout ?? DEFAULT_COMMAND_TIMEOUT_MS),
  }),
  check(step, { at }) {
    const issues = [];
    if (step.match !== undefined) {
      try {
        new RegExp(step.match);
      } catch (error) {
        issues.push({
          path: at('match'),
          message: `match is not a valid regular expression: ${(error as Error).message}`,
        });
      }
    }
    return [...issues, ...timeoutIssues(step.timeoutMs, at('timeout'))];
  },
  async run(step, { runtime, node, signal }) {
    const cmd = ['sh', '-c', step.cmd];
    const result = await runtime.exec(node.containerName, cmd, {
      timeoutMs: step.timeoutMs,
      ...(signal && { signal }),
    });
    const expectations = evaluateExec(step, result);
    return {
      verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
      summary: `exit ${result.exitCode}`,
      expectations,
      evidence: [toEvidence('exec', cmd, result)],
    };
  },
});
