/**
 * http-load: requests at a steady rate for a duration from one node (one exec of a small open-loop
 * client, like http-tally's one exec), while the steps of its `during:` list break and mend the lab.
 * Every request's send time, latency, outcome and header are kept, so the step judges the traffic
 * over time: failures, the longest outage, the time to recover from the first fault, and the
 * tally of each phase (before the fault, during it, after it was mended).
 */
import { randomBytes } from 'node:crypto';
import { urlIssues } from '../../checks/http.js';
import type { TopologyIssue } from '../../core/issue.js';
import { sleepUntil } from '../../util/clock.js';
import { parseDuration } from '../../util/duration.js';
import { evaluateTally, formatPercent, type ExpectationResult, type TallyExpectation } from '../expect.js';
import {
  HTTP_LOAD_BOUNDS,
  httpLoadCommand,
  httpLoadExecTimeoutMs,
  httpLoadRequestCount,
  parseHttpLoadOutput,
  type HttpLoadInput,
  type LoadRecord,
} from '../http-load-script.js';
import type { LoadTimeline } from '../report.js';
import { defineStepType, failedToRun, outputLine, toEvidence, type VerifyStep } from '../step-type.js';
import { tallyFactsFor } from './http-tally.js';
import { parseTallyExpect, TALLY_DEFAULTS, type RawTallyExpect } from '../tally-step.js';
import { formatTally, tallyRecords } from '../tally.js';
import {
  buckets,
  latencyByValue,
  maxOutageMs,
  outages,
  phasesOf,
  faultRecovery,
  splitPhases,
  type TimelineMark,
} from '../timeline.js';

const PHASES = ['before', 'during', 'after'] as const;
type Phase = (typeof PHASES)[number];

/** A bound on the median latency of the requests one header value answered. */
export interface LatencyBound {
  value: string;
  op: '>=' | '<=';
  ms: number;
}

export interface PhaseExpectation extends TallyExpectation {
  latency: LatencyBound[];
  /**
   * The phase's max-failures is judged only when written: a phase's request count is known only when
   * it ran, so the tally's default cap (0, or the request count when min-failures is given) means nothing.
   */
  judgesMaxFailures: boolean;
  sameAsBefore: boolean;
}

export interface LoadExpectation {
  /** Undefined: no limit (an outage is expected). */
  maxFailures?: number;
  minFailures?: number;
  maxOutageMs?: number;
  recoversWithinMs?: number;
  phases: Partial<Record<Phase, PhaseExpectation>>;
}

/** The client's input (url, rate, duration, header, sources, timeout), and what to expect. */
export interface HttpLoadStep extends VerifyStep, Omit<HttpLoadInput, 'stretch'> {
  type: 'http-load';
  expect: LoadExpectation;
}

type RawPhase = RawTallyExpect & { 'same-as-before'?: boolean; latency?: Record<string, string> };

interface RawHttpLoad {
  node: string;
  url: string;
  rate?: number | string;
  duration: string;
  header?: string;
  sources?: string[];
  timeout?: string;
  during?: unknown[];
  expect?: {
    'max-failures'?: number;
    'min-failures'?: number;
    'max-outage'?: string;
    'recovers-within'?: string;
    before?: RawPhase;
    during?: RawPhase;
    after?: RawPhase;
  };
}

const DEFAULTS = { ratePerSecond: 20, timeoutMs: 1_000 } as const;

export function parseLoadExpect(raw: RawHttpLoad['expect']): LoadExpectation {
  const expect = raw ?? {};
  // Expecting an outage (or its length) lifts the default of no failed request at all.
  const outageExpected =
    expect['min-failures'] !== undefined ||
    expect['max-outage'] !== undefined ||
    expect['recovers-within'] !== undefined ||
    PHASES.some((phase) => expect[phase]?.['min-failures'] !== undefined);
  const phases: LoadExpectation['phases'] = {};
  for (const phase of PHASES) {
    const value = expect[phase];
    if (value === undefined) continue;
    phases[phase] = {
      ...parseTallyExpect(value, undefined),
      judgesMaxFailures: value['max-failures'] !== undefined,
      sameAsBefore: value['same-as-before'] ?? false,
      latency: Object.entries(value.latency ?? {}).map(([header, bound]) => {
        const match = /^(>=|<=) ?(\d+(?:ms|s))$/.exec(bound);
        if (!match) throw new Error(`invalid latency bound "${bound}" (expected ">=150ms" or "<=50ms")`);
        return { value: header, op: match[1] as LatencyBound['op'], ms: parseDuration(match[2] as string) };
      }),
    };
  }
  const maxFailures = expect['max-failures'] ?? (outageExpected ? undefined : TALLY_DEFAULTS.maxFailures);
  return {
    ...(maxFailures !== undefined && { maxFailures }),
    ...(expect['min-failures'] !== undefined && { minFailures: expect['min-failures'] }),
    ...(expect['max-outage'] !== undefined && { maxOutageMs: parseDuration(expect['max-outage']) }),
    ...(expect['recovers-within'] !== undefined && {
      recoversWithinMs: parseDuration(expect['recovers-within']),
    }),
    phases,
  };
}

export const httpLoadStep = defineStepType<HttpLoadStep, RawHttpLoad>({
  type: 'http-load',
  hasDuring: true,
  parse(raw, index) {
    const sources = raw.sources ?? [];
    const rate = typeof raw.rate === 'string' ? Number(raw.rate.replace(/\/s$/, '')) : raw.rate;
    const ratePerSecond = rate ?? DEFAULTS.ratePerSecond;
    return {
      type: 'http-load',
      index,
      name: `http-load ${raw.url} ${ratePerSecond}/s for ${raw.duration}${sources.length > 0 ? ` from ${sources.length} sources` : ''}`,
      node: raw.node,
      url: raw.url,
      ratePerSecond,
      durationMs: parseDuration(raw.duration),
      header: raw.header ?? TALLY_DEFAULTS.header,
      sources,
      timeoutMs: raw.timeout !== undefined ? parseDuration(raw.timeout) : DEFAULTS.timeoutMs,
      expect: parseLoadExpect(raw.expect),
    };
  },
  check(step, { at }) {
    const issues: TopologyIssue[] = [...urlIssues(step.url, at('url'))];
    const push = (path: (string | number)[], message: string, fix?: string) =>
      issues.push({ path, message, ...(fix !== undefined && { fix }) });
    const b = HTTP_LOAD_BOUNDS;
    if (!step.url.startsWith('http://'))
      push(at('url'), 'http-load speaks plain HTTP: the URL must start with http://');
    if (step.durationMs < b.minDurationMs || step.durationMs > b.maxDurationMs) {
      push(
        at('duration'),
        `duration must be from ${b.minDurationMs / 1000}s to ${b.maxDurationMs / 60_000}m, not ${step.durationMs / 1000}s`,
      );
    }
    if (step.timeoutMs < b.minTimeoutMs || step.timeoutMs > b.maxTimeoutMs) {
      push(
        at('timeout'),
        `the per-request timeout must be from ${b.minTimeoutMs}ms to ${b.maxTimeoutMs / 1000}s, not ${step.timeoutMs}ms`,
      );
    }
    const requests = httpLoadRequestCount(step);
    if (requests > b.maxRequests) {
      push(
        at('rate'),
        `${step.ratePerSecond}/s for ${step.durationMs / 1000}s is ${requests} requests; the limit is ${b.maxRequests}`,
        'lower the rate or the duration',
      );
    }
    for (const phase of PHASES) {
      const expect = step.expect.phases[phase];
      if (!expect) continue;
      if (expect.sameAsBefore && phase !== 'after') {
        push(
          at('expect', phase, 'same-as-before'),
          'same-as-before compares the phase after the fault with the one before it',
          'move it under expect.after',
        );
      }
      const total = Object.values(expect.shares ?? {}).reduce((sum, share) => sum + share, 0);
      if (expect.shares && Math.abs(total - 1) > 0.01) {
        push(at('expect', phase, 'shares'), `shares add up to ${Math.round(total * 1000) / 1000}, not 1`);
      }
    }
    const { minFailures, maxFailures } = step.expect;
    if (minFailures !== undefined && maxFailures !== undefined && minFailures > maxFailures) {
      push(
        at('expect', 'min-failures'),
        `min-failures ${minFailures} is more than max-failures ${maxFailures}`,
      );
    }
    return issues;
  },
  async run(step, { runtime, plan, node, runDuring, signal }) {
    const input = { ...step, ...(runDuring && { stretch: stretchFor(step) }) };
    const cmd = httpLoadCommand(input);
    const timeoutMs = httpLoadExecTimeoutMs(input);
    const origin = Date.now();
    // Settled to a value at once: the during: steps run while it is pending.
    const exec = runtime.exec(node.containerName, cmd, { timeoutMs, ...(signal && { signal }) }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    const marks = runDuring ? await runDuring(origin) : [];
    if (input.stretch) {
      await sleepUntil(stopTime(step, origin, marks), signal);
      await runtime.exec(node.containerName, ['touch', input.stretch.stopFile], { timeoutMs: 30_000 });
    }
    const done = await exec;
    if ('error' in done) throw done.error;
    const { result } = done;
    const { records } = parseHttpLoadOutput(result.stdout, input);
    const evidence =
      result.stderr.trim() === ''
        ? []
        : [toEvidence('load client', ['perl', '-e', '<http-load client>'], result)];
    const timeline = timelineOf(step, records, marks);
    const tally = tallyRecords(records, step.header);
    const summary = summarize(tally, timeline);
    if (result.exitCode !== 0) {
      const why =
        result.exitCode === 124
          ? `the load client did not finish in ${Math.round(timeoutMs / 1000)} s`
          : `the load client exited ${result.exitCode}: ${outputLine(result)}`;
      return { ...failedToRun(summary, evidence, why), tally, timeline };
    }
    const facts = tallyFactsFor(step, plan, node);
    const phases = phasesOf(records, marks);
    const split = splitPhases(records, phases);
    const expectations = [
      ...judgeTimeline(step.expect, tally, timeline, phases.faultAt !== undefined),
      ...PHASES.flatMap((phase) => judgePhase(phase, step.expect.phases[phase], split, step.header, facts)),
    ];
    return {
      verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
      summary,
      expectations,
      tally,
      timeline,
      evidence,
    };
  },
});

/** Traffic after the last during: step, when that step ended later than planned (a slow engine). */
const TAIL_MS = { min: 5_000, max: 10_000 } as const;

/** How far the traffic may stretch past its duration while slow during: steps finish. */
function stretchFor(step: HttpLoadStep): { maxDurationMs: number; stopFile: string } {
  const b = HTTP_LOAD_BOUNDS;
  const byRequests = Math.floor(b.maxRequests / step.ratePerSecond) * 1000;
  const maxDurationMs = Math.max(
    step.durationMs,
    Math.min(b.maxDurationMs, byRequests, step.durationMs * 3 + 60_000),
  );
  return { maxDurationMs, stopFile: `/tmp/lblab-load-${randomBytes(8).toString('hex')}` };
}

/**
 * When the traffic ends: at its duration, or, if the during: steps ran late, once the last one ended
 * plus what the schedule left after it (5 to 10 s), so every phase has requests.
 */
export function stopTime(
  step: Pick<HttpLoadStep, 'durationMs'>,
  origin: number,
  marks: TimelineMark[],
): number {
  const planned = origin + step.durationMs;
  const last = marks.at(-1);
  if (!last) return planned;
  const tail = Math.min(TAIL_MS.max, Math.max(TAIL_MS.min, planned - last.startedAt));
  return Math.max(planned, last.endedAt + tail);
}

export function timelineOf(
  step: Pick<HttpLoadStep, 'header' | 'ratePerSecond'>,
  records: LoadRecord[],
  marks: TimelineMark[],
): LoadTimeline {
  const phases = phasesOf(records, marks);
  const seconds = (at: number) => Math.round((at - phases.loadStart) / 10) / 100;
  const failed = records.filter((r) => !tallyRecords([r], step.header).answered).length;
  const recovery =
    phases.faultAt !== undefined
      ? faultRecovery(records, step.header, phases.faultAt, phases.restoreBeganAt)
      : undefined;
  return {
    startedAt: new Date(phases.loadStart).toISOString(),
    ratePerSecond: step.ratePerSecond,
    sent: records.length,
    failed,
    buckets: buckets(records, step.header, phases.loadStart),
    marks: marks.map((m) => ({
      name: m.name,
      atS: seconds(m.startedAt),
      endS: seconds(m.endedAt),
      fault: m.fault,
    })),
    ...(phases.faultAt !== undefined && { faultAtS: seconds(phases.faultAt) }),
    ...(phases.restoredAt !== undefined && { restoredAtS: seconds(phases.restoredAt) }),
    outages: outages(records, step.header).map((o) => ({
      ...(o.source !== undefined && { source: o.source }),
      startS: seconds(o.start),
      ...(o.end !== undefined && { endS: seconds(o.end) }),
      failed: o.failed,
    })),
    maxOutageMs: Math.round(maxOutageMs(records, step.header, phases.loadEnd)),
    ...(recovery && {
      recoveryMs: recovery.recoveryMs === undefined ? null : Math.round(recovery.recoveryMs),
    }),
    ...(recovery && recovery.laterFailures > 0 && { laterFailures: recovery.laterFailures }),
    latencyByValue: latencyByValue(records, step.header),
  };
}

function summarize(tally: ReturnType<typeof tallyRecords>, timeline: LoadTimeline): string {
  const parts = [`${timeline.sent} sent`, `${timeline.failed} failed`];
  if (timeline.failed > 0) parts.push(`max outage ${(timeline.maxOutageMs / 1000).toFixed(1)} s`);
  if (timeline.recoveryMs !== undefined && timeline.failed > 0) {
    parts.push(
      timeline.recoveryMs === null
        ? 'not recovered'
        : `recovered in ${(timeline.recoveryMs / 1000).toFixed(1)} s${laterNote(timeline)}`,
    );
  }
  return `${parts.join(', ')}; ${formatTally({ ...tally, failures: 0 })}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Failures after the fault's had settled, named so a reader sees them and why recovery leaves them out. */
const laterNote = (timeline: Pick<LoadTimeline, 'laterFailures'>): string =>
  timeline.laterFailures
    ? ` (then ${timeline.laterFailures} stray failed after a quiet second, not the fault's)`
    : '';

/** The whole run's expectations: failures, the longest outage, the recovery from the first fault. */
export function judgeTimeline(
  expect: LoadExpectation,
  tally: ReturnType<typeof tallyRecords>,
  timeline: LoadTimeline,
  hadFault: boolean,
): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  const reasons = tally.failureReasons.map((r) => `${r.reason} ×${r.count}`).join(', ');
  if (expect.maxFailures !== undefined) {
    results.push({
      name: 'max-failures',
      ok: tally.failures <= expect.maxFailures,
      expected: `at most ${expect.maxFailures} failed of ${tally.requests}`,
      seen: tally.failures === 0 ? '0 failed' : `${tally.failures} failed: ${reasons}`,
    });
  }
  if (expect.minFailures !== undefined) {
    const ok = tally.failures >= expect.minFailures;
    results.push({
      name: 'min-failures',
      ok,
      expected: `at least ${expect.minFailures} failed of ${tally.requests}`,
      seen: `${tally.failures} failed`,
      ...(!ok && {
        hint: 'the traffic kept working although this experiment expects it to break: did the fault step really apply?',
      }),
    });
  }
  if (expect.maxOutageMs !== undefined) {
    const ok = timeline.maxOutageMs <= expect.maxOutageMs;
    const longest = [...timeline.outages].sort(
      (a, b) => (b.endS ?? Infinity) - b.startS - ((a.endS ?? Infinity) - a.startS),
    )[0];
    results.push({
      name: 'max-outage',
      ok,
      expected: `no run of failed requests longer than ${seconds(expect.maxOutageMs)}`,
      seen:
        timeline.maxOutageMs === 0
          ? 'no failed request'
          : `${seconds(timeline.maxOutageMs)}${longest ? ` (${longest.source ?? 'requests'} from ${longest.startS} s${longest.endS === undefined ? ', never answered again' : ''})` : ''}`,
      ...(!ok && {
        hint: 'an outage lasts until the path is repaired: for a lost director, the OSPF dead interval (ospf timers); behind keepalived, delay_loop + connect_timeout',
      }),
    });
  }
  if (expect.recoversWithinMs !== undefined) {
    const recovery = timeline.recoveryMs;
    const ok = hadFault && recovery !== null && recovery !== undefined && recovery <= expect.recoversWithinMs;
    results.push({
      name: 'recovers-within',
      ok,
      expected: `requests answered again within ${seconds(expect.recoversWithinMs)} of the fault`,
      seen: !hadFault
        ? 'no fault step ran during the traffic'
        : recovery === null || recovery === undefined
          ? 'never recovered before the traffic ended'
          : `recovered after ${seconds(recovery)}${laterNote(timeline)}`,
      ...(!hadFault && { hint: 'put a fault step (stop, daemon, link, impair, weight) in the during: list' }),
    });
  }
  return results;
}

/** One phase's tally against its expectations, names prefixed with the phase. */
export function judgePhase(
  phase: Phase,
  expect: PhaseExpectation | undefined,
  split: Record<Phase, LoadRecord[]>,
  header: string,
  facts: Parameters<typeof evaluateTally>[2],
): ExpectationResult[] {
  if (!expect) return [];
  const records = split[phase];
  if (records.length === 0) {
    return [
      {
        name: phase,
        ok: false,
        expected: `requests ${phase} the fault`,
        seen: 'none were sent in this phase',
        hint:
          phase === 'before'
            ? 'start the first fault later (at:)'
            : 'leave more time after the fault (duration, at:)',
      },
    ];
  }
  const tally = tallyRecords(records, header);
  const results = evaluateTally(expect, tally, facts).filter(
    (result) => expect.judgesMaxFailures || result.name !== 'max-failures',
  );
  if (expect.sameAsBefore) results.push(sameAsBefore(split.before, records, header, expect.tolerance));
  if (expect.latency.length > 0) results.push(...judgeLatency(expect.latency, records, header));
  return results.map((result) => ({ ...result, name: `${phase}: ${result.name}` }));
}

function sameAsBefore(
  before: LoadRecord[],
  after: LoadRecord[],
  header: string,
  tolerance: number,
): ExpectationResult {
  const shares = (records: LoadRecord[]) =>
    new Map(tallyRecords(records, header).values.map((v) => [v.value, v.share] as const));
  const was = shares(before);
  const is = shares(after);
  const values = [...new Set([...was.keys(), ...is.keys()])].sort();
  const off = values.filter((v) => Math.abs((was.get(v) ?? 0) - (is.get(v) ?? 0)) > tolerance);
  const show = (map: Map<string, number>) =>
    values.map((v) => `${v} ${formatPercent(map.get(v) ?? 0)}`).join(', ');
  return {
    name: 'same-as-before',
    ok: before.length > 0 && off.length === 0,
    expected: `each value's share within ${formatPercent(tolerance)} of before: ${show(was)}`,
    seen: show(is),
    ...(off.length > 0 && {
      hint: `${off.join(', ')} did not come back to its share: was the fault really mended (and the path re-learned) before the after phase?`,
    }),
  };
}

function judgeLatency(bounds: LatencyBound[], records: LoadRecord[], header: string): ExpectationResult[] {
  const measured = latencyByValue(records, header);
  return bounds.map((bound) => {
    const p50 = measured[bound.value]?.p50;
    const ok = p50 !== undefined && (bound.op === '>=' ? p50 >= bound.ms : p50 <= bound.ms);
    return {
      name: `latency ${bound.value}`,
      ok,
      expected: `median latency ${bound.op} ${bound.ms} ms`,
      seen:
        p50 === undefined
          ? `no answer from ${bound.value}`
          : `${p50.toFixed(1)} ms over ${measured[bound.value]?.count} answers`,
    };
  });
}
