/**
 * What the tally steps (http-tally, udp-tally) share: the `expect:` block they accept, its defaults,
 * and the issues validation finds in a tally before anything runs.
 */
import { isIPv4 } from 'node:net';
import type { TopologyIssue } from '../core/issue.js';
import { formatDistinct, formatPercent, type DistinctExpectation, type TallyExpectation } from './expect.js';
import type { ExecResult } from '../core/runtime.js';
import { MAX_STEP_MS, outputLine } from './step-type.js';
import type { TallySummary } from './tally.js';

/** The bound validation holds a tally's request count to (the scripts assert it again). */
export const MAX_REQUESTS = 10_000;

export const TALLY_DEFAULTS = {
  requests: 100,
  header: 'X-Host',
  maxFailures: 0,
  tolerance: 0.05,
} as const;

export interface RawTallyExpect {
  distinct?: number | string;
  'max-failures'?: number;
  'min-failures'?: number;
  'min-share'?: number;
  only?: string[];
  'per-source-stable'?: boolean;
  shares?: Record<string, number>;
  tolerance?: number;
}

/** What tallyIssues reads of a parsed tally step. */
export interface TallyStepShape {
  requests: number;
  sources: string[];
  timeoutMs: number;
  expect: TallyExpectation;
}

/** `2`, `"2"`, `"=2"`, `">=2"`, `">= 2"`, `"<=3"` -> `{ op, count }`. */
export function parseDistinct(value: number | string): DistinctExpectation {
  if (typeof value === 'number') return { op: '=', count: value };
  const match = /^(>=|<=|=)? ?(\d+)$/.exec(value);
  if (!match) throw new Error(`invalid distinct "${value}" (expected N, ">=N" or "<=N")`);
  return { op: (match[1] ?? '=') as DistinctExpectation['op'], count: Number(match[2]) };
}

export function parseTallyExpect(
  raw: RawTallyExpect | undefined,
  requests: number | undefined,
): TallyExpectation {
  const expect = raw ?? {};
  return {
    ...(expect.distinct !== undefined && { distinct: parseDistinct(expect.distinct) }),
    // Expecting failures lifts the default limit on them.
    maxFailures:
      expect['max-failures'] ??
      (expect['min-failures'] !== undefined
        ? (requests ?? TALLY_DEFAULTS.requests)
        : TALLY_DEFAULTS.maxFailures),
    ...(expect['min-failures'] !== undefined && { minFailures: expect['min-failures'] }),
    ...(expect['min-share'] !== undefined && { minShare: expect['min-share'] }),
    ...(expect.only !== undefined && { only: expect.only }),
    perSourceStable: expect['per-source-stable'] ?? false,
    ...(expect.shares !== undefined && { shares: expect.shares }),
    tolerance: expect.tolerance ?? TALLY_DEFAULTS.tolerance,
  };
}

export function tallyIssues(
  step: TallyStepShape,
  at: (...rest: (string | number)[]) => (string | number)[],
  bounds: { minTimeoutMs: number; maxTimeoutMs: number },
): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const { requests, sources, expect } = step;
  const push = (path: (string | number)[], message: string, fix?: string) =>
    issues.push({ path, message, ...(fix !== undefined && { fix }) });

  if (!Number.isInteger(requests) || requests < 1 || requests > MAX_REQUESTS) {
    push(at('requests'), `requests must be an integer from 1 to ${MAX_REQUESTS}, not ${requests}`);
  }
  const seen = new Set<string>();
  sources.forEach((source, i) => {
    if (!isIPv4(source)) push(at('sources', i), `source "${source}" is not an IPv4 address`);
    else if (seen.has(source)) push(at('sources', i), `source ${source} is listed twice`);
    seen.add(source);
  });
  if (sources.length > requests) {
    push(
      at('requests'),
      `requests (${requests}) is less than the number of sources (${sources.length}): some sources would send nothing`,
      `send at least ${sources.length} requests`,
    );
  }
  if (step.timeoutMs < bounds.minTimeoutMs || step.timeoutMs > bounds.maxTimeoutMs) {
    push(
      at('timeout'),
      `the per-request timeout must be between ${bounds.minTimeoutMs}ms and ${bounds.maxTimeoutMs / 60_000}m, not ${step.timeoutMs}ms`,
    );
  } else if (requests * step.timeoutMs > MAX_STEP_MS) {
    push(
      at('timeout'),
      `${requests} requests × ${step.timeoutMs}ms could take ${Math.round((requests * step.timeoutMs) / 60_000)} minutes if the VIP stops answering; the limit is ${MAX_STEP_MS / 60_000}`,
      'lower requests or the per-request timeout',
    );
  }

  if (expect.shares) {
    const total = Object.values(expect.shares).reduce((sum, share) => sum + share, 0);
    if (Math.abs(total - 1) > 0.01) {
      push(
        at('expect', 'shares'),
        `shares add up to ${Math.round(total * 1000) / 1000}, not 1`,
        'give each value its expected fraction of the answered requests, e.g. { web1: 0.5, web2: 0.5 }',
      );
    }
  }
  if (expect.minFailures !== undefined) {
    if (expect.minFailures > requests) {
      push(
        at('expect', 'min-failures'),
        `min-failures ${expect.minFailures} cannot be met by ${requests} requests`,
      );
    } else if (expect.minFailures > expect.maxFailures) {
      push(
        at('expect', 'min-failures'),
        `min-failures ${expect.minFailures} is more than max-failures ${expect.maxFailures}`,
        'drop max-failures, or make it at least min-failures',
      );
    }
  }
  const distinct = expect.distinct;
  const lowest = distinct === undefined || distinct.op === '<=' ? 1 : distinct.count;
  const distinctText = distinct ? formatDistinct(distinct) : '';
  if (distinct && distinct.op !== '<=' && distinct.count > requests) {
    push(
      at('expect', 'distinct'),
      `distinct ${distinctText} cannot be met by ${requests} requests`,
      'send more requests or expect fewer values',
    );
  }
  if (expect.minShare !== undefined) {
    if (distinct && distinct.op !== '>=' && distinct.count === 1) {
      push(
        at('expect', 'min-share'),
        `min-share ${expect.minShare} contradicts distinct: ${distinctText}: a single value always has the whole share`,
        'drop min-share, or expect distinct: ">=2"',
      );
    } else if (expect.minShare * lowest > 1) {
      push(
        at('expect', 'min-share'),
        `min-share ${expect.minShare} with distinct ${distinctText} is impossible: ${lowest} values cannot each have ${formatPercent(expect.minShare)}`,
      );
    }
  }
  if (expect.only && expect.only.length < lowest) {
    push(
      at('expect', 'only'),
      `only lists ${expect.only.length} value(s) but distinct ${distinctText} needs at least ${lowest}`,
    );
  }
  if (expect.maxFailures > requests) {
    push(at('expect', 'max-failures'), `max-failures ${expect.maxFailures} exceeds requests (${requests})`);
  }
  if (expect.perSourceStable) {
    if (sources.length < 2) {
      push(
        at('expect', 'per-source-stable'),
        'per-source-stable needs at least two sources',
        'list sources, or expect distinct: 1 for a single source',
      );
    } else if (requests < 2 * sources.length) {
      push(
        at('requests'),
        `per-source-stable needs at least 2 requests per source: ${requests} requests over ${sources.length} sources`,
        `send at least ${2 * sources.length} requests`,
      );
    }
  }
  return issues;
}

/** Why a tally's loop (`request loop`, `datagram loop`) did not end normally: out of time, or its exit. */
export function loopFailure(
  loop: string,
  result: ExecResult,
  timeoutMs: number,
  tally: TallySummary,
): string {
  return result.exitCode === 124
    ? `the ${loop} did not finish in ${Math.round(timeoutMs / 1000)} s (${tally.answered} of ${tally.requests} requests answered)`
    : `the ${loop} exited ${result.exitCode}: ${outputLine(result)}`;
}
