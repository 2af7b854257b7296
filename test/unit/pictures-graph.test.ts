/**
 * `lblab graph`: the lab graph built from a topology (every node, network, VIP holder, service edge
 * and OSPF adjacency), live state on top, and its pictures: DOT, Mermaid and SVG as file snapshots
 * (reviewed by hand), byte-identical on every run, with the ids and classes a page or test looks for.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import type { Plan } from '../../src/core/plan.js';
import type { ContainerSpec } from '../../src/core/runtime.js';
import type { TopologyConfig } from '../../src/core/topology.js';
import { gatherLiveState, routesToAsk } from '../../src/lab/lab-picture.js';
import { renderDot } from '../../src/pictures/dot.js';
import {
  buildGraph,
  graphEdgeId,
  graphEdges,
  graphNetworkId,
  graphNodeId,
  graphVipId,
  type LabGraph,
  type LiveState,
} from '../../src/pictures/graph.js';
import { mermaidId, renderMermaid } from '../../src/pictures/mermaid.js';
import { graphFormatFor, planForPicture, renderGraph } from '../../src/pictures/render-graph.js';
import { renderSvg, tidySvg } from '../../src/pictures/svg.js';
import { openTopology, type OpenedTopology } from '../../src/topology/open.js';
import { fakeEngine, FakeRuntime, ok } from '../support/fake-runtime.js';

const SEED = 'topologies/ecmp-lvs-dr.yml';
const NAT = 'topologies/lvs-nat.yml';
const TUN = 'topologies/lvs-tun.yml';

interface Lab {
  topology: OpenedTopology;
  plan: Plan;
  graph: LabGraph;
}

async function lab(file: string, live?: LiveState): Promise<Lab> {
  const topology = await openTopology(file);
  const plan = planForPicture(topology);
  return { topology, plan, graph: buildGraph(topology.config, plan, live) };
}

/** The same topology with its nodes declared in the opposite order. */
function reversedNodes(config: TopologyConfig): TopologyConfig {
  const nodes = Object.fromEntries(Object.entries(config.topology.nodes).reverse());
  return { ...config, topology: { ...config.topology, nodes } };
}

const SEED_LIVE: LiveState = {
  nodes: { router: 'running', lb1: 'running', lb2: 'stopped', server1: 'running' },
  nexthops: [{ router: 'router', vip: '172.16.253.100', via: ['172.16.253.131', '172.16.253.129'] }],
};

describe('the graph of the seed lab (ECMP + LVS-DR)', () => {
  let seed: Lab;
  beforeAll(async () => {
    seed = await lab(SEED);
  });

  it('has every node with its kind, role and addresses, sorted by name', () => {
    const { graph } = seed;
    expect(graph.lab).toBe('ecmp-lvs-dr');
    expect(graph.nodes.map((n) => [n.name, n.kind, n.role])).toEqual([
      ['lb1', 'director', 'director'],
      ['lb2', 'director', 'director'],
      ['router', 'router', 'router'],
      ['server1', 'server', 'server'],
      ['server2', 'server', 'server'],
    ]);
    expect(graph.nodes.find((n) => n.name === 'router')?.addresses).toEqual([
      { network: 'lan', ifname: 'eth0', ip: '172.16.253.135', prefixLength: 24 },
    ]);
    expect(graph.nodes.every((n) => n.state === undefined)).toBe(true);
    expect(graph.live).toBeUndefined();
  });

  it('has the network with its subnet and nodes', () => {
    expect(seed.graph.networks).toEqual([
      { name: 'lan', subnet: '172.16.253.0/24', nodes: ['lb1', 'lb2', 'router', 'server1', 'server2'] },
    ]);
  });

  it('has the VIP, held by both directors (on lo) and both DR real servers', () => {
    expect(seed.graph.vips).toEqual([
      {
        address: '172.16.253.100',
        holders: ['lb1', 'lb2', 'server1', 'server2'],
        directors: ['lb1', 'lb2'],
      },
    ]);
    expect(seed.graph.nodes.filter((n) => n.vipOn).map((n) => [n.name, n.vipOn])).toEqual([
      ['lb1', 'lo'],
      ['lb2', 'lo'],
    ]);
  });

  it("has each director's service with its real server, method, scheduler and weight", () => {
    expect(seed.graph.services).toEqual([
      {
        director: 'lb1',
        vip: '172.16.253.100',
        port: 8080,
        protocol: 'tcp',
        method: 'dr',
        scheduler: 'rr',
        realServers: [{ node: 'server1', ip: '172.16.253.130', port: 8080, weight: 1 }],
      },
      {
        director: 'lb2',
        vip: '172.16.253.100',
        port: 8080,
        protocol: 'tcp',
        method: 'dr',
        scheduler: 'rr',
        realServers: [{ node: 'server2', ip: '172.16.253.134', port: 8080, weight: 1 }],
      },
    ]);
  });

  it('has an OSPF adjacency between every pair of speakers on the LAN, and none to the servers', () => {
    expect(seed.graph.nodes.filter((n) => n.ospf).map((n) => n.name)).toEqual(['lb1', 'lb2', 'router']);
    expect(seed.graph.ospf).toEqual([
      { a: 'lb1', b: 'lb2', network: 'lan' },
      { a: 'lb1', b: 'router', network: 'lan' },
      { a: 'lb2', b: 'router', network: 'lan' },
    ]);
  });

  it('does not depend on the order the file declares its nodes in', () => {
    const reversed = buildGraph(reversedNodes(seed.topology.config), seed.plan);
    expect(reversed).toEqual(seed.graph);
    expect(renderDot(reversed)).toBe(renderDot(seed.graph));
  });

  it('takes the lab name of `--name`', () => {
    const plan = planForPicture(seed.topology, 'copy2');
    expect(buildGraph(seed.topology.config, plan).lab).toBe('copy2');
  });
});

describe('the graph of an LVS-NAT lab', () => {
  let nat: LabGraph;
  beforeAll(async () => {
    nat = (await lab(NAT)).graph;
  });

  it('has both networks and every node with its addresses on each', () => {
    expect(nat.networks.map((n) => [n.name, n.subnet, n.nodes])).toEqual([
      ['clients', '10.77.1.0/24', ['client', 'lb']],
      ['servers', '10.77.2.0/24', ['lb', 'web1', 'web2']],
    ]);
    expect(nat.nodes.map((n) => [n.name, n.kind, n.role])).toEqual([
      ['client', 'linux', 'host'],
      ['lb', 'director', 'director'],
      ['web1', 'server', 'server'],
      ['web2', 'server', 'server'],
    ]);
    expect(
      nat.nodes.find((n) => n.name === 'lb')?.addresses.map((a) => `${a.network} ${a.ifname} ${a.ip}`),
    ).toEqual(['clients eth0 10.77.1.129', 'servers eth1 10.77.2.129']);
  });

  it('has the VIP on the director alone, on its client network', () => {
    expect(nat.vips).toEqual([{ address: '10.77.1.100', holders: ['lb'], directors: ['lb'] }]);
    expect(nat.nodes.find((n) => n.name === 'lb')?.vipOn).toBe('clients');
  });

  it('has both services, with the real servers’ remapped ports', () => {
    expect(
      nat.services.map((s) => [
        `${s.port}/${s.protocol} ${s.method} ${s.scheduler}`,
        s.realServers.map((rs) => `${rs.node} ${rs.ip}:${rs.port} w${rs.weight}`),
      ]),
    ).toEqual([
      ['53/udp nat rr', ['web1 10.77.2.131:8053 w1', 'web2 10.77.2.132:8053 w1']],
      ['80/tcp nat rr', ['web1 10.77.2.131:8080 w1', 'web2 10.77.2.132:8080 w1']],
    ]);
    const labels = graphEdges(nat)
      .filter((e) => e.type === 'lvs')
      .map((e) => e.label);
    expect(labels).toContain('80/tcp→8080 nat rr w1');
  });

  it('has no OSPF: the director holds its VIP on a network and has no ospf:', () => {
    expect(nat.nodes.some((n) => n.ospf)).toBe(false);
    expect(nat.ospf).toEqual([]);
  });
});

describe('the graph of an LVS-TUN lab', () => {
  let tun: LabGraph;
  beforeAll(async () => {
    tun = (await lab(TUN)).graph;
  });

  it('has the tunnel service to real servers on another subnet, and every VIP holder', () => {
    expect(tun.services).toEqual([
      {
        director: 'lb',
        vip: '10.80.1.100',
        port: 8080,
        protocol: 'tcp',
        method: 'tun',
        scheduler: 'rr',
        realServers: [
          { node: 'web1', ip: '10.80.2.131', port: 8080, weight: 1 },
          { node: 'web2', ip: '10.80.2.132', port: 8080, weight: 1 },
        ],
      },
    ]);
    expect(tun.vips).toEqual([
      { address: '10.80.1.100', holders: ['lb', 'web1', 'web2'], directors: ['lb'] },
    ]);
  });

  it('draws r2 (kind linux, two networks) as a host on both', () => {
    const r2 = tun.nodes.find((n) => n.name === 'r2');
    expect([r2?.kind, r2?.role, r2?.ospf]).toEqual(['linux', 'host', false]);
    expect(r2?.addresses.map((a) => a.network)).toEqual(['back', 'front']);
    expect(tun.networks.map((n) => n.name)).toEqual(['back', 'front']);
    expect(tun.ospf).toEqual([]);
  });
});

describe('live state', () => {
  let live: LabGraph;
  beforeAll(async () => {
    live = (await lab(SEED, SEED_LIVE)).graph;
  });

  it('marks each node running, stopped or (not reported) missing', () => {
    expect(Object.fromEntries(live.nodes.map((n) => [n.name, n.state]))).toEqual({
      lb1: 'running',
      lb2: 'stopped',
      router: 'running',
      server1: 'running',
      server2: 'missing',
    });
  });

  it("resolves the router's nexthops to the directors that own the gateways, sorted", () => {
    expect(live.live).toEqual({
      routes: [{ router: 'router', vip: '172.16.253.100', nexthops: 2 }],
      nexthops: [
        { router: 'router', vip: '172.16.253.100', via: '172.16.253.129', node: 'lb1' },
        { router: 'router', vip: '172.16.253.100', via: '172.16.253.131', node: 'lb2' },
      ],
    });
    expect(
      graphEdges(live)
        .filter((e) => e.type === 'ecmp')
        .map((e) => [e.id, e.from, e.to]),
    ).toEqual([
      [graphEdgeId('ecmp', 'router', '172.16.253.100', 'lb1'), 'node-router', 'node-lb1'],
      [graphEdgeId('ecmp', 'router', '172.16.253.100', 'lb2'), 'node-router', 'node-lb2'],
    ]);
  });

  it('keeps a gateway no node owns, without an edge, and a route with no nexthops', async () => {
    const { graph } = await lab(SEED, {
      nodes: {},
      nexthops: [{ router: 'router', vip: '172.16.253.100', via: ['10.9.9.9'] }],
    });
    expect(graph.live?.nexthops).toEqual([{ router: 'router', vip: '172.16.253.100', via: '10.9.9.9' }]);
    expect(graphEdges(graph).some((e) => e.type === 'ecmp')).toBe(false);
    const none = (
      await lab(SEED, { nodes: {}, nexthops: [{ router: 'router', vip: '172.16.253.100', via: [] }] })
    ).graph;
    expect(none.live?.routes).toEqual([{ router: 'router', vip: '172.16.253.100', nexthops: 0 }]);
    expect(renderDot(none)).toContain('route 172.16.253.100: 0 nexthops');
  });

  it('draws stopped nodes dashed and grey, with their state as a class', () => {
    const dot = renderDot(live);
    expect(dot).toMatch(
      /"node-lb2" \[id="node-lb2", class="lab-node kind-director role-director state-stopped", [^\n]*dashed/,
    );
    expect(dot).toContain('class="lab-node kind-server role-server state-missing"');
    expect(renderMermaid(live)).toMatch(/class node_lb2,node_server2 down/);
  });
});

describe('gathering live state from the runtime', () => {
  async function running(
    file: string,
    stopped: string[] = [],
  ): Promise<{ runtime: FakeRuntime; topology: OpenedTopology; plan: Plan }> {
    const topology = await openTopology(file);
    const plan = planForPicture(topology);
    const runtime = new FakeRuntime();
    for (const node of plan.nodes) {
      await runtime.createContainer({
        name: node.containerName,
        image: node.image,
        labels: node.labels,
        interfaces: node.interfaces.map((i) => ({ network: i.dockerNetwork, ip: i.ip, mac: i.mac })),
      } as ContainerSpec);
      if (!stopped.includes(node.name)) await runtime.startContainer(node.containerName);
    }
    return { runtime, topology, plan };
  }

  it('asks the OSPF routers (not directors) for the VIPs the OSPF directors advertise', async () => {
    expect(routesToAsk((await openTopology(SEED)).config)).toEqual({
      routers: ['router'],
      vips: ['172.16.253.100'],
    });
    expect(routesToAsk((await openTopology(NAT)).config)).toEqual({ routers: [], vips: [] });
  });

  it("reads node states and the router's ECMP route", async () => {
    const { runtime, topology, plan } = await running(SEED, ['lb2']);
    runtime.respond = (container, cmd) => {
      expect(container.spec.name).toBe('lblab-ecmp-lvs-dr-router');
      expect(cmd).toEqual(['ip', '-j', 'route', 'show', '172.16.253.100/32']);
      return ok(
        JSON.stringify([
          {
            dst: '172.16.253.100',
            nexthops: [{ gateway: '172.16.253.129' }, { gateway: '172.16.253.131' }],
          },
        ]),
      );
    };
    const state = await gatherLiveState(fakeEngine(runtime), topology.config, plan);
    expect(state).toEqual({
      nodes: { router: 'running', lb1: 'running', lb2: 'stopped', server1: 'running', server2: 'running' },
      nexthops: [{ router: 'router', vip: '172.16.253.100', via: ['172.16.253.129', '172.16.253.131'] }],
    });
  });

  it('says the lab is not up, and how to bring it up, when none of its nodes is there', async () => {
    const topology = await openTopology(SEED);
    const error = await gatherLiveState(
      fakeEngine(new FakeRuntime()),
      topology.config,
      planForPicture(topology),
      {
        upCommand: 'lblab up topologies/ecmp-lvs-dr.yml',
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).message).toBe('preflight: lab ecmp-lvs-dr is not up on docker');
    expect((error as LabError).hint).toContain('lblab up topologies/ecmp-lvs-dr.yml');
  });
});

/** Every element of a parsed SVG, with its attributes. */
function elements(node: unknown, out: Record<string, string>[] = []): Record<string, string>[] {
  if (Array.isArray(node)) {
    for (const child of node) elements(child, out);
  } else if (node && typeof node === 'object') {
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('@_')) attributes[key.slice(2)] = String(value);
      else elements(value, out);
    }
    if (Object.keys(attributes).length > 0) out.push(attributes);
  }
  return out;
}

describe('pictures', () => {
  const labs: Record<string, string> = { 'ecmp-lvs-dr': SEED, 'lvs-nat': NAT, 'lvs-tun': TUN };

  for (const [name, file] of Object.entries(labs)) {
    it(`${name}: DOT, Mermaid and SVG match their snapshots and are the same on a second render`, async () => {
      const { graph } = await lab(file);
      const dot = await renderGraph(graph, 'dot');
      const mermaid = await renderGraph(graph, 'mermaid');
      const svg = await renderGraph(graph, 'svg');
      await expect(dot).toMatchFileSnapshot(`__snapshots__/graph/${name}.dot`);
      await expect(mermaid).toMatchFileSnapshot(`__snapshots__/graph/${name}.mmd`);
      await expect(svg).toMatchFileSnapshot(`__snapshots__/graph/${name}.svg`);
      const again = (await lab(file)).graph;
      expect(await renderGraph(again, 'dot')).toBe(dot);
      expect(await renderGraph(again, 'mermaid')).toBe(mermaid);
      expect(await renderGraph(again, 'svg')).toBe(svg);
    });
  }

  it('the live seed lab matches its snapshots', async () => {
    const { graph } = await lab(SEED, SEED_LIVE);
    await expect(renderDot(graph)).toMatchFileSnapshot('__snapshots__/graph/ecmp-lvs-dr-live.dot');
    await expect(await renderSvg(graph)).toMatchFileSnapshot('__snapshots__/graph/ecmp-lvs-dr-live.svg');
  });

  it('the SVG has every node, network and VIP by id and class, and every edge by its class', async () => {
    const { graph } = await lab(SEED, SEED_LIVE);
    const svg = await renderSvg(graph);
    const parsed: unknown = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(svg);
    const all = elements(parsed);
    const byId = new Map(all.filter((e) => e.id).map((e) => [e.id, e]));
    const ids = all.filter((e) => e.id).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const node of graph.nodes) {
      const element = byId.get(graphNodeId(node.name));
      expect(element?.class?.split(' ')).toEqual(
        expect.arrayContaining(['lab-node', `kind-${node.kind}`, `role-${node.role}`, `state-${node.state}`]),
      );
    }
    for (const network of graph.networks)
      expect(byId.get(graphNetworkId(network.name))?.class).toBe('node lab-network');
    expect(byId.get(graphVipId('172.16.253.100'))?.class).toBe('node lab-vip');
    const classCount = (name: string) => all.filter((e) => e.class?.split(' ').includes(name)).length;
    expect(classCount('lab-node')).toBe(5);
    expect(classCount('lab-network')).toBe(1);
    expect(classCount('link-edge')).toBe(5);
    expect(classCount('vip-edge')).toBe(4);
    expect(classCount('lvs-edge')).toBe(2);
    expect(classCount('ospf-edge')).toBe(3);
    expect(classCount('ecmp-edge')).toBe(2);
    for (const edge of graphEdges(graph)) expect(byId.get(edge.id)?.class).toBe(`edge ${edge.type}-edge`);
    expect(svg).not.toContain('&#45;');
    expect(svg).not.toContain('<!--');
    expect(svg).toContain('font-family="Courier,monospace"');
  });

  it('Mermaid ids are letters, digits and _ only, and every edge joins declared ids', async () => {
    // Node and network names with dashes, as the schema allows.
    const text = readFileSync(SEED, 'utf8').replaceAll('lb1', 'lb-one').replaceAll('lan', 'front-lan');
    const dir = mkdtempSync(path.join(tmpdir(), 'lblab-graph-'));
    try {
      const file = path.join(dir, 'dashes.yml');
      writeFileSync(file, text);
      const { graph } = await lab(file);
      const mermaid = renderMermaid(graph);
      const lines = mermaid.split('\n');
      expect(lines.slice(0, 4)).toEqual([
        '---',
        'title: "ecmp-lvs-dr: Router + two LVS-DR directors (ECMP via OSPF) + two nginx real servers"',
        '---',
        'flowchart TB',
      ]);
      const declared = new Set(
        lines.flatMap((line) => {
          const match = /^ {2}([A-Za-z0-9_]+)[[({]/.exec(line);
          return match?.[1] ? [match[1]] : [];
        }),
      );
      expect(declared).toContain('node_lb_one');
      expect(declared).toContain('net_front_lan');
      expect([...declared].every((id) => /^[A-Za-z0-9_]+$/.test(id))).toBe(true);
      const edges = lines.filter((line) => /^ {2}\S+ (---|-\.-|-->|==>)/.test(line));
      expect(edges).toHaveLength(graphEdges(graph).length);
      for (const line of edges) {
        const [from, , ...rest] = line.trim().split(' ');
        expect(declared).toContain(from);
        expect(declared).toContain(rest.at(-1));
      }
      expect(mermaidId('node-lb-one')).toBe('node_lb_one');
      expect(mermaid).not.toMatch(/^ {2}\S*-\S*\[/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a DOT label cannot break out of its quotes', () => {
    const graph: LabGraph = {
      lab: 'x',
      description: 'say "hi" \\ there\nnext line',
      networks: [],
      nodes: [],
      vips: [],
      services: [],
      ospf: [],
    };
    expect(renderDot(graph)).toContain('label="x: say \\"hi\\" \\\\ there next line"');
  });

  it('the HTML page holds the SVG inline with a legend, and fetches nothing', async () => {
    const { graph } = await lab(NAT);
    const html = await renderGraph(graph, 'html');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).not.toContain('<?xml');
    expect(html).toContain('id="node-lb"');
    expect(html).toContain('id="legend"');
    expect(html).toContain('<td>10.77.1.100:80/tcp</td>');
    expect(html).not.toMatch(/<script|<link|\bsrc=|@import|url\(/);
    expect(await renderGraph(graph, 'html')).toBe(html);
    // The legend lists only what is drawn: no OSPF here, no ECMP without --live.
    expect(html).not.toContain('legend-ospf');
    expect(html).not.toContain('legend-ecmp');
  });

  it('tidySvg keeps ids readable and drops comments', () => {
    expect(tidySvg('<!-- a&#45;&gt;b -->\n<g id="node&#45;a"/>')).toBe('<g id="node-a"/>\n');
  });
});

describe('the format of a picture', () => {
  it('follows --format, else the output file name, else SVG', () => {
    expect(graphFormatFor(undefined, undefined)).toBe('svg');
    expect(graphFormatFor(undefined, 'lab.svg')).toBe('svg');
    expect(graphFormatFor(undefined, 'out/Lab.HTML')).toBe('html');
    expect(graphFormatFor(undefined, 'lab.dot')).toBe('dot');
    expect(graphFormatFor(undefined, 'lab.gv')).toBe('dot');
    expect(graphFormatFor(undefined, 'lab.mmd')).toBe('mermaid');
    expect(graphFormatFor(undefined, 'README.md')).toBe('mermaid');
    expect(graphFormatFor(undefined, 'lab.png')).toBe('svg');
    expect(graphFormatFor('dot', 'lab.svg')).toBe('dot');
    expect(() => graphFormatFor('png', undefined)).toThrow(/one of: svg, html, mermaid, dot/);
  });

  it('puts Mermaid for a Markdown file in a mermaid block', async () => {
    const { graph } = await lab(NAT);
    const markdown = await renderGraph(graph, 'mermaid', 'docs/lab.md');
    expect(markdown.startsWith('```mermaid\n---\n')).toBe(true);
    expect(markdown.endsWith('\n```\n')).toBe(true);
    expect(await renderGraph(graph, 'mermaid', 'lab.mmd')).toBe(renderMermaid(graph));
  });
});

describe('lblab graph', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lblab-graph-cmd-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // --json prints the result; the assertions read what run() returns.
  beforeEach(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('writes the picture in the format of the -o file and returns the graph', async () => {
    const { default: Graph } = await import('../../src/commands/graph.js');
    const output = path.join(dir, 'sub', 'lab.dot');
    const result = await Graph.run([NAT, '-o', output, '--json']);
    expect(result).toMatchObject({ format: 'dot', output });
    expect(result.graph.nodes.map((n) => n.name)).toEqual(['client', 'lb', 'web1', 'web2']);
    expect(readFileSync(output, 'utf8')).toBe(renderDot(result.graph));
  });

  it('returns the picture itself without -o', async () => {
    const { default: Graph } = await import('../../src/commands/graph.js');
    const result = await Graph.run([SEED, '--format', 'mermaid', '--json']);
    expect(result.format).toBe('mermaid');
    expect(result.content).toBe(renderMermaid(result.graph));
    expect(result.output).toBeUndefined();
  });
});
