/**
 * LVS forwarding methods: how a director hands a VIP's packets to a real server, in one table. Each
 * entry says what the director sends (the ipvsadm flag, keepalived's lvs_method, the nftables
 * stand-in's rules), what a real server needs, which data planes can do it, and what a topology must
 * satisfy for it. DR is the only entry today; NAT and TUN are new entries here.
 */
import type { TopologyIssue } from '../core/issue.js';
import type { DataPlane } from '../core/plan.js';
import type { NodeConfig } from '../core/topology.js';
import type { SetupStep } from './kind.js';
import type { ResolvedService } from './lvs-service.js';
import { renderNftablesDr } from './nftables-dr.js';

export interface ForwardingMethod {
  /** The `method:` of a director's service. */
  name: string;
  /** ipvsadm's forwarding flag for each real server (`-g` gatewaying, `-m` masquerading, `-i` tunnel). */
  ipvsadmFlag: string;
  /** keepalived's `lvs_method`. */
  keepalivedMethod: string;
  /** The data planes that can forward this method. */
  dataPlanes: readonly DataPlane[];
  /** The nftables stand-in's ruleset for the director's services (when `nftables` is a data plane). */
  renderNftables?(ifname: string, directorMac: string, services: ResolvedService[]): string;
  /** Sysctls the director needs beside ip_forward. */
  directorSysctls: Readonly<Record<string, string>>;
  /** What a real server of a director with `vip` needs: setup steps and sysctls. */
  realServer(vip: string | undefined): { setup: SetupStep[]; sysctls: Record<string, string> };
  /** What the topology must satisfy for a real server `rs` of a director's service (issues at `where`). */
  checkRealServer(context: RealServerCheck): TopologyIssue[];
  /** Why requests to the VIP may go unanswered, for a failed tally's hint. */
  unansweredHint: string;
}

export interface RealServerCheck {
  director: string;
  directorNode: NodeConfig;
  servicePort: number;
  realServer: string;
  realServerNode: NodeConfig;
  /** The real server's HTTP port. */
  realServerPort: number;
  where: (string | number)[];
}

/** Real servers in DR mode must own the VIP but never answer ARP for it (else they bypass the director). */
export const ARP_SUPPRESSION_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.conf.all.arp_ignore': '1',
  'net.ipv4.conf.lo.arp_ignore': '1',
  'net.ipv4.conf.all.arp_announce': '2',
  'net.ipv4.conf.lo.arp_announce': '2',
};

/** The VIP on lo: how a director (to advertise it) and a DR real server (to accept it) hold it. */
export function vipOnLo(vip: string): SetupStep {
  return { summary: `VIP ${vip}/32 on lo`, commands: [`ip addr add ${vip}/32 dev lo`] };
}

const DIRECT_ROUTING: ForwardingMethod = {
  name: 'dr',
  // -g: gatewaying (direct routing): the director rewrites only the destination MAC.
  ipvsadmFlag: '-g',
  keepalivedMethod: 'DR',
  dataPlanes: ['ipvs', 'nftables'],
  renderNftables: renderNftablesDr,
  directorSysctls: ARP_SUPPRESSION_SYSCTLS,
  realServer: (vip) =>
    vip ? { setup: [vipOnLo(vip)], sysctls: { ...ARP_SUPPRESSION_SYSCTLS } } : { setup: [], sysctls: {} },
  checkRealServer({
    director,
    directorNode,
    servicePort,
    realServer,
    realServerNode,
    realServerPort,
    where,
  }) {
    const issues: TopologyIssue[] = [];
    const vip = directorNode.vip;
    if (vip && realServerNode.vip !== vip) {
      issues.push({
        path: where,
        message: `real server "${realServer}" does not hold the VIP ${vip}; in DR mode it would drop the traffic`,
        fix: `add \`vip: ${vip}\` to node ${realServer}`,
      });
    }
    if (realServerNode.vip === vip && realServerPort !== servicePort) {
      issues.push({
        path: where,
        message: `real server "${realServer}" listens on ${realServerPort} but the service port is ${servicePort}; DR cannot change ports`,
        fix: `set http.port: ${servicePort} on ${realServer} or port: ${realServerPort} on the service`,
      });
    }
    const directorNetworks = new Set(Object.keys(directorNode.networks ?? {}));
    if (!Object.keys(realServerNode.networks ?? {}).some((network) => directorNetworks.has(network))) {
      issues.push({
        path: where,
        message: `real server "${realServer}" shares no network with director "${director}"; DR needs one L2 segment`,
        fix: `attach ${realServer} to one of: ${[...directorNetworks].join(', ')}`,
      });
    }
    return issues;
  },
  unansweredHint: 'in DR mode each real server must hold the VIP on lo with arp_ignore=1 and arp_announce=2',
};

const FORWARDING_METHODS: ReadonlyMap<string, ForwardingMethod> = new Map(
  [DIRECT_ROUTING].map((method) => [method.name, method]),
);

/** A service's method when it names none. */
export const DEFAULT_FORWARDING_METHOD = DIRECT_ROUTING.name;

export function forwardingMethodNames(): string[] {
  return [...FORWARDING_METHODS.keys()];
}

export function findForwardingMethod(name: string | undefined): ForwardingMethod | undefined {
  return FORWARDING_METHODS.get(name ?? DEFAULT_FORWARDING_METHOD);
}

export function forwardingMethod(name: string | undefined): ForwardingMethod {
  const method = findForwardingMethod(name);
  if (!method) throw new Error(`forwarding method "${name}" is not implemented yet`);
  return method;
}
