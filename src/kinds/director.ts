/**
 * director: an LVS director. Holds the VIP on lo (advertised by OSPF, so the router gets one nexthop
 * per director) and forwards VIP traffic to its real servers by its services' forwarding method
 * (forwarding.ts; DR today) with IPVS (programmed by keepalived or ipvsadm) or, on kernels without
 * IPVS, with the stateless nftables stand-in.
 */
import type { TopologyIssue } from '../core/issue.js';
import { KIND_TRAIT } from '../core/kind-traits.js';
import type { DataPlane, ReadinessCheck } from '../core/plan.js';
import type { NodeConfig } from '../core/topology.js';
import { findForwardingMethod, forwardingMethod, forwardingMethodNames, vipOnLo } from './forwarding.js';
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
import { DEFAULT_HTTP_PORT } from './server.js';

const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
const KEEPALIVED_LOG = '/var/log/keepalived.log';
const HEALTH_CHECK_DEFAULTS = { path: '/', status: 200, connectTimeout: 3, delayLoop: 6 };

export const directorKind: NodeKind = {
  name: 'director',
  description: 'LVS director, DR mode: VIP on lo advertised by OSPF; IPVS (keepalived|ipvsadm) or nftables',
  keys: ['ospf', 'vip', 'lvs', 'engine', 'services'],
  capabilities: { ...BASE_CAPABILITIES, ...FRR_CAPABILITIES },
  traits: [KIND_TRAIT.ospf, KIND_TRAIT.frr, KIND_TRAIT.director],
  check: checkDirector,
  build(context) {
    const { node, name } = context;
    const vip = node.vip as string;
    const services = resolveServices(context);
    // One method per director: the nftables stand-in renders one ruleset for all its services.
    const method = forwardingMethod(services[0]?.method);
    const { dataPlane, warnings } = chooseDataPlane(name, node, context.facts);
    const lan = context.interfaces[0];
    const setup: SetupStep[] = [vipOnLo(vip)];
    const frr = frrParts(context, [`${vip}/32`]);
    const files = frr.files;
    const readiness: ReadinessCheck[] = [...frr.readiness];
    const logs = [...frr.logs];

    if (dataPlane === 'nftables' && method.renderNftables) {
      files.push({
        path: '/etc/lblab/dr.nft',
        content: method.renderNftables(lan?.ifname ?? 'eth0', lan?.mac ?? '', services),
        mode: 0o644,
      });
      setup.push({
        summary: 'nftables DR forwarding (netdev ingress, 5-tuple hash)',
        commands: ['nft -f /etc/lblab/dr.nft'],
      });
      if (services.some((s) => s.scheduler !== 'sh')) {
        warnings.push(
          `${name}: nftables picks real servers by a 5-tuple hash; scheduler "rr" etc. need IPVS`,
        );
      }
    } else if ((node.lvs ?? 'keepalived') === 'keepalived') {
      files.push({
        path: KEEPALIVED_CONF,
        content: renderKeepalivedConfig(name, services),
        mode: 0o644,
      });
      setup.push({
        summary: 'keepalived (virtual_server, HTTP_GET health checks)',
        commands: [
          // Refuse a bad config here, with keepalived's own words, not as a missing IPVS service later.
          `keepalived --config-test -f ${KEEPALIVED_CONF}`,
          // In the foreground of its own session so its log can go to a file (it has no log-file option).
          `setsid --fork keepalived --dont-fork --log-console --log-detail --no-syslog -f ${KEEPALIVED_CONF} </dev/null >>${KEEPALIVED_LOG} 2>&1`,
        ],
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
          timeoutMs: 30_000,
        });
      }
    }
    setup.push(START_FRR);
    return {
      files,
      setup,
      readiness,
      logs,
      sysctls: { 'net.ipv4.ip_forward': '1', ...method.directorSysctls },
      dataPlane,
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
        'using the nftables DR stand-in. For real LVS: modprobe ip_vs on the Docker host, or run with --engine sandbox',
    ],
  };
}

function resolveServices(context: KindContext): ResolvedService[] {
  const directorNetworks = new Set(context.interfaces.map((iface) => iface.network));
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
      const iface = context
        .interfacesOf(rs.node)
        .find((candidate) => directorNetworks.has(candidate.network));
      return { node: rs.node, ip: iface?.ip ?? '', mac: iface?.mac ?? '', weight: rs.weight ?? 1 };
    }),
  }));
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
  const nodes = topology.topology.nodes;
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
      issues.push(
        ...(method?.checkRealServer({
          director: name,
          directorNode: node,
          servicePort: service.port,
          realServer: rs.node,
          realServerNode: target,
          realServerPort: target.http?.port ?? DEFAULT_HTTP_PORT,
          where,
        }) ?? []),
      );
    });
  });
  return issues;
}
