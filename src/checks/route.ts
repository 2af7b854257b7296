/** route: the node's kernel has a route to a prefix with N nexthops (ECMP through every director). */
import type { ReadinessCheck } from '../core/plan.js';
import { firstLine } from '../util/text.js';
import { defineCheckType, type Observation } from './check-type.js';
import { normalizeCidr } from './addresses.js';

export interface RouteCheck extends ReadinessCheck {
  type: 'route';
  prefix: string;
  nexthops: number;
}

export const routeCheck = defineCheckType<RouteCheck>({
  type: 'route',
  waitKey: 'route',
  parse: (wait, timeoutMs) => ({
    type: 'route',
    node: wait.node,
    prefix: normalizeCidr(wait.route as string),
    nexthops: (wait.nexthops as number | undefined) ?? 1,
    timeoutMs,
  }),
  describe: (check) => `kernel route to ${check.prefix} with ${check.nexthops} nexthop(s)`,
  async observe(probe, check) {
    const result = await probe(['ip', '-j', 'route', 'show', check.prefix]);
    if (result.exitCode !== 0) return { ok: false, seen: `ip route failed: ${firstLine(result.stderr)}` };
    return judgeRoute(result.stdout, check.nexthops);
  },
  hint: 'a director is not advertising the VIP: rerun with --keep-on-failure, then lblab exec <file> router -- vtysh -c "show ip ospf database"',
});

interface RouteJson {
  gateway?: string;
  nexthops?: { gateway?: string }[];
}

/**
 * The gateways of the first route in `ip -j route show PREFIX` output (one per ECMP nexthop);
 * undefined when there is no route, and an error when the output is not JSON.
 */
export function routeGateways(json: string): string[] | undefined {
  const routes = JSON.parse(json || '[]') as RouteJson[];
  const route = routes[0];
  if (!route) return undefined;
  return route.nexthops
    ? route.nexthops.map((hop) => hop.gateway ?? '?')
    : route.gateway
      ? [route.gateway]
      : [];
}

export function judgeRoute(json: string, wanted: number): Observation {
  let gateways: string[] | undefined;
  try {
    gateways = routeGateways(json);
  } catch {
    return { ok: false, seen: 'unreadable ip -j output' };
  }
  if (!gateways) return { ok: false, seen: 'no route' };
  return {
    ok: gateways.length === wanted,
    seen: `${gateways.length} nexthop(s)${gateways.length ? ` (via ${gateways.join(', via ')})` : ''}`,
  };
}
