/**
 * http-tally: send N requests from a node (one exec), tally a response header's values, and judge
 * the expectations; a failing tally reads the hash policy and the route to explain itself.
 */
import { isIPv4 } from 'node:net';
import { urlIssues } from '../../checks/http.js';
import type { TopologyIssue } from '../../core/issue.js';
import { parseDuration } from '../../util/duration.js';
import {
  countNexthops,
  evaluateTally,
  formatDistinct,
  formatPercent,
  type DistinctExpectation,
  type TallyExpectation,
  type TallyFacts,
} from '../expect.js';
import {
  httpTallyExecTimeoutMs,
  MAX_REQUEST_TIMEOUT_MS,
  MAX_REQUESTS,
  MIN_REQUEST_TIMEOUT_MS,
  parseHttpTallyOutput,
  renderHttpTallyScript,
} from '../http-tally-script.js';
import {
  defineStepType,
  failedToRun,
  MAX_STEP_MS,
  outputLine,
  toEvidence,
  type StepRunContext,
  type VerifyStep,
} from '../step-type.js';
import { formatTally, tallyRecords } from '../tally.js';

export interface HttpTallyStep extends VerifyStep {
  type: 'http-tally';
  url: string;
  requests: number;
  header: string;
  /** Source addresses used round-robin (request i uses sources[i % n]); empty: the kernel picks. */
  sources: string[];
  /** Per request (curl --max-time). */
  timeoutMs: number;
  expect: TallyExpectation;
}

interface RawHttpTally {
  node: string;
  url: string;
  requests?: number;
  header?: string;
  sources?: string[];
  timeout?: string;
  expect?: {
    distinct?: number | string;
    'max-failures'?: number;
    'min-failures'?: number;
    'min-share'?: number;
    only?: string[];
    'per-source-stable'?: boolean;
    shares?: Record<string, number>;
    tolerance?: number;
  };
}

const DEFAULTS = {
  requests: 100,
  header: 'X-Host',
  requestTimeoutMs: 2_000,
  maxFailures: 0,
  tolerance: 0.05,
} as const;

/** `2`, `"2"`, `"=2"`, `">=2"`, `">= 2"`, `"<=3"` -> `{ op, count }`. */
export function parseDistinct(value: number | string): DistinctExpectation {
  if (typeof value === 'number') return { op: '=', count: value };
  const match = /^(>=|<=|=)? ?(\d+)$/.exec(value);
  if (!match) throw new Error(`invalid distinct "${value}" (expected N, ">=N" or "<=N")`);
  return { op: (match[1] ?? '=') as DistinctExpectation['op'], count: Number(match[2]) };
}

export const httpTallyStep = defineStepType<HttpTallyStep, RawHttpTally>({
  type: 'http-tally',
  parse(tally, index) {
    const sources = tally.sources ?? [];
    const expect = tally.expect ?? {};
    return {
      type: 'http-tally',
      index,
      name: `http-tally ${tally.url}${sources.length > 0 ? ` from ${sources.length} sources` : ''}`,
      node: tally.node,
      url: tally.url,
      requests: tally.requests ?? DEFAULTS.requests,
      header: tally.header ?? DEFAULTS.header,
      sources,
      timeoutMs: parseDuration(tally.timeout ?? DEFAULTS.requestTimeoutMs),
      expect: {
        ...(expect.distinct !== undefined && { distinct: parseDistinct(expect.distinct) }),
        // Expecting failures lifts the default limit on them.
        maxFailures:
          expect['max-failures'] ??
          (expect['min-failures'] !== undefined
            ? (tally.requests ?? DEFAULTS.requests)
            : DEFAULTS.maxFailures),
        ...(expect['min-failures'] !== undefined && { minFailures: expect['min-failures'] }),
        ...(expect['min-share'] !== undefined && { minShare: expect['min-share'] }),
        ...(expect.only !== undefined && { only: expect.only }),
        perSourceStable: expect['per-source-stable'] ?? false,
        ...(expect.shares !== undefined && { shares: expect.shares }),
        tolerance: expect.tolerance ?? DEFAULTS.tolerance,
      },
    };
  },
  check: (step, { at }) => checkHttpTally(step, at),
  async run(step, { runtime, plan, node }) {
    const script = renderHttpTallyScript(step);
    const timeoutMs = httpTallyExecTimeoutMs(step);
    const result = await runtime.exec(node.containerName, ['sh', '-c', script], { timeoutMs });
    const tally = tallyRecords(parseHttpTallyOutput(result.stdout, step), step.header);
    const summary = formatTally(tally);
    const loopEvidence =
      result.stderr.trim() === ''
        ? []
        : [toEvidence('request loop', ['sh', '-c', '<http-tally script>'], result)];
    if (result.exitCode !== 0) {
      const why =
        result.exitCode === 124
          ? `the request loop did not finish in ${Math.round(timeoutMs / 1000)} s (${tally.answered} of ${tally.requests} requests answered)`
          : `the request loop exited ${result.exitCode}: ${outputLine(result)}`;
      return { ...failedToRun(summary, loopEvidence, why), tally };
    }

    const target = new URL(step.url).hostname;
    const facts: TallyFacts = {
      node: node.name,
      header: step.header,
      sources: step.sources,
      target,
      directors: plan.nodes.filter((n) => n.dataPlane !== undefined).map((n) => n.name),
      ...forwardingOf(plan),
    };
    let expectations = evaluateTally(step.expect, tally, facts);
    const evidence = [...loopEvidence];
    if (expectations.some((e) => !e.ok)) {
      // Read the two facts that explain most ECMP surprises, then judge again with them.
      const policyCmd = ['cat', '/proc/sys/net/ipv4/fib_multipath_hash_policy'];
      const policy = await runtime.exec(node.containerName, policyCmd);
      evidence.push(toEvidence('hash policy', policyCmd, policy));
      if (policy.exitCode === 0 && /^\d+$/.test(policy.stdout.trim()))
        facts.hashPolicy = Number(policy.stdout.trim());
      if (isIPv4(target)) {
        const routeCmd = ['ip', '-4', 'route', 'show', `${target}/32`];
        const route = await runtime.exec(node.containerName, routeCmd);
        evidence.push(toEvidence(`route to ${target}`, routeCmd, route));
        if (route.exitCode === 0) facts.nexthops = countNexthops(route.stdout);
      }
      expectations = evaluateTally(step.expect, tally, facts);
    }
    return {
      verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
      summary,
      expectations,
      tally,
      evidence,
    };
  },
});

function checkHttpTally(step: HttpTallyStep, at: (...rest: (string | number)[]) => (string | number)[]) {
  const issues: TopologyIssue[] = [];
  const { requests, sources, expect } = step;
  const push = (path: (string | number)[], message: string, fix?: string) =>
    issues.push({ path, message, ...(fix !== undefined && { fix }) });

  issues.push(...urlIssues(step.url, at('url')));
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
  if (step.timeoutMs < MIN_REQUEST_TIMEOUT_MS || step.timeoutMs > MAX_REQUEST_TIMEOUT_MS) {
    push(
      at('timeout'),
      `the per-request timeout must be between ${MIN_REQUEST_TIMEOUT_MS}ms and ${MAX_REQUEST_TIMEOUT_MS / 60_000}m, not ${step.timeoutMs}ms`,
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

/** The directors' forwarding method, for hints (the first director's: one lab rarely mixes them). */
function forwardingOf(plan: StepRunContext['plan']): { forwardingMethod?: string } {
  const method = plan.nodes.find((n) => n.forwarding !== undefined)?.forwarding;
  return method !== undefined ? { forwardingMethod: method } : {};
}
