/**
 * LVS forwarding methods: how a director hands a VIP's packets to a real server, in one table. Each
 * entry says what the director sends (the ipvsadm flag, keepalived's lvs_method, the nftables
 * stand-in's rules), what a real server needs, which data planes can do it, and what a topology must
 * satisfy for it: DR, NAT and TUN.
 */
import type { TopologyIssue } from '../core/issue.js';
import type { DataPlane, KernelFeature } from '../core/plan.js';
import type { NodeConfig } from '../core/topology.js';
import type { SetupStep } from './kind.js';
import type { ResolvedService } from './lvs-service.js';
import { renderNftablesDr } from './nftables-dr.js';
import { natStandInCannot, renderNftablesNat } from './nftables-nat.js';

export interface ForwardingMethod {
  /** The `method:` of a director's service. */
  name: string;
  /** ipvsadm's forwarding flag for each real server (`-g` gatewaying, `-m` masquerading, `-i` tunnel). */
  ipvsadmFlag: string;
  /** What `ipvsadm -L -n` prints in its Forward column for this method. */
  ipvsadmForward: string;
  /** keepalived's `lvs_method`. */
  keepalivedMethod: string;
  /** Whether a real server may listen on another port than the service's (the director rewrites it). */
  remapsPorts: boolean;
  /** The data planes that can forward this method. */
  dataPlanes: readonly DataPlane[];
  /** The nftables stand-in: where its ruleset goes and how it is rendered (when `nftables` is a data plane). */
  nftables?: {
    file: string;
    summary: string;
    render(director: NftablesDirector, services: ResolvedService[]): string;
    /** Why the stand-in cannot forward `service` as declared (it then needs IPVS), or undefined. */
    cannot(service: StandInQuestion): string | undefined;
    /** Why the stand-in forwards `service` differently from IPVS (a warning), or undefined. */
    differs(service: ResolvedService): string | undefined;
  };
  /** Sysctls the director needs beside ip_forward. */
  directorSysctls: Readonly<Record<string, string>>;
  /** What a real server needs to take this method's traffic: setup steps and sysctls. */
  realServer(context: RealServerContext): { setup: SetupStep[]; sysctls: Record<string, string> };
  /** Kernel features a real server's kernel must have beyond a plain Linux one (TUN: ipip). */
  realServerKernel: readonly KernelFeature[];
  /** What the topology must satisfy for a real server `rs` of a director's service (issues at `where`). */
  checkRealServer(context: RealServerCheck): TopologyIssue[];
  /** Why requests to the VIP may go unanswered, for a failed tally's hint. */
  unansweredHint: string;
}

/** What decides whether the stand-in can forward a service (known before anything is resolved). */
export type StandInQuestion = Pick<ResolvedService, 'scheduler' | 'persistence'>;

/** The director as the nftables stand-in sees it: the interface the VIP's traffic arrives on. */
export interface NftablesDirector {
  ifname: string;
  mac: string;
}

export interface RealServerContext {
  /** The real server's own `vip:`. */
  vip: string | undefined;
  /** The real server's interfaces (eth0, ...). */
  ifnames: string[];
  /** The director's address on the network it shares with this real server (NAT's gateway). */
  directorIp: string | undefined;
}

export interface RealServerCheck {
  director: string;
  directorNode: NodeConfig;
  servicePort: number;
  realServer: string;
  realServerNode: NodeConfig;
  /** Where the real server listens for this service: its HTTP port, or its UDP responder's. */
  realServerPort: number;
  /** The key that sets realServerPort on the real server: `http.port` or `udp.port`. */
  realServerPortKey: 'http.port' | 'udp.port';
  /** Every director of the topology with a service of this method that names this real server. */
  directorsOfRealServer: string[];
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
  ipvsadmForward: 'Route',
  keepalivedMethod: 'DR',
  remapsPorts: false,
  dataPlanes: ['ipvs', 'nftables'],
  nftables: {
    file: '/etc/lblab/dr.nft',
    summary: 'nftables DR forwarding (netdev ingress, 5-tuple hash)',
    render: (director, services) => renderNftablesDr(director.ifname, director.mac, services),
    cannot: () => undefined,
    differs: (service) =>
      service.scheduler === 'sh'
        ? undefined
        : `nftables picks real servers by a 5-tuple hash; scheduler "${service.scheduler}" needs IPVS`,
  },
  directorSysctls: ARP_SUPPRESSION_SYSCTLS,
  realServer: ({ vip }) =>
    vip ? { setup: [vipOnLo(vip)], sysctls: { ...ARP_SUPPRESSION_SYSCTLS } } : { setup: [], sysctls: {} },
  realServerKernel: [],
  checkRealServer(check) {
    const { director, directorNode, realServer, realServerNode, where } = check;
    const issues = [
      ...vipMissing(check, 'DR', 'it would drop the traffic'),
      // Its port is judged once it holds the VIP: that is the first thing to mend.
      ...(realServerNode.vip === directorNode.vip ? portChanged(check, 'DR') : []),
    ];
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

const MASQUERADING: ForwardingMethod = {
  name: 'nat',
  // -m: masquerading: the director rewrites the destination to the real server (and its port), and
  // the replies, which must come back through it, to the VIP.
  ipvsadmFlag: '-m',
  ipvsadmForward: 'Masq',
  keepalivedMethod: 'NAT',
  remapsPorts: true,
  dataPlanes: ['ipvs', 'nftables'],
  nftables: {
    file: '/etc/lblab/nat.nft',
    summary: 'nftables NAT forwarding (stateful DNAT, conntrack un-NATs the replies)',
    render: (_director, services) => renderNftablesNat(services),
    cannot: natStandInCannot,
    differs: () => undefined,
  },
  directorSysctls: {},
  // The replies must pass the director to be rewritten back to the VIP: it is the default gateway.
  realServer: ({ directorIp }) => ({
    setup: directorIp
      ? [
          {
            summary: `default route via the director (${directorIp}): NAT replies return through it`,
            commands: [`ip route replace default via ${directorIp}`],
          },
        ]
      : [],
    sysctls: {},
  }),
  realServerKernel: [],
  checkRealServer({ director, directorNode, realServer, realServerNode, directorsOfRealServer, where }) {
    const issues: TopologyIssue[] = [];
    const directorNetworks = Object.keys(directorNode.networks ?? {});
    const shared = Object.keys(realServerNode.networks ?? {}).filter((n) => directorNetworks.includes(n));
    if (shared.length === 0) {
      issues.push({
        path: where,
        message: `real server "${realServer}" shares no network with director "${director}"; in NAT mode the director must be its gateway`,
        fix: `attach ${realServer} to one of: ${directorNetworks.join(', ')}`,
      });
    }
    const vipOn = directorNode['vip-on'];
    if (vipOn !== undefined && shared.includes(vipOn)) {
      issues.push({
        path: where,
        message: `real server "${realServer}" is on network "${vipOn}", where director "${director}" holds the VIP: its replies to clients there would bypass the director and never be rewritten`,
        fix: `put ${realServer} on a network of its own behind ${director} (NAT needs a client side and a server side)`,
      });
    }
    if (realServerNode.vip !== undefined) {
      issues.push({
        path: ['topology', 'nodes', realServer, 'vip'],
        message: `real server "${realServer}" holds the VIP, but in NAT mode the director sends it packets for its own address`,
        fix: `remove vip: from ${realServer} (only DR real servers hold the VIP)`,
      });
    }
    if (directorsOfRealServer.length > 1) {
      issues.push({
        path: where,
        message: `real server "${realServer}" is a NAT real server of ${directorsOfRealServer.join(' and ')}, but it can have one default route, so replies to one of them would not return through it`,
        fix: `give each NAT director real servers of its own`,
      });
    }
    return issues;
  },
  unansweredHint:
    "in NAT mode each real server's default route must point at its director's address on their shared network, so replies return through the director",
};

/** The IPIP header TUN adds to every packet: the real servers' MTU leaves room for it (seed 003). */
export const IPIP_OVERHEAD = 20;

const TUNNELING: ForwardingMethod = {
  name: 'tun',
  // -i: ipip: the director wraps each packet in an outer IP header addressed to the real server,
  // which may sit on another subnet; the real server unwraps it on tunl0 and answers the client directly.
  ipvsadmFlag: '-i',
  ipvsadmForward: 'Tunnel',
  keepalivedMethod: 'TUN',
  remapsPorts: false,
  // No stand-in: a stateless nftables rule cannot encapsulate.
  dataPlanes: ['ipvs'],
  directorSysctls: ARP_SUPPRESSION_SYSCTLS,
  realServer: ({ vip, ifnames }) => ({
    setup: vip
      ? [
          {
            summary: `VIP ${vip}/32 on tunl0 (IPIP from the director arrives there)`,
            commands: ['ip link set tunl0 up', `ip addr add ${vip}/32 dev tunl0`],
          },
          {
            summary: `MTU ${1500 - IPIP_OVERHEAD} on ${ifnames.join(', ')}: room for the outer IP header, so a full-size request still fits once tunnelled`,
            commands: ifnames.map((ifname) => `ip link set dev ${ifname} mtu ${1500 - IPIP_OVERHEAD}`),
          },
        ]
      : [],
    sysctls: vip
      ? {
          ...ARP_SUPPRESSION_SYSCTLS,
          // The unwrapped packet is for the VIP from a client the real server routes elsewhere:
          // reverse-path filtering on tunl0 would drop it.
          'net.ipv4.conf.all.rp_filter': '0',
          'net.ipv4.conf.tunl0.rp_filter': '0',
        }
      : {},
  }),
  realServerKernel: ['ipip'],
  checkRealServer: (check) => [
    ...vipMissing(check, 'TUN', 'it unwraps packets for the VIP on tunl0 and would drop them'),
    ...portChanged(check, 'TUN'),
  ],
  unansweredHint:
    'in TUN mode each real server must hold the VIP on tunl0 (ipip loaded), accept it (rp_filter 0) and route its replies to the client itself',
};

// DR and TUN hand the client's packet to the real server unchanged (a new MAC, or inside IPIP): it
// must hold the VIP and listen on the service's own port.

function vipMissing(
  { directorNode, realServer, realServerNode, where }: RealServerCheck,
  method: string,
  withoutVip: string,
): TopologyIssue[] {
  const vip = directorNode.vip;
  if (!vip || realServerNode.vip === vip) return [];
  return [
    {
      path: where,
      message: `real server "${realServer}" does not hold the VIP ${vip}; in ${method} mode ${withoutVip}`,
      fix: `add \`vip: ${vip}\` to node ${realServer}`,
    },
  ];
}

function portChanged(
  { servicePort, realServer, realServerPort, realServerPortKey, where }: RealServerCheck,
  method: string,
): TopologyIssue[] {
  if (realServerPort === servicePort) return [];
  return [
    {
      path: where,
      message: `real server "${realServer}" listens on ${realServerPort} but the service port is ${servicePort}; ${method} cannot change ports`,
      fix: `set ${realServerPortKey}: ${servicePort} on ${realServer} or port: ${realServerPort} on the service`,
    },
  ];
}

const FORWARDING_METHODS: ReadonlyMap<string, ForwardingMethod> = new Map(
  [DIRECT_ROUTING, MASQUERADING, TUNNELING].map((method) => [method.name, method]),
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
