/** router: an FRR box that speaks OSPF and, for each VIP directors advertise, expects ECMP to it. */
import { BASE_CAPABILITIES, type NodeKind } from './kind.js';
import { FRR_CAPABILITIES, frrParts, START_FRR } from './routing.js';
import { KIND_TRAIT } from '../core/kind-traits.js';
import type { ReadinessCheck } from '../core/plan.js';

export const routerKind: NodeKind = {
  name: 'router',
  description: 'FRR router (OSPF today; BGP has room in the daemons file)',
  keys: ['ospf'],
  capabilities: { ...BASE_CAPABILITIES, ...FRR_CAPABILITIES },
  traits: [KIND_TRAIT.ospf, KIND_TRAIT.frr],
  ownConfigs: ['frr'],
  check: () => [],
  build(context) {
    // Only directors that advertise their VIP over OSPF give the router a nexthop to it.
    const speakers = new Set(context.nodesWith(KIND_TRAIT.ospf).map(([name]) => name));
    const directorsByVip = new Map<string, number>();
    for (const [name, node] of context.nodesWith(KIND_TRAIT.director)) {
      if (node.vip && speakers.has(name))
        directorsByVip.set(node.vip, (directorsByVip.get(node.vip) ?? 0) + 1);
    }
    const routes: ReadinessCheck[] = [...directorsByVip].map(([vip, directors]) => ({
      type: 'route',
      node: context.name,
      prefix: `${vip}/32`,
      nexthops: directors,
      timeoutMs: 60_000,
    }));
    const frr = frrParts(context);
    return {
      files: frr.files,
      setup: [START_FRR],
      readiness: [...frr.readiness, ...routes],
      logs: frr.logs,
      sysctls: { 'net.ipv4.ip_forward': '1' },
      warnings: [],
    };
  },
};
