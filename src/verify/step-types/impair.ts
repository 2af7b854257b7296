/**
 * impair: make a node's interface a bad link (delay, jitter, loss, rate), or `clear` it. With `tc
 * netem` where the kernel has sch_netem (the sandbox guest's has it); else with lblab's delay line
 * in user space (delay-line.ts), which does the same to every frame the interface sends. A fault:
 * the interface as it was (netem, a delay line, or neither) is put back when the run ends.
 */
import type { TopologyIssue } from '../../core/issue.js';
import type { PlannedNode } from '../../core/plan.js';
import type { ExecResult } from '../../core/runtime.js';
import { parseDuration } from '../../util/duration.js';
import {
  clearDelayLineCommand,
  delayLineStateFile,
  impairmentOf,
  parseDelayLineState,
  rateBitsPerSecond,
  startDelayLineCommand,
  type Impairment,
} from '../delay-line.js';
import { inNetns } from '../node-control.js';
import { defineStepType, failedToRun, outputLine, toEvidence, type VerifyStep } from '../step-type.js';
import type { Evidence } from '../report.js';

export interface ImpairStep extends VerifyStep, Impairment {
  type: 'impair';
  dev: string;
  clear: boolean;
}

/** What an interface had before a step: netem's arguments, a delay line's figures, or nothing. */
export type PreviousImpairment =
  { kind: 'netem'; args: string[] } | { kind: 'delay-line'; impairment: Impairment } | undefined;

const LINE_MARK = '--- delay line';

/** Reads the interface's root qdisc and its delay-line state in one exec (a slow engine pays per exec). */
function showCommand(dev: string): string[] {
  return [
    'sh',
    '-c',
    `tc qdisc show dev "$1" root || exit $?; echo '${LINE_MARK}'; cat "$2" 2>/dev/null; exit 0`,
    'impair',
    dev,
    delayLineStateFile(dev),
  ];
}

/** The impairment `showCommand`'s output shows on the interface. */
export function previousImpairment(show: string): PreviousImpairment {
  const [qdiscs = '', line = ''] = show.split(`${LINE_MARK}\n`);
  const state = parseDelayLineState(line);
  if (state) return { kind: 'delay-line', impairment: impairmentOf(state) };
  const args = previousNetem(qdiscs);
  return args ? { kind: 'netem', args } : undefined;
}

/** The step's figures in words: `delay 200ms 20ms loss 1%`. */
function describe(impairment: Impairment): string {
  return netemArgs(impairment).join(' ');
}

interface RawImpair {
  node: string;
  dev: string;
  delay?: string;
  jitter?: string;
  loss?: string | number;
  rate?: string;
  clear?: boolean;
}

/** netem's arguments for the step: `delay 200ms 20ms loss 1% rate 10mbit`. */
export function netemArgs(step: Pick<ImpairStep, 'delayMs' | 'jitterMs' | 'lossPercent' | 'rate'>): string[] {
  const args: string[] = [];
  if (step.delayMs !== undefined) {
    args.push('delay', `${step.delayMs}ms`);
    if (step.jitterMs !== undefined) args.push(`${step.jitterMs}ms`);
  }
  if (step.lossPercent !== undefined) args.push('loss', `${step.lossPercent}%`);
  if (step.rate !== undefined) args.push('rate', step.rate);
  return args;
}

/** The root qdisc line of `tc qdisc show dev X root` as replace arguments when it is netem, else undefined. */
export function previousNetem(qdiscShow: string): string[] | undefined {
  const match = /^qdisc netem \S+ root refcnt \d+ limit \d+ ?(.*)$/m.exec(qdiscShow);
  return match
    ? (match[1] ?? '')
        .trim()
        .split(/\s+/)
        .filter((word) => word !== '')
    : undefined;
}

export const impairStep = defineStepType<ImpairStep, RawImpair>({
  type: 'impair',
  fault: true,
  parse(raw, index) {
    const step: ImpairStep = {
      type: 'impair',
      index,
      name: '',
      node: raw.node,
      dev: raw.dev,
      ...(raw.delay !== undefined && { delayMs: parseDuration(raw.delay) }),
      ...(raw.jitter !== undefined && { jitterMs: parseDuration(raw.jitter) }),
      ...(raw.loss !== undefined && { lossPercent: Number(String(raw.loss).replace(/%$/, '')) }),
      ...(raw.rate !== undefined && { rate: raw.rate }),
      clear: raw.clear ?? false,
    };
    step.name = step.clear
      ? `clear ${raw.dev} on ${raw.node}`
      : `impair ${raw.dev} on ${raw.node}: ${netemArgs(step).join(' ')}`;
    return step;
  },
  check(step, { at }) {
    const issues: TopologyIssue[] = [];
    const impairs = netemArgs(step).length > 0;
    if (step.clear && impairs) {
      issues.push({
        path: at('clear'),
        message: 'clear removes the impairment: it cannot be given with delay, loss or rate',
      });
    } else if (!step.clear && !impairs) {
      issues.push({
        path: at('dev'),
        message: 'nothing to impair',
        fix: 'give delay, loss or rate (e.g. delay: 200ms), or clear: true',
      });
    }
    if (step.jitterMs !== undefined && step.delayMs === undefined) {
      issues.push({ path: at('jitter'), message: 'jitter varies a delay', fix: 'give delay as well' });
    }
    if (step.lossPercent !== undefined && !(step.lossPercent >= 0 && step.lossPercent <= 100)) {
      issues.push({ path: at('loss'), message: `loss must be from 0% to 100%, not ${step.lossPercent}%` });
    }
    if (step.rate !== undefined && rateBitsPerSecond(step.rate) === undefined) {
      issues.push({
        path: at('rate'),
        message: `rate "${step.rate}" is not a rate`,
        fix: 'give a number and a unit, as tc does: 10mbit, 512kbit, 1mbps (bytes per second)',
      });
    }
    if (step.delayMs !== undefined && step.delayMs > 60_000) {
      issues.push({
        path: at('delay'),
        message: `a delay of ${step.delayMs / 1000}s would time every request out`,
        fix: 'use at most 60s',
      });
    }
    return issues;
  },
  async run(step, { runtime, node, undoLater }) {
    const inNode = (cmd: string[]) => inNetns(runtime, node, cmd);
    const evidence: Evidence[] = [];
    const exec = async (label: string, cmd: string[]): Promise<ExecResult> => {
      const result = await inNode(cmd);
      evidence.push(toEvidence(label, cmd, result));
      return result;
    };
    const before = await exec('before', showCommand(step.dev));
    if (before.exitCode !== 0) {
      return failedToRun('', evidence, `${node.name} has no interface ${step.dev}: ${outputLine(before)}`);
    }
    const previous = previousImpairment(before.stdout);
    if (step.clear && previous === undefined) {
      return { verdict: 'pass', summary: `${step.dev} had no impairment`, expectations: [], evidence };
    }
    // A new impairment replaces the one there, as `tc qdisc replace` does.
    if (previous !== undefined) {
      const removed = await removeImpairment(exec, step.dev);
      if (removed.exitCode !== 0) {
        return failedToRun('', evidence, `the impairment on ${step.dev} stays: ${outputLine(removed)}`);
      }
    }
    undoLater(`${step.dev} on ${node.name} ${previousText(previous)}`, async () => {
      const undo = (_label: string, cmd: string[]) => inNode(cmd);
      const removed = await removeImpairment(undo, step.dev);
      if (removed.exitCode !== 0) throw new Error(`the impairment stays: ${outputLine(removed)}`);
      if (previous === undefined) return;
      const back = await setImpairment(
        undo,
        node,
        step.dev,
        previous.kind === 'netem' ? { netem: previous.args } : { line: previous.impairment },
      );
      if ('error' in back) throw new Error(back.error);
    });
    if (step.clear) {
      return {
        verdict: 'pass',
        summary: `${step.dev}: ${previousText(previous).replace(/^back to /, '')} removed`,
        expectations: [],
        evidence,
      };
    }
    const set = await setImpairment(exec, node, step.dev, { netem: netemArgs(step), line: step });
    if ('error' in set) return failedToRun('', evidence, set.error);
    return {
      verdict: 'pass',
      summary:
        set.way === 'netem'
          ? `${step.dev}: netem ${describe(step)}`
          : `${step.dev}: ${describe(step)} (delay line in user space: this kernel has no netem)`,
      expectations: [],
      evidence,
    };
  },
});

type Exec = (label: string, cmd: string[]) => Promise<ExecResult>;

function previousText(previous: PreviousImpairment): string {
  if (previous === undefined) return 'unimpaired';
  return previous.kind === 'netem'
    ? `back to netem ${previous.args.join(' ')}`
    : `back to ${describe(previous.impairment)} (delay line)`;
}

/** Takes netem and a delay line off the interface, whichever is there (netem first: the line's script ends the shell). */
export function removeImpairmentCommand(dev: string): string[] {
  const [sh, c, clearLine, ...args] = clearDelayLineCommand(dev);
  const script = `if tc qdisc show dev "$1" root | grep -q '^qdisc netem'; then
  tc qdisc del dev "$1" root || exit 1
  if tc qdisc show dev "$1" root | grep -q '^qdisc netem'; then echo "netem is still on $1" >&2; exit 1; fi
  echo "$1: netem removed"
fi
${clearLine}`;
  return [sh!, c!, script, ...args];
}

function removeImpairment(exec: Exec, dev: string): Promise<ExecResult> {
  return exec('clear', removeImpairmentCommand(dev));
}

/**
 * Sets an impairment: netem's arguments through tc, else (the kernel has no netem, or it is a delay
 * line to put back) the delay line with these figures. Says which way it went, or why neither did.
 */
async function setImpairment(
  exec: Exec,
  node: PlannedNode,
  dev: string,
  wanted: { netem?: string[]; line?: Impairment },
): Promise<{ way: 'netem' | 'delay-line' } | { error: string }> {
  if (wanted.netem) {
    const tc = await exec('tc', ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'netem', ...wanted.netem]);
    if (tc.exitCode === 0) return { way: 'netem' };
    if (!wanted.line || !/unknown|No such file/i.test(tc.stderr))
      return { error: `tc exited ${tc.exitCode}: ${outputLine(tc)}` };
  }
  if (!wanted.line) return { error: 'nothing to set' };
  if (!node.capAdd.includes('NET_ADMIN')) {
    return {
      error: `this kernel has no netem, and ${node.name} lacks NET_ADMIN for lblab's delay line: use --engine sandbox, whose kernel has sch_netem`,
    };
  }
  const started = await exec('delay line', startDelayLineCommand(dev, wanted.line));
  if (started.exitCode === 0) return { way: 'delay-line' };
  // Take back what a start that failed half-way set up.
  await exec('clear', clearDelayLineCommand(dev));
  return {
    error: `this kernel has no netem, and lblab's delay line did not start (exit ${started.exitCode}): ${outputLine(started)}`,
  };
}
