/**
 * impair: make a node's interface a bad link with `tc netem` (delay, jitter, loss, rate), or `clear`
 * it. A fault: the interface's qdisc as it was is put back when the run ends. Needs a kernel with
 * netem (sch_netem); the sandbox guest's has it.
 */
import type { TopologyIssue } from '../../core/issue.js';
import { parseDuration } from '../../util/duration.js';
import { inNetns } from '../node-control.js';
import { defineStepType, failedToRun, outputLine, toEvidence, type VerifyStep } from '../step-type.js';

export interface ImpairStep extends VerifyStep {
  type: 'impair';
  dev: string;
  delayMs?: number;
  jitterMs?: number;
  /** Percent of packets dropped. */
  lossPercent?: number;
  /** tc's rate, e.g. `10mbit`. */
  rate?: string;
  clear: boolean;
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
    const show = ['tc', 'qdisc', 'show', 'dev', step.dev, 'root'];
    const before = await inNode(show);
    const evidence = [toEvidence('before', show, before)];
    if (before.exitCode !== 0) {
      return failedToRun('', evidence, `${node.name} has no interface ${step.dev}: ${outputLine(before)}`);
    }
    const previous = previousNetem(before.stdout);
    const set = step.clear
      ? ['tc', 'qdisc', 'del', 'dev', step.dev, 'root']
      : ['tc', 'qdisc', 'replace', 'dev', step.dev, 'root', 'netem', ...netemArgs(step)];
    if (step.clear && previous === undefined) {
      return { verdict: 'pass', summary: `${step.dev} had no impairment`, expectations: [], evidence };
    }
    const changed = await inNode(set);
    evidence.push(toEvidence('tc', set, changed));
    if (changed.exitCode !== 0) {
      const why = /unknown|No such file/i.test(changed.stderr)
        ? `this kernel has no netem (tc: ${outputLine(changed)}): impairments need sch_netem; the sandbox engine's kernel has it (--engine sandbox)`
        : `tc exited ${changed.exitCode}: ${outputLine(changed)}`;
      return failedToRun('', evidence, why);
    }
    undoLater(
      `${step.dev} on ${node.name} ${previous ? `back to netem ${previous.join(' ')}` : 'unimpaired'}`,
      async () => {
        const back = previous
          ? ['tc', 'qdisc', 'replace', 'dev', step.dev, 'root', 'netem', ...previous]
          : [
              'sh',
              '-c',
              'tc qdisc show dev "$1" root | grep -q "^qdisc netem" || exit 0; tc qdisc del dev "$1" root',
              'undo',
              step.dev,
            ];
        const result = await inNode(back);
        if (result.exitCode !== 0) throw new Error(`tc exited ${result.exitCode}: ${outputLine(result)}`);
      },
    );
    return {
      verdict: 'pass',
      summary: step.clear
        ? `${step.dev}: netem ${previous?.join(' ')} removed`
        : `${step.dev}: netem ${netemArgs(step).join(' ')}`,
      expectations: [],
      evidence,
    };
  },
});
