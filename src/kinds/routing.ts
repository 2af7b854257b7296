/** OSPF pieces shared by the kinds that run FRR (router, director). */
import {
  FRR_CONFIG_LOADED_SCRIPT,
  FRR_LOG_PATH,
  frrDaemonConfigs,
  renderFrrConfigLoadedScript,
  renderFrrConfig,
  renderFrrDaemons,
  renderVtyshConf,
  type OspfInterface,
  type OspfRender,
} from './frr.js';
import type { FrrDaemonConfig } from '../checks/frr-config.js';
import type { KindContext, SetupStep } from './kind.js';
import { KIND_TRAIT } from '../core/kind-traits.js';
import type { ReadinessCheck } from '../core/plan.js';
import type { FileSpec } from '../core/runtime.js';
import type { OspfTimers, ResolvedOspfTimers } from '../core/topology.js';
import { formatCidr, parseCidr } from '../util/ipv4.js';

export const FRR_CAPABILITIES: Readonly<Record<string, string>> = {
  SYS_ADMIN: 'zebra and ospfd refuse to start without it (they set up namespaces and netlink buffers)',
};

/** OSPF speakers that share at least one network with `name`. */
export function ospfNeighbours(context: KindContext): string[] {
  const mine = new Set(context.interfaces.map((iface) => iface.network));
  return context
    .nodesWith(KIND_TRAIT.ospf)
    .filter(([other]) => other !== context.name)
    .filter(([other]) => context.interfacesOf(other).some((iface) => mine.has(iface.network)))
    .map(([other]) => other);
}

/**
 * OSPF priority on a network without multicast (non-broadcast: a DR is elected). Directors stand
 * aside (0) where a router shares the network, so the router is DR and each director's one Full
 * adjacency is with it; where only directors meet, they all stand.
 */
function unicastPriority(context: KindContext, node: string, network: string): number {
  const speakers = context
    .nodesWith(KIND_TRAIT.ospf)
    .filter(([name]) => context.interfacesOf(name).some((iface) => iface.network === network));
  const isDirector = (name: string) => context.nodesWith(KIND_TRAIT.director).some(([d]) => d === name);
  const routerThere = speakers.some(([name]) => !isDirector(name));
  return routerThere && isDirector(node) ? 0 : 1;
}

/**
 * The neighbours whose adjacency with this node reaches Full: every one on a multicast network; on
 * a unicast one, those where either side may be DR (two ineligible routers stay 2-Way).
 */
function fullNeighbours(context: KindContext): string[] {
  return ospfNeighbours(context).filter((other) => {
    const shared = context
      .interfacesOf(other)
      .map((iface) => iface.network)
      .filter((network) => context.interfaces.some((iface) => iface.network === network));
    return shared.some(
      (network) =>
        !context.unicastNetworks.has(network) ||
        unicastPriority(context, context.name, network) > 0 ||
        unicastPriority(context, other, network) > 0,
    );
  });
}

/** How an interface on a unicast network speaks OSPF: to whom, and whether it may be DR. */
function unicastOf(context: KindContext, network: string): OspfInterface['unicast'] {
  if (!context.unicastNetworks.has(network)) return undefined;
  const priority = unicastPriority(context, context.name, network);
  // Two that may not be DR never become adjacent: hellos between them would only sit in Attempt.
  const mayAdjoin = (other: string) => priority > 0 || unicastPriority(context, other, network) > 0;
  const neighbors = ospfNeighbours(context)
    .filter(mayAdjoin)
    .flatMap((other) =>
      context
        .interfacesOf(other)
        .filter((iface) => iface.network === network)
        .map((iface) => iface.ip),
    );
  return { priority, neighbors };
}

/** The node's OSPF settings, resolved from the topology; `extraNetworks` adds e.g. a director's VIP/32. */
function ospfSettings(context: KindContext, extraNetworks: string[]): OspfRender {
  const ospf = context.node.ospf ?? {};
  const networks =
    ospf.networks ??
    context.interfaces.map((iface) => formatCidr(parseCidr(`${iface.ip}/${iface.prefixLength}`)));
  return {
    hostname: context.name,
    routerId: ospf['router-id'] ?? context.interfaces[0]?.ip ?? '0.0.0.0',
    area: String(ospf.area ?? 0),
    networks: [...networks, ...extraNetworks.filter((n) => !networks.includes(n))],
    interfaces: context.interfaces.map((iface) => {
      const unicast = unicastOf(context, iface.network);
      return unicast ? { ifname: iface.ifname, unicast } : { ifname: iface.ifname };
    }),
    timers: resolveTimers(ospf.timers ?? context.topology.topology.defaults?.['ospf-timers'], context),
  };
}

function resolveTimers(timers: OspfTimers | undefined, context: KindContext): ResolvedOspfTimers {
  return timers === undefined || timers === 'auto' ? context.tuning.ospfTimers : timers;
}

/** FRR's files, start-up and readiness for a node that speaks OSPF. */
export interface FrrParts {
  files: FileSpec[];
  /** The daemons hold their config, then (when the node has OSPF neighbours) every adjacency is Full. */
  readiness: ReadinessCheck[];
  logs: string[];
}

export function frrParts(context: KindContext, extraNetworks: string[] = []): FrrParts {
  const settings = ospfSettings(context, extraNetworks);
  const neighbours = fullNeighbours(context).length;
  // The user's own frr.conf: ospfd must still load it, but only its `router ospf` can be asked for.
  const own = context.ownConfig('frr');
  const daemons = own === undefined ? frrDaemonConfigs(settings) : ownDaemonConfigs(own);
  return {
    files: [
      { path: '/etc/frr/daemons', content: renderFrrDaemons(), mode: 0o644 },
      { path: '/etc/frr/frr.conf', content: own ?? renderFrrConfig(settings), mode: 0o644 },
      { path: '/etc/frr/vtysh.conf', content: renderVtyshConf(), mode: 0o644 },
      { path: FRR_CONFIG_LOADED_SCRIPT, content: renderFrrConfigLoadedScript(), mode: 0o755 },
    ],
    readiness: [
      ...(daemons.length > 0
        ? [{ type: 'frr-config' as const, node: context.name, daemons, timeoutMs: 60_000 }]
        : []),
      ...(neighbours > 0
        ? [{ type: 'ospf-full' as const, node: context.name, neighbors: neighbours, timeoutMs: 60_000 }]
        : []),
    ],
    logs: [FRR_LOG_PATH, FRRINIT_LOG_PATH],
  };
}

function ownDaemonConfigs(frrConf: string): FrrDaemonConfig[] {
  return /^router ospf\b/m.test(frrConf) ? [{ daemon: 'ospfd', holds: ['router ospf'] }] : [];
}

const FRRINIT_LOG_PATH = '/var/log/frr/frrinit.log';

export const START_FRR: SetupStep = {
  summary: 'start FRR (zebra, ospfd, staticd under watchfrr)',
  commands: [
    'chown -R frr:frr /etc/frr',
    // The daemons log to FRR_LOG_PATH (frr.conf); frrinit's own chatter goes beside it.
    'install -d -o frr -g frr /var/log/frr',
    `/usr/lib/frr/frrinit.sh start >>${FRRINIT_LOG_PATH}`,
    `sh ${FRR_CONFIG_LOADED_SCRIPT} >>${FRRINIT_LOG_PATH} 2>&1`,
  ],
  daemons: ['zebra', 'ospfd', 'staticd', 'watchfrr'],
  // watchfrr restarts a daemon that dies; this is for one that was stopped on purpose.
  restart: [
    `/usr/lib/frr/frrinit.sh restart >>${FRRINIT_LOG_PATH}`,
    `sh ${FRR_CONFIG_LOADED_SCRIPT} >>${FRRINIT_LOG_PATH} 2>&1`,
  ],
};
