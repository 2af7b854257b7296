/**
 * director: an LVS director. Holds the VIP on lo (advertised by OSPF, so the router gets one nexthop
 * per director) or on one of its networks (`vip-on`, a single director that answers ARP for it), and
 * forwards VIP traffic to its real servers by its services' forwarding method (forwarding.ts: DR,
 * NAT) with IPVS (programmed by keepalived or ipvsadm) or, on kernels without IPVS, with the
 * method's nftables stand-in.
 */
import type { TopologyIssue } from '../core/issue.js';
import { KIND_TRAIT } from '../core/kind-traits.js';
import type { DataPlane, ReadinessCheck } from '../core/plan.js';
import type { NodeConfig, ServiceConfig } from '../core/topology.js';
import {
  DEFAULT_FORWARDING_METHOD,
  findForwardingMethod,
  forwardingMethod,
  forwardingMethodNames,
  vipOnLo,
} from './forwarding.js';
import {
  BASE_CAPABILITIES,
  type KindCheckContext,
  type KindContext,
  type NodeKind,
  type SetupStep,
} from './kind.js';
import { renderIpvsadmCommands, renderKeepalivedConfig } from './lvs.js';
import { serviceAddress, type ResolvedService } from './lvs-service.js';
import { FRR_CAPABILITIES, frrParts, START_FRR } from './routing.js';
import { DEFAULT_HTTP_PORT, DEFAULT_UDP_PORT } from './server.js';

const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
const KEEPALIVED_LOG = '/var/log/keepalived.log';
const HEALTH_CHECK_DEFAULTS = { path: '/', status: 200, connectTimeout: 3, delayLoop: 6 };

export const directorKind: NodeKind = {
  name: 'director',
  description:
    'LVS director (DR or NAT): VIP on lo advertised by OSPF, or on a network; IPVS (keepalived|ipvsadm) or nftables',
  keys: ['ospf', 'vip', 'vip-on', 'lvs', 'engine', 'services'],
  capabilities: { ...BASE_CAPABILITIES, ...FRR_CAPABILITIES },
  // SYS_ADMIN is FRR's: a director that runs no FRR does without it.
  capabilitiesFor: (node) =>
    speaksOspf(node) ? { ...BASE_CAPABILITIES, ...FRR_CAPABILITIES } : BASE_CAPABILITIES,
  traits: [KIND_TRAIT.ospf, KIND_TRAIT.frr, KIND_TRAIT.director],
  ownConfigs: ['frr', 'keepalived'],
  // A VIP on lo is reachable only through OSPF; a VIP on a network needs it only when asked for.
  traitWhen: { [KIND_TRAIT.ospf]: speaksOspf, [KIND_TRAIT.frr]: speaksOspf },
  check: checkDirector,
  build(context) {
    const { node, name } = context;
    const vip = node.vip as string;
    const services = resolveServices(context);
    // One method per director: the nftables stand-in renders one ruleset for all its services.
    const method = forwardingMethod(services[0]?.method);
    const { dataPlane, warnings } = chooseDataPlane(name, node, context.facts);
    const vipOn = node['vip-on'] ?? 'lo';
    const vipIface = context.interfaces.find((iface) => iface.network === vipOn);
    // The interface the VIP's traffic arrives on: the VIP's own, or (on lo) the first one.
    const ingress = vipIface ?? context.interfaces[0];
    const setup: SetupStep[] = [
      vipIface
        ? {
            summary: `VIP ${vip}/32 on ${vipIface.ifname} (network ${vipOn}): the director answers ARP for it`,
            commands: [`ip addr add ${vip}/32 dev ${vipIface.ifname}`],
          }
        : vipOnLo(vip),
    ];
    const frr = speaksOspf(node) ? frrParts(context, [`${vip}/32`]) : undefined;
    const files = [...(frr?.files ?? [])];
    const readiness: ReadinessCheck[] = [...(frr?.readiness ?? [])];
    const logs = [...(frr?.logs ?? [])];

    if (dataPlane === 'nftables' && method.nftables) {
      const standIn = method.nftables;
      files.push({
        path: standIn.file,
        content: standIn.render({ ifname: ingress?.ifname ?? 'eth0', mac: ingress?.mac ?? '' }, services),
        mode: 0o644,
      });
      setup.push({ summary: standIn.summary, commands: [`nft -f ${standIn.file}`] });
      const differences = new Set(services.map((s) => standIn.differs(s)).filter((d) => d !== undefined));
      for (const difference of differences) warnings.push(`${name}: ${difference}`);
    } else if ((node.lvs ?? 'keepalived') === 'keepalived') {
      files.push({
        path: KEEPALIVED_CONF,
        content: context.ownConfig('keepalived') ?? renderKeepalivedConfig(name, services),
        mode: 0o644,
      });
      setup.push({
        summary: context.ownConfig('keepalived')
          ? 'keepalived (your own keepalived.conf)'
          : `keepalived (virtual_server, ${healthChecks(services)} health checks)`,
        commands: [
          // Refuse a bad config here, with keepalived's own words, not as a missing IPVS service later.
          `keepalived --config-test -f ${KEEPALIVED_CONF}`,
          // In the foreground of its own session so its log can go to a file (it has no log-file option).
          `setsid --fork keepalived --dont-fork --log-console --log-detail --no-syslog -f ${KEEPALIVED_CONF} </dev/null >>${KEEPALIVED_LOG} 2>&1`,
        ],
        daemons: ['keepalived'],
      });
      logs.push(KEEPALIVED_LOG);
    } else {
      setup.push({
        summary: 'IPVS virtual services via ipvsadm',
        commands: ['ipvsadm -C', ...renderIpvsadmCommands(services)],
      });
    }
    if (dataPlane === 'ipvs') {
      for (const service of services) {
        readiness.push({
          type: 'ipvs-service',
          node: name,
          service: `${service.protocol.toUpperCase()} ${serviceAddress(service)}`,
          realServers: service.realServers.length,
          timeoutMs: ipvsReadyTimeoutMs(service),
        });
      }
    }
    if (frr) setup.push(START_FRR);
    return {
      files,
      setup,
      readiness,
      logs,
      sysctls: { 'net.ipv4.ip_forward': '1', ...method.directorSysctls },
      dataPlane,
      forwarding: method.name,
      warnings,
    };
  },
};

export function chooseDataPlane(
  name: string,
  node: NodeConfig,
  facts: KindContext['facts'],
): { dataPlane: DataPlane; warnings: string[] } {
  const wanted = node.engine ?? 'auto';
  if (wanted === 'nftables') return { dataPlane: 'nftables', warnings: [] };
  if (facts.ipvs) return { dataPlane: 'ipvs', warnings: [] };
  // engine: ipvs without IPVS is rejected by the preflight before anything is created.
  return {
    dataPlane: 'nftables',
    warnings: [
      `${name}: the engine's kernel has no IPVS (${facts.ipvsReason ?? 'ip_vs not available'}); ` +
        'using the nftables stand-in. For real LVS: modprobe ip_vs on the Docker host, or run with --engine sandbox',
    ],
  };
}

/** A director speaks OSPF when asked to, or when its VIP is on lo (else nothing could reach it). */
export function speaksOspf(node: NodeConfig): boolean {
  return node.ospf !== undefined || (node['vip-on'] ?? 'lo') === 'lo';
}

/** Why each of the director's services needs IPVS (its method's stand-in cannot forward it as declared). */
export function servicesNeedingIpvs(node: NodeConfig): string[] {
  return (node.services ?? []).flatMap((service) => {
    const standIn = findForwardingMethod(service.method)?.nftables;
    const why = standIn
      ? standIn.cannot({ scheduler: service.scheduler ?? 'rr', persistence: service.persistence ?? 0 })
      : `forwarding method "${service.method}" has no nftables stand-in`;
    return why ? [`${(service.protocol ?? 'tcp').toUpperCase()} ${node.vip}:${service.port}: ${why}`] : [];
  });
}

/** The keepalived checkers the rendered config uses: HTTP_GET for TCP services, UDP_CHECK for UDP. */
function healthChecks(services: ResolvedService[]): string {
  const protocols = new Set(services.map((s) => s.protocol));
  return [protocols.has('tcp') && 'HTTP_GET', protocols.has('udp') && 'UDP_CHECK']
    .filter(Boolean)
    .join(' and ');
}

/** Where a real server listens for a service of `protocol`: its nginx HTTP port, or its UDP responder's. */
function listeningPort(node: NodeConfig | undefined, protocol: 'tcp' | 'udp'): number {
  return protocol === 'udp' ? (node?.udp?.port ?? DEFAULT_UDP_PORT) : (node?.http?.port ?? DEFAULT_HTTP_PORT);
}

/** Where a real server listens for `service`: the service's port, or its own when the method remaps ports (NAT). */
export function realServerPort(service: ServiceConfig, realServer: NodeConfig | undefined): number {
  return forwardingMethod(service.method).remapsPorts
    ? listeningPort(realServer, service.protocol ?? 'tcp')
    : service.port;
}

function resolveServices(context: KindContext): ResolvedService[] {
  const directorNetworks = new Set(context.interfaces.map((iface) => iface.network));
  const nodes = context.topology.topology.nodes;
  return (context.node.services ?? []).map((service) => ({
    vip: context.node.vip as string,
    port: service.port,
    protocol: service.protocol ?? 'tcp',
    scheduler: service.scheduler ?? 'rr',
    method: service.method ?? 'dr',
    persistence: service.persistence ?? 0,
    healthCheck: {
      path: service['health-check']?.['http-get'] ?? HEALTH_CHECK_DEFAULTS.path,
      status: service['health-check']?.status ?? HEALTH_CHECK_DEFAULTS.status,
      connectTimeout: service['health-check']?.['connect-timeout'] ?? HEALTH_CHECK_DEFAULTS.connectTimeout,
      delayLoop: service['health-check']?.['delay-loop'] ?? HEALTH_CHECK_DEFAULTS.delayLoop,
    },
    realServers: service['real-servers'].map((rs) => {
      // On a shared network when there is one (DR and NAT need it); else routed to (TUN).
      const candidates = context.interfacesOf(rs.node);
      const iface = candidates.find((candidate) => directorNetworks.has(candidate.network)) ?? candidates[0];
      const port = realServerPort(service, nodes[rs.node]);
      return { node: rs.node, ip: iface?.ip ?? '', mac: iface?.mac ?? '', port, weight: rs.weight ?? 1 };
    }),
  }));
}

/**
 * keepalived lists a real server once its first health check passes (`alpha`): a server configured
 * after keepalived starts fails one round (connect timeout, one retry) and passes the next, a delay
 * loop later. Allow a few such rounds on a slow machine.
 */
function ipvsReadyTimeoutMs(service: ResolvedService): number {
  const { delayLoop, connectTimeout } = service.healthCheck;
  return Math.max(30_000, 4 * (delayLoop + 2 * connectTimeout + 1) * 1000);
}

function checkDirector({ name, node, topology, kindHas }: KindCheckContext): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const at = (...rest: (string | number)[]) => ['topology', 'nodes', name, ...rest];
  if (!node.vip) {
    issues.push({
      path: at(),
      message: `director "${name}" has no vip`,
      fix: 'add `vip: <address>` (e.g. 172.16.253.100)',
    });
  }
  if (!node.services) {
    issues.push({
      path: at(),
      message: `director "${name}" has no services`,
      fix: 'add `services:` with a port and real-servers',
    });
  }
  const vipOn = node['vip-on'];
  if (vipOn !== undefined && vipOn !== 'lo' && !Object.hasOwn(node.networks ?? {}, vipOn)) {
    issues.push({
      path: at('vip-on'),
      message: `director "${name}" holds its VIP on "${vipOn}", which is not one of its networks`,
      fix: `use lo or one of: ${Object.keys(node.networks ?? {}).join(', ')}`,
    });
  }
  if (node.config?.keepalived !== undefined && (node.lvs ?? 'keepalived') !== 'keepalived') {
    issues.push({
      path: at('config', 'keepalived'),
      message: `director "${name}" brings a keepalived.conf but programs IPVS with ${node.lvs}`,
      fix: 'set lvs: keepalived, or drop config.keepalived',
    });
  }
  if (node.config?.frr !== undefined && !speaksOspf(node)) {
    issues.push({
      path: at('config', 'frr'),
      message: `director "${name}" brings an frr.conf but runs no FRR (its VIP is on ${node['vip-on']} and it has no ospf:)`,
      fix: 'add ospf: to the director, or drop config.frr',
    });
  }
  const nodes = topology.topology.nodes;
  const methods = new Set(
    (node.services ?? []).map((service) => service.method ?? DEFAULT_FORWARDING_METHOD),
  );
  if (methods.size > 1) {
    issues.push({
      path: at('services'),
      message: `director "${name}" mixes forwarding methods (${[...methods].join(', ')})`,
      fix: 'give each director one method; use a second director for the other',
    });
  }
  (node.services ?? []).forEach((service, s) => {
    const method = findForwardingMethod(service.method);
    if (!method) {
      issues.push({
        path: at('services', s, 'method'),
        message: `forwarding method "${service.method}" is not implemented yet`,
        fix: `use method: ${forwardingMethodNames().join(' or ')}`,
      });
    } else if (node.engine === 'nftables' && !method.dataPlanes.includes('nftables')) {
      issues.push({
        path: at('services', s, 'method'),
        message: `forwarding method "${method.name}" needs IPVS; the nftables stand-in cannot do it`,
        fix: 'set engine: auto or ipvs on the director',
      });
    } else if (node.engine === 'nftables') {
      const cannot = method.nftables?.cannot({
        scheduler: service.scheduler ?? 'rr',
        persistence: service.persistence ?? 0,
      });
      if (cannot) {
        issues.push({
          path: at('services', s),
          message: `engine: nftables cannot forward this service as declared: ${cannot}`,
          fix: 'set engine: auto or ipvs on the director (with --engine sandbox where the host has no IPVS)',
        });
      }
    }
    // Weight 0 quiesces a real server in IPVS, and the nftables stand-in (which `auto` may pick) cannot
    // even render an empty choice; a service with no weight at all forwards nothing either way.
    if (service['real-servers'].every((rs) => (rs.weight ?? 1) === 0)) {
      issues.push({
        path: at('services', s, 'real-servers'),
        message: 'every real server has weight 0, so the service would forward no traffic',
        fix: 'give at least one real server a weight above 0',
      });
    }
    service['real-servers'].forEach((rs, r) => {
      const where = at('services', s, 'real-servers', r, 'node');
      const target = Object.hasOwn(nodes, rs.node) ? nodes[rs.node] : undefined;
      if (!target) {
        const servers = Object.keys(nodes).filter((n) =>
          kindHas(nodes[n]?.kind ?? '', KIND_TRAIT.realServer),
        );
        issues.push({
          path: where,
          message: `real server "${rs.node}" is not a node of this topology`,
          fix: servers.length > 0 ? `use one of: ${servers.join(', ')}` : 'add a node of kind server',
        });
        return;
      }
      if (!kindHas(target.kind, KIND_TRAIT.realServer)) {
        issues.push({
          path: where,
          message: `real server "${rs.node}" is a ${target.kind}, not a server`,
          fix: 'point real-servers at nodes of kind server',
        });
        return;
      }
      if (service.protocol === 'udp' && target.udp === undefined) {
        issues.push({
          path: where,
          message: `real server "${rs.node}" of a UDP service has no UDP responder`,
          fix: `add \`udp: { port: ${method?.remapsPorts ? DEFAULT_UDP_PORT : service.port} }\` to ${rs.node}`,
        });
        return;
      }
      issues.push(
        ...(method?.checkRealServer({
          director: name,
          directorNode: node,
          servicePort: service.port,
          realServer: rs.node,
          realServerNode: target,
          realServerPort: listeningPort(target, service.protocol ?? 'tcp'),
          realServerPortKey: service.protocol === 'udp' ? 'udp.port' : 'http.port',
          directorsOfRealServer: directorsServing(topology, rs.node, method.name, kindHas),
          where,
        }) ?? []),
      );
    });
  });
  return issues;
}

/** Directors with a service of `method` that names `realServer`, in file order. */
function directorsServing(
  topology: KindCheckContext['topology'],
  realServer: string,
  method: string,
  kindHas: KindCheckContext['kindHas'],
): string[] {
  return Object.entries(topology.topology.nodes)
    .filter(([, other]) => kindHas(other.kind, KIND_TRAIT.director))
    .filter(([, other]) =>
      (other.services ?? []).some(
        (service) =>
          (service.method ?? DEFAULT_FORWARDING_METHOD) === method &&
          service['real-servers'].some((rs) => rs.node === realServer),
      ),
    )
    .map(([name]) => name);
}
