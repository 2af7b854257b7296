/**
 * A tally that expects shares from a single director's service must be able to get them: rr gives
 * each live real server an equal share, wrr (and the other weighted schedulers) weight / total. The
 * lint compares the declared `shares` with what the service's scheduler and weights give, before
 * anything runs, so a typo in a weight or a share is caught with both numbers side by side.
 */
import type { TopologyIssue } from '../core/issue.js';
import type { TopologyConfig } from '../core/topology.js';
import type { HttpTallyStep } from '../verify/step-types/http-tally.js';
import type { VerifyStep } from '../verify/step-type.js';
import { stepPath } from '../verify/steps.js';

/** Schedulers whose long-run shares follow the weights alone (rr: equal shares, weights ignored). */
const WEIGHTED = new Set(['wrr', 'wlc', 'sed', 'nq']);

export function shareIssues(config: TopologyConfig, steps: VerifyStep[]): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  for (const step of steps) {
    if (step.type !== 'http-tally') continue;
    const tally = step as HttpTallyStep;
    const shares = tally.expect.shares;
    // Sources hash or stick to real servers: their split is not the scheduler's long-run share.
    if (!shares || tally.sources.length > 0) continue;
    const expected = expectedShares(config, tally.url);
    if (!expected) continue;
    const off = Object.entries(expected.shares).filter(
      ([value, share]) => Math.abs((shares[value] ?? 0) - share) > tally.expect.tolerance,
    );
    const unknown = Object.keys(shares).filter((value) => !Object.hasOwn(expected.shares, value));
    if (off.length === 0 && unknown.length === 0) continue;
    const gives = Object.entries(expected.shares)
      .map(([value, share]) => `${value} ${Math.round(share * 1000) / 10} %`)
      .join(', ');
    issues.push({
      path: [...stepPath(tally), 'http-tally', 'expect', 'shares'],
      message:
        `${expected.what} gives ${gives}, ` +
        `which these shares cannot match within ${Math.round(tally.expect.tolerance * 1000) / 10} points` +
        (unknown.length > 0 ? ` (${unknown.join(', ')} is not one of its real servers)` : ''),
      fix: 'make the shares match the weights (weight / total), or change the weights',
    });
  }
  return issues;
}

/** What one director's service at the URL's VIP:port gives each real server's X-Host, if exactly one has it. */
function expectedShares(
  config: TopologyConfig,
  url: string,
): { what: string; shares: Record<string, number> } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const nodes = config.topology.nodes;
  const matches = Object.entries(nodes).flatMap(([name, node]) =>
    node.vip === parsed.hostname
      ? (node.services ?? [])
          .filter((s) => s.port === port && (s.protocol ?? 'tcp') === 'tcp')
          .map((service) => ({ name, service }))
      : [],
  );
  // Several directors share the VIP (ECMP): the router's hash, not one scheduler, splits the traffic.
  if (matches.length !== 1) return undefined;
  const { name, service } = matches[0] as (typeof matches)[number];
  const scheduler = service.scheduler ?? 'rr';
  if (scheduler !== 'rr' && !WEIGHTED.has(scheduler)) return undefined;
  if ((service.persistence ?? 0) > 0) return undefined;
  const live = service['real-servers'].filter((rs) => (rs.weight ?? 1) > 0);
  const weightOf = (rs: (typeof live)[number]) => (scheduler === 'rr' ? 1 : (rs.weight ?? 1));
  const total = live.reduce((sum, rs) => sum + weightOf(rs), 0);
  if (total === 0) return undefined;
  const shares: Record<string, number> = {};
  for (const rs of live) {
    const identity = nodes[rs.node]?.http?.identity ?? rs.node;
    shares[identity] = (shares[identity] ?? 0) + weightOf(rs) / total;
  }
  const weights =
    scheduler === 'rr' ? 'equal shares' : `weights ${live.map((rs) => rs.weight ?? 1).join(':')}`;
  return { what: `${name}'s ${scheduler} service on :${port} (${weights})`, shares };
}
