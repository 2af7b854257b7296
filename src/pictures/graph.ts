/**
 * The picture of a lab as data: networks, nodes with their addresses, VIPs and who holds them, each
 * director's services with its real servers, OSPF adjacencies and (for a running lab) node states and
 * the routers' ECMP nexthops. Pure and deterministic: everything is sorted, so the same topology
 * always gives the same graph, and the renderers (dot.ts, mermaid.ts, svg.ts) the same bytes.
 */
import { KIND_TRAIT } from '../core/kind-traits.js';
import type { Plan, PlannedInterface } from '../core/plan.js';
import type { NodeConfig, TopologyConfig } from '../core/topology.js';
import { realServerPort } from '../kinds/director.js';
import { DEFAULT_FORWARDING_METHOD } from '../kinds/forwarding.js';
import { kindHas, nodeHas } from '../kinds/registry.js';

/** A node's container as the runtime sees it: running, created or exited (stopped), or not there. */
export type LiveNodeState = 'running' | 'stopped' | 'missing';

/** What is observed in a running lab (src/lab/lab-picture.ts gathers it). */
export interface LiveState {
  nodes: Record<string, LiveNodeState>;
  /** A router's route to a VIP right now: one gateway per ECMP nexthop (none: no route). */
  nexthops?: { router: string; vip: string; via: string[] }[];
}

/**
 * How a node is drawn, from its kind's traits: an LVS director, an OSPF router, a real server, or a
 * plain host. (Its kind name is kept beside it, for the `kind-<kind>` class.)
 */
export type NodeRole = 'director' | 'router' | 'server' | 'host';

export interface GraphAddress {
  network: string;
  ifname: string;
  ip: string;
  prefixLength: number;
}

export interface GraphNode {
  name: string;
  kind: string;
  role: NodeRole;
  /** Sorted by network name. */
  addresses: GraphAddress[];
  /** The VIP the node holds, if any. */
  vip?: string;
  /** Directors: where the VIP sits (`lo`, advertised by OSPF, or one of its networks). */
  vipOn?: string;
  /** The node runs OSPF (routers, and directors with `ospf:` or the VIP on lo). */
  ospf: boolean;
  /** With live state only. */
  state?: LiveNodeState;
}

export interface GraphNetwork {
  name: string;
  subnet: string;
  /** The nodes on it, sorted. */
  nodes: string[];
}

export interface GraphVip {
  address: string;
  /** Every node that holds it (directors and DR/TUN real servers), sorted. */
  holders: string[];
  /** The directors that serve it, sorted. */
  directors: string[];
}

export interface GraphRealServer {
  node: string;
  /** The real server's address the director forwards to (on a shared network when there is one). */
  ip: string;
  /** Where it listens: the service's port, or its own when the method remaps ports (NAT). */
  port: number;
  weight: number;
}

export interface GraphService {
  director: string;
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  method: string;
  scheduler: string;
  /** Sorted by node name. */
  realServers: GraphRealServer[];
}

/** Two OSPF speakers on one network (one adjacency per shared network); `a` < `b`. */
export interface GraphOspfAdjacency {
  a: string;
  b: string;
  network: string;
}

/** One of a router's current nexthops to a VIP (live); `node` is the lab node that has address `via`. */
export interface GraphNexthop {
  router: string;
  vip: string;
  via: string;
  node?: string;
}

export interface LabGraph {
  lab: string;
  description?: string;
  /** Sorted by name. */
  networks: GraphNetwork[];
  /** Sorted by name. */
  nodes: GraphNode[];
  /** Sorted by address. */
  vips: GraphVip[];
  /** Sorted by director, VIP, port, protocol. */
  services: GraphService[];
  /** Sorted by a, b, network. */
  ospf: GraphOspfAdjacency[];
  /** Present with live state: every router's route to each VIP it was asked about. */
  live?: {
    /** Routers asked, with how many nexthops each VIP has (0: no route). */
    routes: { router: string; vip: string; nexthops: number }[];
    /** Sorted by router, VIP, via. */
    nexthops: GraphNexthop[];
  };
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Compares IPv4 addresses numerically (anything else as text). */
function byAddress(a: string, b: string): number {
  const numeric = (ip: string) => ip.split('.').map(Number);
  const [x, y] = [numeric(a), numeric(b)];
  if (x.length === 4 && y.length === 4 && [...x, ...y].every(Number.isInteger)) {
    for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  }
  return byString(a, b);
}

/** How a node of this kind is drawn, asked of its traits. */
export function roleOf(kind: string): NodeRole {
  if (kindHas(kind, KIND_TRAIT.director)) return 'director';
  if (kindHas(kind, KIND_TRAIT.ospf)) return 'router';
  if (kindHas(kind, KIND_TRAIT.realServer)) return 'server';
  return 'host';
}

export function buildGraph(topology: TopologyConfig, plan: Plan, live?: LiveState): LabGraph {
  const configs = topology.topology.nodes;
  const interfacesOf = new Map(
    plan.nodes.map((node) => [node.name, node.interfaces] as [string, PlannedInterface[]]),
  );
  const names = Object.keys(configs).sort(byString);
  const nodeConfig = (name: string): NodeConfig => configs[name] as NodeConfig;

  const nodes: GraphNode[] = names.map((name) => {
    const config = nodeConfig(name);
    const addresses = (interfacesOf.get(name) ?? [])
      .map((iface) => ({
        network: iface.network,
        ifname: iface.ifname,
        ip: iface.ip,
        prefixLength: iface.prefixLength,
      }))
      .sort((a, b) => byString(a.network, b.network));
    const director = kindHas(config.kind, KIND_TRAIT.director);
    return {
      name,
      kind: config.kind,
      role: roleOf(config.kind),
      addresses,
      ...(config.vip ? { vip: config.vip } : {}),
      ...(director && config.vip ? { vipOn: config['vip-on'] ?? 'lo' } : {}),
      ospf: nodeHas(config, KIND_TRAIT.ospf),
      ...(live ? { state: live.nodes[name] ?? 'missing' } : {}),
    };
  });

  const networks: GraphNetwork[] = [...plan.networks]
    .sort((a, b) => byString(a.name, b.name))
    .map((network) => ({
      name: network.name,
      subnet: network.subnet,
      nodes: nodes
        .filter((node) => node.addresses.some((address) => address.network === network.name))
        .map((node) => node.name),
    }));

  const services: GraphService[] = names
    .filter((name) => kindHas(nodeConfig(name).kind, KIND_TRAIT.director))
    .flatMap((director) => {
      const config = nodeConfig(director);
      const mine = new Set((interfacesOf.get(director) ?? []).map((iface) => iface.network));
      return (config.services ?? []).map((service): GraphService => ({
        director,
        vip: config.vip ?? '',
        port: service.port,
        protocol: service.protocol ?? 'tcp',
        method: service.method ?? DEFAULT_FORWARDING_METHOD,
        scheduler: service.scheduler ?? 'rr',
        realServers: service['real-servers']
          .map((rs) => {
            // As the director resolves it: on a shared network when there is one (DR, NAT), else routed to (TUN).
            const candidates = interfacesOf.get(rs.node) ?? [];
            const iface = candidates.find((c) => mine.has(c.network)) ?? candidates[0];
            return {
              node: rs.node,
              ip: iface?.ip ?? '',
              port: realServerPort(service, configs[rs.node]),
              weight: rs.weight ?? 1,
            };
          })
          .sort((a, b) => byString(a.node, b.node)),
      }));
    })
    .sort(
      (a, b) =>
        byString(a.director, b.director) ||
        byAddress(a.vip, b.vip) ||
        a.port - b.port ||
        byString(a.protocol, b.protocol),
    );

  const vipAddresses = [...new Set(nodes.flatMap((node) => (node.vip ? [node.vip] : [])))].sort(byAddress);
  const vips: GraphVip[] = vipAddresses.map((address) => ({
    address,
    holders: nodes.filter((node) => node.vip === address).map((node) => node.name),
    directors: nodes
      .filter((node) => node.vip === address && node.role === 'director')
      .map((node) => node.name),
  }));

  const speakers = nodes.filter((node) => node.ospf);
  const ospf: GraphOspfAdjacency[] = [];
  for (const [i, a] of speakers.entries()) {
    for (const b of speakers.slice(i + 1)) {
      const shared = a.addresses
        .map((address) => address.network)
        .filter((network) => b.addresses.some((address) => address.network === network));
      for (const network of shared) ospf.push({ a: a.name, b: b.name, network });
    }
  }

  const graph: LabGraph = {
    lab: plan.lab,
    ...(topology.description ? { description: topology.description } : {}),
    networks,
    nodes,
    vips,
    services,
    ospf,
  };
  if (!live) return graph;

  const owner = new Map<string, string>();
  for (const node of nodes) for (const address of node.addresses) owner.set(address.ip, node.name);
  const routes = [...(live.nexthops ?? [])].sort(
    (a, b) => byString(a.router, b.router) || byAddress(a.vip, b.vip),
  );
  return {
    ...graph,
    live: {
      routes: routes.map(({ router, vip, via }) => ({ router, vip, nexthops: via.length })),
      nexthops: routes.flatMap(({ router, vip, via }) =>
        [...new Set(via)].sort(byAddress).map((gateway) => {
          const node = owner.get(gateway);
          return { router, vip, via: gateway, ...(node ? { node } : {}) };
        }),
      ),
    },
  };
}

/** The SVG element id of a node (Graphviz `id`), e.g. `node-lb1`. */
export function graphNodeId(name: string): string {
  return `node-${name}`;
}

/** The SVG element id of a network, e.g. `net-lan`. */
export function graphNetworkId(name: string): string {
  return `net-${name}`;
}

/** The SVG element id of a VIP, e.g. `vip-172.16.253.100`. */
export function graphVipId(address: string): string {
  return `vip-${address}`;
}

/** What an edge of the picture stands for; its SVG class is `<type>-edge`. */
export type GraphEdgeType = 'link' | 'vip' | 'lvs' | 'ospf' | 'ecmp';

/**
 * The SVG element id of an edge: its type, then its parts joined by `__` (names never contain `_`),
 * e.g. `lvs-lb1__8080-tcp__server1`, `ospf-lb1__lb2__lan`, `link-router__lan`.
 */
export function graphEdgeId(type: GraphEdgeType, ...parts: (string | number)[]): string {
  return `${type}-${parts.join('__')}`;
}

/** The SVG class of an edge type, e.g. `lvs-edge`. */
export function graphEdgeClass(type: GraphEdgeType): string {
  return `${type}-edge`;
}

/** One line for a service edge: `8080/tcp dr rr w1`, with the real server's port when remapped (`80/tcp→8080`). */
export function serviceEdgeLabel(service: GraphService, realServer: GraphRealServer): string {
  const port =
    realServer.port === service.port
      ? `${service.port}/${service.protocol}`
      : `${service.port}/${service.protocol}→${realServer.port}`;
  return `${port} ${service.method} ${service.scheduler} w${realServer.weight}`;
}

/** The edges of the picture, in a fixed order, shared by every renderer. */
export interface GraphEdge {
  type: GraphEdgeType;
  id: string;
  /** Element ids of both ends (graphNodeId, graphNetworkId, graphVipId). */
  from: string;
  to: string;
  label?: string;
}

/** Top to bottom: clients and routers, then directors, then real servers; a network sits with its highest node. */
const TIER: Record<NodeRole, number> = { host: 0, router: 0, director: 1, server: 2 };

/**
 * Every edge of the picture, in a fixed order. A link runs from a node down to its network or from the
 * network down to the node, whichever keeps the layout's tiers (links are drawn without arrows).
 */
export function graphEdges(graph: LabGraph): GraphEdge[] {
  const edges: GraphEdge[] = [];
  const tierOf = new Map(graph.nodes.map((node) => [node.name, TIER[node.role]]));
  const networkTier = new Map(
    graph.networks.map((network) => [
      network.name,
      Math.min(...network.nodes.map((name) => tierOf.get(name) ?? 0)),
    ]),
  );
  for (const node of graph.nodes) {
    for (const address of node.addresses) {
      const [nodeId, networkId] = [graphNodeId(node.name), graphNetworkId(address.network)];
      const down = TIER[node.role] <= (networkTier.get(address.network) ?? 0);
      edges.push({
        type: 'link',
        id: graphEdgeId('link', node.name, address.network),
        from: down ? nodeId : networkId,
        to: down ? networkId : nodeId,
      });
    }
  }
  for (const vip of graph.vips) {
    for (const holder of vip.holders) {
      edges.push({
        type: 'vip',
        id: graphEdgeId('vip', vip.address, holder),
        from: graphVipId(vip.address),
        to: graphNodeId(holder),
      });
    }
  }
  for (const service of graph.services) {
    for (const rs of service.realServers) {
      edges.push({
        type: 'lvs',
        id: graphEdgeId('lvs', service.director, `${service.port}-${service.protocol}`, rs.node),
        from: graphNodeId(service.director),
        to: graphNodeId(rs.node),
        label: serviceEdgeLabel(service, rs),
      });
    }
  }
  for (const adjacency of graph.ospf) {
    edges.push({
      type: 'ospf',
      id: graphEdgeId('ospf', adjacency.a, adjacency.b, adjacency.network),
      from: graphNodeId(adjacency.a),
      to: graphNodeId(adjacency.b),
    });
  }
  for (const hop of graph.live?.nexthops ?? []) {
    if (!hop.node) continue;
    edges.push({
      type: 'ecmp',
      id: graphEdgeId('ecmp', hop.router, hop.vip, hop.node),
      from: graphNodeId(hop.router),
      to: graphNodeId(hop.node),
      label: `nexthop ${hop.via}`,
    });
  }
  return edges;
}

/** A node's label lines: name, kind, one line per address, the VIP, and (live) its state and routes. */
export function nodeLabelLines(graph: LabGraph, node: GraphNode): string[] {
  const lines = [node.name, `(${node.kind})`];
  for (const address of node.addresses)
    lines.push(`${address.network}: ${address.ip}/${address.prefixLength} ${address.ifname}`);
  if (node.vip) lines.push(`VIP ${node.vip}${node.vipOn ? ` on ${node.vipOn}` : ''}`);
  if (node.ospf) lines.push('OSPF');
  if (node.state) lines.push(`state: ${node.state}`);
  for (const route of graph.live?.routes ?? []) {
    if (route.router !== node.name) continue;
    lines.push(`route ${route.vip}: ${route.nexthops} nexthop${route.nexthops === 1 ? '' : 's'}`);
  }
  return lines;
}

export function networkLabelLines(network: GraphNetwork): string[] {
  return [network.name, network.subnet];
}

export function vipLabelLines(vip: GraphVip): string[] {
  return ['VIP', vip.address];
}
