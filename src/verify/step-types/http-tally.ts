/**
 * http-tally: send N requests from a node (one exec), tally a response header's values, and judge
 * the expectations; a failing tally reads the hash policy and the route to explain itself.
 */
import { isIPv4 } from 'node:net';
import { urlIssues } from '../../checks/http.js';
import { parseDuration } from '../../util/duration.js';
import { countNexthops, evaluateTally, type TallyExpectation, type TallyFacts } from '../expect.js';
import {
  httpTallyExecTimeoutMs,
  MAX_REQUEST_TIMEOUT_MS,
  MIN_REQUEST_TIMEOUT_MS,
  parseHttpTallyOutput,
  renderHttpTallyScript,
} from '../http-tally-script.js';
import {
  defineStepType,
  failedToRun,
  toEvidence,
  type StepRunContext,
  type VerifyStep,
} from '../step-type.js';
import {
  loopFailure,
  parseTallyExpect,
  TALLY_DEFAULTS,
  tallyIssues,
  type RawTallyExpect,
} from '../tally-step.js';
import { formatTally, tallyRecords } from '../tally.js';

export { parseDistinct } from '../tally-step.js';

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
  expect?: RawTallyExpect;
}

const DEFAULTS = { requestTimeoutMs: 2_000 } as const;

export const httpTallyStep = defineStepType<HttpTallyStep, RawHttpTally>({
  type: 'http-tally',
  parse(tally, index) {
    const sources = tally.sources ?? [];
    return {
      type: 'http-tally',
      index,
      name: `http-tally ${tally.url}${sources.length > 0 ? ` from ${sources.length} sources` : ''}`,
      node: tally.node,
      url: tally.url,
      requests: tally.requests ?? TALLY_DEFAULTS.requests,
      header: tally.header ?? TALLY_DEFAULTS.header,
      sources,
      timeoutMs: parseDuration(tally.timeout ?? DEFAULTS.requestTimeoutMs),
      expect: parseTallyExpect(tally.expect, tally.requests),
    };
  },
  check: (step, { at }) => [
    ...urlIssues(step.url, at('url')),
    ...tallyIssues(step, at, { minTimeoutMs: MIN_REQUEST_TIMEOUT_MS, maxTimeoutMs: MAX_REQUEST_TIMEOUT_MS }),
  ],
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
      const why = loopFailure('request loop', result, timeoutMs, tally);
      return { ...failedToRun(summary, loopEvidence, why), tally };
    }

    const facts = tallyFactsFor(step, plan, node);
    const { target } = facts;
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

/** What the runner knows around a tally of requests to `url` from `node`, before reading anything more. */
export function tallyFactsFor(
  step: { url: string; header: string; sources: string[] },
  plan: StepRunContext['plan'],
  node: StepRunContext['node'],
): TallyFacts {
  return {
    node: node.name,
    header: step.header,
    sources: step.sources,
    target: new URL(step.url).hostname,
    directors: plan.nodes.filter((n) => n.dataPlane !== undefined).map((n) => n.name),
    ...forwardingOf(plan),
  };
}

/** The directors' forwarding method, for hints (the first director's: one lab rarely mixes them). */
export function forwardingOf(plan: StepRunContext['plan']): { forwardingMethod?: string } {
  const method = plan.nodes.find((n) => n.forwarding !== undefined)?.forwarding;
  return method !== undefined ? { forwardingMethod: method } : {};
}
