/**
 * Pure evaluation of a step's expectations. A failing expectation says what was expected, what was
 * seen, and, where the evidence supports one, the likely cause. Hints only claim what the facts show:
 * a fact the runner could not read is left out rather than guessed.
 */
import { forwardingMethod } from '../kinds/forwarding.js';
import { firstLine } from '../util/text.js';
import type { SourceTally, TallySummary } from './tally.js';

export interface DistinctExpectation {
  op: '=' | '>=' | '<=';
  count: number;
}

/** What an http-tally step expects of the values its requests saw. */
export interface TallyExpectation {
  distinct?: DistinctExpectation;
  maxFailures: number;
  /** At least this many requests fail: the experiment shows a misconfiguration breaking the service. */
  minFailures?: number;
  /** Every value seen, and every value in `only`, has at least this share of the answered requests (0 < share <= 1). */
  minShare?: number;
  /** Every value seen is one of these. */
  only?: string[];
  /** Each source address sees exactly one value. */
  perSourceStable: boolean;
  /** Each value's expected share of the answered requests (they add up to 1), within `tolerance`. */
  shares?: Record<string, number>;
  /** How far a share may be from its expected value (0.05 = five percentage points). */
  tolerance: number;
}

export function formatDistinct(distinct: DistinctExpectation): string {
  return distinct.op === '=' ? String(distinct.count) : `${distinct.op}${distinct.count}`;
}

export function formatPercent(share: number): string {
  return `${Math.round(share * 1000) / 10} %`;
}

export interface ExpectationResult {
  /** The expectation's key in the YAML, e.g. `distinct`, `min-share`, `exit-code`. */
  name: string;
  ok: boolean;
  expected: string;
  seen: string;
  /** The likely cause of a failure, from the evidence at hand. */
  hint?: string;
}

/** What the runner knows around an http-tally step; the optional facts are read only after a failure. */
export interface TallyFacts {
  node: string;
  header: string;
  sources: string[];
  /** Host part of the URL (the VIP). */
  target: string;
  /** Director nodes of the plan: the owners of the ECMP nexthops. */
  directors: string[];
  /** How the directors forward to their real servers (kinds/forwarding.ts); default DR. */
  forwardingMethod?: string;
  /** The node's net.ipv4.fib_multipath_hash_policy, read in its netns. */
  hashPolicy?: number;
  /** Nexthops of the node's route to `target` (0: no such route). */
  nexthops?: number;
}

export function evaluateTally(
  expect: TallyExpectation,
  tally: TallySummary,
  facts: TallyFacts,
): ExpectationResult[] {
  const results = [checkFailures(expect.maxFailures, tally, facts)];
  if (expect.minFailures !== undefined) results.push(checkMinFailures(expect.minFailures, tally));
  if (expect.distinct) results.push(checkDistinct(expect.distinct, tally, facts));
  if (expect.minShare !== undefined) results.push(checkMinShare(expect.minShare, expect.only, tally, facts));
  if (expect.only) results.push(checkOnly(expect.only, tally, facts));
  if (expect.perSourceStable) results.push(checkPerSourceStable(tally, facts));
  if (expect.shares) results.push(checkShares(expect.shares, expect.tolerance, tally));
  return results;
}

function checkFailures(maxFailures: number, tally: TallySummary, facts: TallyFacts): ExpectationResult {
  const ok = tally.failures <= maxFailures;
  const reasons = tally.failureReasons.map((r) => `${r.reason} ×${r.count}`).join(', ');
  const hint = ok ? undefined : failureHint(tally, facts);
  return {
    name: 'max-failures',
    ok,
    expected: `at most ${maxFailures} failed of ${tally.requests}`,
    seen: tally.failures === 0 ? '0 failed' : `${tally.failures} failed: ${reasons}`,
    ...(hint !== undefined && { hint }),
  };
}

function checkMinFailures(minFailures: number, tally: TallySummary): ExpectationResult {
  const ok = tally.failures >= minFailures;
  return {
    name: 'min-failures',
    ok,
    expected: `at least ${minFailures} failed of ${tally.requests}`,
    seen: `${tally.failures} failed`,
    ...(!ok && {
      hint: 'the service kept working although this experiment expects it to break: was the fault in the step before really applied?',
    }),
  };
}

function failureHint(tally: TallySummary, facts: TallyFacts): string | undefined {
  const top = tally.failureReasons[0]?.reason ?? '';
  if (top.startsWith('curl exit 45')) {
    const unbound = tally.bySource.filter((s) => s.failures === s.requests).map((s) => s.source);
    const which = unbound.length > 0 ? unbound.join(', ') : 'some sources';
    return `curl could not bind ${which} on ${facts.node}: add the address(es) with an addresses step before this one`;
  }
  if (top.startsWith('curl exit 28')) {
    return `requests to ${facts.target} timed out: ${forwardingMethod(facts.forwardingMethod).unansweredHint}, and each director needs a live real server (show: director-stats)`;
  }
  if (top.startsWith('curl exit 7')) {
    if (facts.nexthops === 0)
      return `${facts.node} has no route to ${facts.target}: has OSPF learnt the VIP?`;
    return `nothing accepted the connection to ${facts.target}: is the virtual service up on the directors (show: director-stats) and its real servers listening?`;
  }
  if (top.startsWith('HTTP ')) return `the server answered ${top}: look at the real servers' web server`;
  if (top.startsWith('no ') && top.endsWith(' header')) {
    return `responses lacked ${facts.header}: did they come from the real servers (nginx add_header ${facts.header})?`;
  }
  if (top === 'no output for this request') {
    return `the request loop printed nothing for some requests: is curl (>= 7.84) installed on ${facts.node}, and did the step run out of time?`;
  }
  return undefined;
}

function checkDistinct(
  distinct: DistinctExpectation,
  tally: TallySummary,
  facts: TallyFacts,
): ExpectationResult {
  const count = tally.values.length;
  const ok =
    distinct.op === '='
      ? count === distinct.count
      : distinct.op === '>='
        ? count >= distinct.count
        : count <= distinct.count;
  const tooFew = count < distinct.count;
  const hint = ok ? undefined : tooFew ? tooFewHint(tally, facts, distinct.count) : tooManyHint(facts);
  return {
    name: 'distinct',
    ok,
    expected: `${formatDistinct(distinct)} distinct ${facts.header} value(s)`,
    seen: `${count}${count > 0 ? `: ${listValues(tally)}` : ''}`,
    ...(hint !== undefined && { hint }),
  };
}

function tooFewHint(tally: TallySummary, facts: TallyFacts, wanted: number): string | undefined {
  const { node, target, hashPolicy, nexthops, sources } = facts;
  if (tally.answered === 0) return 'no request was answered (see max-failures)';
  // Answered without a /32 route: one director behind a connected subnet or the default route.
  if (nexthops === 0) {
    return `${node} reaches ${target} through one director (no /32 route, no ECMP), so the spread is its scheduler's: does its virtual service list every real server? (show: director-stats)`;
  }
  if (nexthops !== undefined && nexthops < wanted) {
    const directors = facts.directors.length > 0 ? ` (${facts.directors.join(', ')})` : '';
    return `only ${nexthops} nexthop to ${target} on ${node}: is each director's${directors} OSPF adjacency with ${node} Full? (show: ospf-neighbors)`;
  }
  if (hashPolicy === 0 && sources.length < 2) {
    return `hash policy 0 hashes only the source and destination addresses, so one source always takes the same nexthop: set the policy to 1, or add sources`;
  }
  if (hashPolicy === 0) {
    const paths = nexthops ?? 2;
    const chance = paths ** (1 - sources.length);
    return `with hash policy 0 each source address sticks to one nexthop, and all ${sources.length} sources landing on the same one of ${paths} has a ${formatPercent(chance)} chance per boot (the hash seed is random): use more sources`;
  }
  if (hashPolicy === 1 && nexthops !== undefined) {
    return `hash policy 1 spreads requests over ${target}'s ${nexthops} nexthops, so the directors both get traffic: do they forward to different real servers? (show: director-stats)`;
  }
  if (hashPolicy === 1)
    return `hash policy 1 should spread requests over the nexthops: how many nexthops does ${node} have to ${target}? (show: ospf-routes)`;
  return undefined;
}

function tooManyHint(facts: TallyFacts): string | undefined {
  const { node, hashPolicy, sources } = facts;
  if (hashPolicy === 1) {
    return 'hash policy 1 hashes the source port too, and every curl uses a new one: requests spread by design; set the policy to 0 for one value per source';
  }
  if (hashPolicy === 0 && sources.length > 1) {
    return `with hash policy 0 each of the ${sources.length} source addresses is hashed on its own, so several sources reach several nexthops`;
  }
  if (hashPolicy === 0) {
    return `one source under hash policy 0 always takes the same nexthop: did ${node}'s route change during the run (show: ospf-neighbors), or does a director forward to more than one real server (show: director-stats)?`;
  }
  return undefined;
}

/** Every value seen, and every value `only` lists (one never seen has a share of 0), has its share. */
function checkMinShare(
  minShare: number,
  only: string[] | undefined,
  tally: TallySummary,
  facts: TallyFacts,
): ExpectationResult {
  const unseen = (only ?? [])
    .filter((value) => !tally.values.some((v) => v.value === value))
    .map((value) => ({ value, share: 0 }));
  const shares = [...tally.values, ...unseen];
  const ok = tally.answered > 0 && shares.every((v) => v.share >= minShare);
  let hint: string | undefined;
  if (!ok && tally.failures > 0) {
    hint = `${tally.failures} requests failed (see max-failures): a path that fails loses its share`;
  } else if (!ok && facts.hashPolicy === 0 && facts.sources.length > 0) {
    hint = `under hash policy 0 the split follows the source addresses; sources per value: ${sourcesByValue(tally.bySource)}`;
  }
  return {
    name: 'min-share',
    ok,
    expected: `each value at least ${formatPercent(minShare)} of the answered requests`,
    seen:
      tally.answered === 0
        ? 'nothing answered'
        : shares.map((v) => `${v.value} ${formatPercent(v.share)}`).join(' / '),
    ...(hint !== undefined && { hint }),
  };
}

function checkShares(
  shares: Record<string, number>,
  tolerance: number,
  tally: TallySummary,
): ExpectationResult {
  const seenShare = (value: string) => tally.values.find((v) => v.value === value)?.share ?? 0;
  const expected = Object.entries(shares);
  const unexpected = tally.values.filter((v) => !Object.hasOwn(shares, v.value));
  const off = expected.filter(([value, share]) => Math.abs(seenShare(value) - share) > tolerance);
  const ok = tally.answered > 0 && off.length === 0 && unexpected.length === 0;
  const seen = [
    ...expected.map(([value]) => `${value} ${formatPercent(seenShare(value))}`),
    ...unexpected.map((v) => `${v.value} ${formatPercent(v.share)} (not expected)`),
  ].join(' / ');
  return {
    name: 'shares',
    ok,
    expected:
      expected.map(([value, share]) => `${value} ${formatPercent(share)}`).join(' / ') +
      ` (± ${Math.round(tolerance * 1000) / 10} points)`,
    seen: tally.answered === 0 ? 'nothing answered' : seen,
    ...(!ok &&
      tally.answered > 0 && {
        hint:
          tally.failures > 0
            ? `${tally.failures} requests failed: a real server that fails loses its share`
            : 'shares follow the scheduler and the weights: wrr gives each real server weight / total; rr ignores weights',
      }),
  };
}

function checkOnly(only: string[], tally: TallySummary, facts: TallyFacts): ExpectationResult {
  const allowed = new Set(only);
  const others = tally.values.filter((v) => !allowed.has(v.value));
  return {
    name: 'only',
    ok: others.length === 0,
    expected: `${facts.header} only ${only.join(', ')}`,
    seen:
      others.length === 0
        ? listValues(tally) || 'no values'
        : `also ${others.map((v) => `${v.value} ${v.count}`).join(' / ')}`,
  };
}

function checkPerSourceStable(tally: TallySummary, facts: TallyFacts): ExpectationResult {
  const unstable = tally.bySource.filter((s) => s.values.length > 1);
  const ok = tally.bySource.length > 0 && unstable.length === 0;
  let hint: string | undefined;
  if (unstable.length > 0 && facts.hashPolicy === 1) {
    hint =
      'hash policy 1 hashes the source port too, so a source is not pinned to one nexthop: set the policy to 0';
  } else if (unstable.length > 0 && facts.hashPolicy === 0) {
    hint = `under hash policy 0 a source only moves when ${facts.node}'s route changes (show: ospf-neighbors) or a director spreads over several real servers (show: director-stats)`;
  }
  return {
    name: 'per-source-stable',
    ok,
    expected: `each of ${facts.sources.length} sources sees one ${facts.header} value`,
    seen:
      tally.bySource.length === 0
        ? 'no sources'
        : unstable.length === 0
          ? `${tally.bySource.length} stable; sources per value: ${sourcesByValue(tally.bySource)}`
          : `unstable: ${unstable.map((s) => `${s.source} ${s.values.map((v) => `${v.value} ${v.count}`).join(' / ')}`).join('; ')}`,
    ...(hint !== undefined && { hint }),
  };
}

/** How many sources mostly saw each value, most sources first: `server1 5 / server2 3`. */
function sourcesByValue(bySource: SourceTally[]): string {
  const counts = new Map<string, number>();
  for (const source of bySource) {
    const top = source.values[0]?.value;
    if (top !== undefined) counts.set(top, (counts.get(top) ?? 0) + 1);
  }
  return [...counts]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([value, count]) => `${value} ${count}`)
    .join(' / ');
}

function listValues(tally: TallySummary): string {
  return tally.values.map((v) => `${v.value} ${v.count}`).join(' / ');
}

/** Expectations of an exec step: the exit code, and a regular expression over stdout. */
export function evaluateExec(
  expect: { exitCode: number; match?: string },
  result: { exitCode: number; stdout: string },
): ExpectationResult[] {
  const results: ExpectationResult[] = [
    {
      name: 'exit-code',
      ok: result.exitCode === expect.exitCode,
      expected: `exit ${expect.exitCode}`,
      seen: `exit ${result.exitCode}`,
      ...(result.exitCode === 124 &&
        expect.exitCode !== 124 && { hint: 'exit 124: the command ran out of time' }),
    },
  ];
  if (expect.match !== undefined) {
    // Multiline, as grep reads: ^ and $ match at each line of the output (it ends in a newline).
    const ok = new RegExp(expect.match, 'm').test(result.stdout);
    const first = firstLine(result.stdout);
    results.push({
      name: 'match',
      ok,
      expected: `stdout matching /${expect.match}/m`,
      seen: result.stdout.trim() === '' ? 'empty stdout' : `stdout starting "${first.slice(0, 120)}"`,
    });
  }
  return results;
}

/** Expectation of a wait step: its readiness check held before the timeout. */
export function evaluateWait(description: string, error: unknown): ExpectationResult {
  return error === undefined
    ? { name: 'wait', ok: true, expected: description, seen: 'held' }
    : {
        name: 'wait',
        ok: false,
        expected: description,
        seen: error instanceof Error ? error.message : String(error),
      };
}

/**
 * Nexthops of the first route in `ip -4 route show <prefix>` output: 0 when there is none, the count
 * of `nexthop` lines for a multipath route, else 1.
 */
export function countNexthops(ipRouteOutput: string): number {
  const lines = ipRouteOutput.split('\n').filter((line) => line.trim() !== '');
  const first = lines.findIndex((line) => !/^\s/.test(line));
  if (first === -1) return 0;
  let nexthops = 0;
  for (const line of lines.slice(first + 1)) {
    if (!/^\s/.test(line)) break;
    if (/^\s+nexthop\b/.test(line)) nexthops += 1;
  }
  return Math.max(1, nexthops);
}
