/** router: an FRR box that speaks OSPF and, for each VIP directors advertise, expects ECMP to it. */
import { BASE_CAPABILITIES, type NodeKind } from './kind.js';
import { FRR_CAPABILITIES, frrParts, START_FRR } from './routing.js';
import type { ReadinessCheck } from '../plan/plan.js';

export const routerKind: NodeKind = {
  name: 'router',
  description: 'FRR router (OSPF today; BGP has room in the daemons file)',
  keys: ['ospf'],
  capabilities: { ...BASE_CAPABILITIES, ...FRR_CAPABILITIES },
  check: () => [],
  build(context) {
    const nodes = context.topology.topology.nodes;
    const directorsByVip = new Map<string, number>();
    for (const node of Object.values(nodes)) {
      if (node.kind === 'director' && node.vip)
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
