/**
 * udp-tally: send N datagrams from a node (one exec, each from a new source port), tally a line of the
 * answers (`X-Host: web1` from lblab's servers), and judge the same expectations as http-tally.
 */
import {
  parseUdpExchangeOutput,
  replyValue,
  udpExchangeCommand,
  udpExchangeExecTimeoutMs,
  type UdpExchange,
} from '../../checks/udp-exchange.js';
import type { TopologyIssue } from '../../core/issue.js';
import { parseDuration } from '../../util/duration.js';
import { isPort, splitHostPort } from '../../util/ipv4.js';
import { evaluateTally, type TallyExpectation } from '../expect.js';
import { defineStepType, failedToRun, toEvidence, type VerifyStep } from '../step-type.js';
import {
  loopFailure,
  parseTallyExpect,
  TALLY_DEFAULTS,
  tallyIssues,
  type RawTallyExpect,
} from '../tally-step.js';
import { formatTally, tallyRecords, type RequestRecord } from '../tally.js';
import { forwardingOf } from './http-tally.js';

export interface UdpTallyStep extends VerifyStep {
  type: 'udp-tally';
  host: string;
  port: number;
  requests: number;
  /** The reply line tallied (`X-Host` from lblab's servers). */
  header: string;
  sources: string[];
  /** Per request: how long to wait for the answer. */
  timeoutMs: number;
  /** No `timeout:` given: the default stretches with the engine (a UML guest can stall a reply for a second). */
  timeoutScales: boolean;
  expect: TallyExpectation;
}

interface RawUdpTally {
  node: string;
  /** host:port */
  target: string;
  requests?: number;
  header?: string;
  sources?: string[];
  timeout?: string;
  expect?: RawTallyExpect;
}

const DEFAULT_TIMEOUT_MS = 1_000;
const MIN_TIMEOUT_MS = 50;
const MAX_TIMEOUT_MS = 30_000;

export const udpTallyStep = defineStepType<UdpTallyStep, RawUdpTally>({
  type: 'udp-tally',
  parse(tally, index) {
    const sources = tally.sources ?? [];
    return {
      type: 'udp-tally',
      index,
      name: `udp-tally ${tally.target}${sources.length > 0 ? ` from ${sources.length} sources` : ''}`,
      node: tally.node,
      ...splitHostPort(tally.target),
      requests: tally.requests ?? TALLY_DEFAULTS.requests,
      header: tally.header ?? TALLY_DEFAULTS.header,
      sources,
      timeoutMs: parseDuration(tally.timeout ?? DEFAULT_TIMEOUT_MS),
      timeoutScales: tally.timeout === undefined,
      expect: parseTallyExpect(tally.expect, tally.requests),
    };
  },
  check: (step, { at }) => {
    const portIssues: TopologyIssue[] = !isPort(step.port)
      ? [{ path: at('target'), message: `port ${step.port} is not between 1 and 65535` }]
      : [];
    return [
      ...portIssues,
      ...tallyIssues(step, at, { minTimeoutMs: MIN_TIMEOUT_MS, maxTimeoutMs: MAX_TIMEOUT_MS }),
    ];
  },
  async run(given, { runtime, plan, node }) {
    const step = given.timeoutScales
      ? { ...given, timeoutMs: given.timeoutMs * plan.tuning.timeoutScale }
      : given;
    const cmd = udpExchangeCommand(step);
    const timeoutMs = udpExchangeExecTimeoutMs(step);
    const result = await runtime.exec(node.containerName, cmd, { timeoutMs });
    const exchanges = parseUdpExchangeOutput(result.stdout, step.requests);
    const tally = tallyRecords(toRecords(exchanges, step), step.header);
    const summary = formatTally(tally);
    const evidence =
      result.stderr.trim() === ''
        ? []
        : [toEvidence('datagram loop', ['perl', '-e', '<udp-tally script>'], result)];
    if (result.exitCode !== 0) {
      const why = loopFailure('datagram loop', result, timeoutMs, tally);
      return { ...failedToRun(summary, evidence, why), tally };
    }
    const expectations = evaluateTally(step.expect, tally, {
      node: node.name,
      header: step.header,
      sources: step.sources,
      target: step.host,
      directors: plan.nodes.filter((n) => n.dataPlane !== undefined).map((n) => n.name),
      ...forwardingOf(plan),
    });
    return {
      verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
      summary,
      expectations,
      tally,
      evidence,
    };
  },
});

/** Pure: each exchange as a tally record (no HTTP status: an answer or an error). */
export function toRecords(
  exchanges: UdpExchange[],
  step: Pick<UdpTallyStep, 'header' | 'sources'>,
): RequestRecord[] {
  return exchanges.map((exchange, i) => {
    const source = step.sources.length > 0 ? { source: step.sources[i % step.sources.length] as string } : {};
    if (!exchange.reply) return { ...source, ms: exchange.ms, error: exchange.error ?? 'no answer' };
    const value = replyValue(exchange.reply, step.header);
    return { ...source, ms: exchange.ms, ...(value !== undefined && value !== '' && { header: value }) };
  });
}
