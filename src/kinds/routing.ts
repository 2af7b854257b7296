/** OSPF pieces shared by the kinds that run FRR (router, director). */
import { renderFrrConfig, renderFrrDaemons, renderVtyshConf } from './frr.js';
import type { KindContext, SetupStep } from './kind.js';
import type { ReadinessCheck } from '../plan/plan.js';
import type { FileSpec } from '../runtime/runtime.js';
import { formatCidr, parseCidr } from '../util/ipv4.js';

export const ROUTING_KINDS = new Set(['router', 'director']);

export const FRR_CAPABILITIES: Readonly<Record<string, string>> = {
  SYS_ADMIN: 'zebra and ospfd refuse to start without it (they set up namespaces and netlink buffers)',
};

/** OSPF speakers that share at least one network with `name`. */
export function ospfNeighbours(context: KindContext): string[] {
  const mine = new Set(context.interfaces.map((iface) => iface.network));
  return Object.entries(context.topology.topology.nodes)
    .filter(([other, node]) => other !== context.name && ROUTING_KINDS.has(node.kind))
    .filter(([other]) => context.interfacesOf(other).some((iface) => mine.has(iface.network)))
    .map(([other]) => other);
}

export function ospfFiles(context: KindContext, extraNetworks: string[] = []): FileSpec[] {
  const ospf = context.node.ospf ?? {};
  const networks =
    ospf.networks ??
    context.interfaces.map((iface) => formatCidr(parseCidr(`${iface.ip}/${iface.prefixLength}`)));
  const area = ospf.area ?? 0;
  const frrConfig = renderFrrConfig({
    hostname: context.name,
    routerId: ospf['router-id'] ?? context.interfaces[0]?.ip ?? '0.0.0.0',
    area: String(area),
    networks: [...networks, ...extraNetworks.filter((n) => !networks.includes(n))],
    interfaces: context.interfaces.map((iface) => ({ ifname: iface.ifname })),
    timers: ospf.timers ?? context.topology.topology.defaults?.['ospf-timers'] ?? 'article',
  });
  return [
    { path: '/etc/frr/daemons', content: renderFrrDaemons(), mode: 0o644 },
    { path: '/etc/frr/frr.conf', content: frrConfig, mode: 0o644 },
    { path: '/etc/frr/vtysh.conf', content: renderVtyshConf(), mode: 0o644 },
  ];
}

export const START_FRR: SetupStep = {
  summary: 'start FRR (zebra, ospfd, staticd under watchfrr)',
  commands: ['chown -R frr:frr /etc/frr', '/usr/lib/frr/frrinit.sh start >/dev/null'],
};

export function ospfReadiness(context: KindContext): ReadinessCheck[] {
  const neighbours = ospfNeighbours(context).length;
  return neighbours > 0
    ? [{ type: 'ospf-full', node: context.name, neighbors: neighbours, timeoutMs: 60_000 }]
    : [];
}
