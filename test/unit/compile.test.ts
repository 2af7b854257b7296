/**
 * compile(): the seed lab → Plan. Names, labels, addresses, MACs, capabilities, sysctls, readiness
 * and data planes are asserted field by field; rendered files are snapshots (reviewed by hand).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/core/labels.js';
import { compile, macAddressFor, type CompileOptions } from '../../src/plan/compile.js';
import { describeTuning, renderPlan } from '../../src/plan/render-plan.js';
import type { Plan, PlannedNode } from '../../src/core/plan.js';
import { parseTopologyText } from '../../src/topology/load.js';
import type { TopologyConfig } from '../../src/core/topology.js';
import { validateTopology } from '../../src/topology/validate.js';
import { LBLAB_VERSION } from '../../src/core/version.js';

const SEED_FILE = 'topologies/ecmp-lvs-dr.yml';
const SEED_TEXT = readFileSync(SEED_FILE, 'utf8');
/** A fixed place for the file: labels and binds must not depend on where the tests run. */
const FILE = '/labs/ecmp-lvs-dr.yml';
const IMAGE = 'lblab/node:test';
const NODE_NAMES = ['router', 'lb1', 'lb2', 'server1', 'server2'];

function configOf(text: string): TopologyConfig {
  return validateTopology(parseTopologyText(FILE, Buffer.from(text)));
}

function plan(text: string, options: Partial<CompileOptions> = {}): Plan {
  return compile(configOf(text), {
    file: FILE,
    text,
    defaultImage: IMAGE,
    facts: { ipvs: true },
    ...options,
  });
}

function nodeOf(compiled: Plan, name: string): PlannedNode {
  const node = compiled.nodes.find((candidate) => candidate.name === name);
  if (!node) throw new Error(`no node ${name} in the plan`);
  return node;
}

function fileOf(node: PlannedNode, path: string): string {
  const file = node.files.find((candidate) => candidate.path === path);
  if (!file) throw new Error(`${node.name} has no ${path}`);
  return file.content.toString();
}

/** The seed with one piece of text replaced; the piece must occur exactly once. */
function seedWith(from: string, to: string): string {
  const parts = SEED_TEXT.split(from);
  if (parts.length !== 2) throw new Error(`"${from}" occurs ${parts.length - 1} times in the seed`);
  return parts.join(to);
}

const NO_IPVS = { ipvs: false, ipvsReason: 'ip_vs module missing' };

describe('compile the seed lab', () => {
  let withIpvs: Plan;
  let withoutIpvs: Plan;
  beforeAll(() => {
    withIpvs = plan(SEED_TEXT, { facts: { ipvs: true } });
    withoutIpvs = plan(SEED_TEXT, { facts: NO_IPVS });
  });

  it('names the lab, hashes the exact text and stamps the version', () => {
    expect(withIpvs.lab).toBe('ecmp-lvs-dr');
    expect(withIpvs.topologyFile).toBe(FILE);
    expect(withIpvs.topologyHash).toBe(createHash('sha256').update(SEED_TEXT).digest('hex').slice(0, 12));
    expect(withIpvs.lblabVersion).toBe(LBLAB_VERSION);
  });

  it('plans one labelled bridge network with the declared pool', () => {
    expect(withIpvs.networks).toHaveLength(1);
    expect(withIpvs.networks[0]).toMatchObject({
      name: 'lan',
      dockerName: 'lblab-ecmp-lvs-dr-lan',
      subnet: '172.16.253.0/24',
      ipRange: '172.16.253.128/25',
      gateway: '172.16.253.1',
      labels: {
        [LABEL.lab]: 'ecmp-lvs-dr',
        [LABEL.network]: 'lan',
        [LABEL.topologyFile]: FILE,
        [LABEL.topologyHash]: withIpvs.topologyHash,
        [LABEL.version]: LBLAB_VERSION,
      },
    });
  });

  it('plans the nodes in file order with names, hostnames, kinds, images and labels', () => {
    expect(withIpvs.nodes.map((node) => node.name)).toEqual(NODE_NAMES);
    const kinds = {
      router: 'router',
      lb1: 'director',
      lb2: 'director',
      server1: 'server',
      server2: 'server',
    };
    for (const node of withIpvs.nodes) {
      const kind = kinds[node.name as keyof typeof kinds];
      expect(node).toMatchObject({
        kind,
        containerName: `lblab-ecmp-lvs-dr-${node.name}`,
        hostname: node.name,
        image: IMAGE,
        labels: {
          [LABEL.lab]: 'ecmp-lvs-dr',
          [LABEL.node]: node.name,
          [LABEL.kind]: kind,
          [LABEL.topologyFile]: FILE,
          [LABEL.topologyHash]: withIpvs.topologyHash,
          [LABEL.version]: LBLAB_VERSION,
        },
      });
      // Teardown finds everything by label: every label is lblab's own.
      for (const key of Object.keys(node.labels)) expect(key).toMatch(/^lblab\./);
    }
  });

  it('gives each node its declared address on eth0 of the lab network', () => {
    const addresses = Object.fromEntries(
      withIpvs.nodes.map((node) => [
        node.name,
        node.interfaces.map(({ ifname, network, dockerNetwork, ip, prefixLength }) => ({
          ifname,
          network,
          dockerNetwork,
          ip,
          prefixLength,
        })),
      ]),
    );
    const on = (ip: string) => [
      { ifname: 'eth0', network: 'lan', dockerNetwork: 'lblab-ecmp-lvs-dr-lan', ip, prefixLength: 24 },
    ];
    expect(addresses).toEqual({
      router: on('172.16.253.135'),
      lb1: on('172.16.253.129'),
      lb2: on('172.16.253.131'),
      server1: on('172.16.253.130'),
      server2: on('172.16.253.134'),
    });
  });

  it('derives locally administered unicast MACs from (lab, node, network)', () => {
    const macs = withIpvs.nodes.map((node) => node.interfaces[0]?.mac ?? '');
    expect(new Set(macs).size).toBe(macs.length);
    for (const [index, node] of withIpvs.nodes.entries()) {
      const mac = macs[index] ?? '';
      expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
      // 0x02: the locally administered bit set, the multicast bit clear.
      expect(parseInt(mac.slice(0, 2), 16) & 0b11).toBe(0b10);
      const digest = createHash('sha256').update(`ecmp-lvs-dr/${node.name}/lan`).digest('hex');
      expect(mac).toBe(['02', ...[0, 2, 4, 6, 8].map((i) => digest.slice(i, i + 2))].join(':'));
      expect(macAddressFor('ecmp-lvs-dr', node.name, 'lan')).toBe(mac);
    }
  });

  it('adds SYS_ADMIN only where FRR runs (router, directors), never --privileged', () => {
    const caps = Object.fromEntries(withIpvs.nodes.map((node) => [node.name, [...node.capAdd].sort()]));
    expect(caps).toEqual({
      router: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
      lb1: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
      lb2: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
      server1: ['NET_ADMIN', 'NET_RAW'],
      server2: ['NET_ADMIN', 'NET_RAW'],
    });
  });

  it('lets every node set its own net.* sysctls, and says so in the plan', () => {
    expect(withIpvs.nodes.map((node) => [node.name, node.writableNetSysctls])).toEqual(
      NODE_NAMES.map((name) => [name, true]),
    );
    const procSysLines = renderPlan(withIpvs)
      .split('\n')
      .filter((line) => line.includes('/proc/sys'));
    expect(procSysLines).toHaveLength(NODE_NAMES.length);
    expect(new Set(procSysLines)).toEqual(
      new Set(["  /proc/sys  read-only but net (the node's own namespace)"]),
    );
  });

  it("sets the kinds' sysctls and keeps the router's declared hash policy", () => {
    const arp = {
      'net.ipv4.conf.all.arp_ignore': '1',
      'net.ipv4.conf.lo.arp_ignore': '1',
      'net.ipv4.conf.all.arp_announce': '2',
      'net.ipv4.conf.lo.arp_announce': '2',
    };
    expect(nodeOf(withIpvs, 'router').sysctls).toEqual({
      'net.ipv4.ip_forward': '1',
      'net.ipv4.fib_multipath_hash_policy': '0',
    });
    expect(nodeOf(withIpvs, 'lb1').sysctls).toEqual({ 'net.ipv4.ip_forward': '1', ...arp });
    expect(nodeOf(withIpvs, 'server1').sysctls).toEqual(arp);
    expect(nodeOf(withIpvs, 'server2').sysctls).toEqual(arp);
  });

  it('waits on the router for two OSPF neighbours and two nexthops to the VIP', () => {
    expect(nodeOf(withIpvs, 'router').readiness).toEqual([
      {
        type: 'frr-config',
        node: 'router',
        daemons: [
          {
            daemon: 'ospfd',
            holds: [
              'router ospf',
              'ospf router-id 172.16.253.135',
              'network 172.16.253.0/24 area 0',
              'interface eth0',
            ],
          },
        ],
        timeoutMs: 60_000,
      },
      { type: 'ospf-full', node: 'router', neighbors: 2, timeoutMs: 60_000 },
      { type: 'route', node: 'router', prefix: '172.16.253.100/32', nexthops: 2, timeoutMs: 60_000 },
    ]);
  });

  it('waits on each server for HTTP 200 on its port', () => {
    for (const name of ['server1', 'server2']) {
      expect(nodeOf(withIpvs, name).readiness).toEqual([
        {
          type: 'http',
          node: name,
          url: 'http://127.0.0.1:8080/',
          status: 200,
          header: { name: 'X-Host', value: name },
          timeoutMs: 20_000,
        },
      ]);
    }
  });

  it('with IPVS: directors use ipvs (keepalived) and wait for their virtual service', () => {
    expect(withIpvs.warnings).toEqual([]);
    for (const name of ['lb1', 'lb2']) {
      const director = nodeOf(withIpvs, name);
      expect(director.dataPlane).toBe('ipvs');
      expect(director.labels[LABEL.dataPlane]).toBe('ipvs');
      expect(director.readiness.map((check) => check.type)).toEqual([
        'frr-config',
        'ospf-full',
        'ipvs-service',
      ]);
      expect(director.readiness.slice(1)).toEqual([
        { type: 'ospf-full', node: name, neighbors: 2, timeoutMs: 60_000 },
        {
          type: 'ipvs-service',
          node: name,
          service: 'TCP 172.16.253.100:8080',
          realServers: 1,
          // Four health-check rounds of delay_loop 6 + 2 × connect_timeout 3 + 1 s retry delay.
          timeoutMs: 52_000,
        },
      ]);
      expect(director.files.map((file) => file.path)).toEqual([
        '/etc/frr/daemons',
        '/etc/frr/frr.conf',
        '/etc/frr/vtysh.conf',
        '/etc/lblab/frr-config-loaded.sh',
        '/etc/keepalived/keepalived.conf',
      ]);
    }
  });

  it('without IPVS: directors fall back to nftables and say why', () => {
    expect(withoutIpvs.warnings).toEqual([
      "lb1: the engine's kernel has no IPVS (ip_vs module missing); using the nftables stand-in. For real LVS: modprobe ip_vs on the Docker host, or run with --engine sandbox",
      'lb1: nftables picks real servers by a 5-tuple hash; scheduler "rr" needs IPVS',
      "lb2: the engine's kernel has no IPVS (ip_vs module missing); using the nftables stand-in. For real LVS: modprobe ip_vs on the Docker host, or run with --engine sandbox",
      'lb2: nftables picks real servers by a 5-tuple hash; scheduler "rr" needs IPVS',
    ]);
    for (const name of ['lb1', 'lb2']) {
      const director = nodeOf(withoutIpvs, name);
      expect(director.dataPlane).toBe('nftables');
      expect(director.labels[LABEL.dataPlane]).toBe('nftables');
      expect(director.readiness.map((check) => check.type)).toEqual(['frr-config', 'ospf-full']);
      expect(director.files.map((file) => file.path)).toContain('/etc/lblab/dr.nft');
      expect(director.files.map((file) => file.path)).not.toContain('/etc/keepalived/keepalived.conf');
    }
    // Only directors carry a data plane.
    expect(withoutIpvs.nodes.filter((node) => node.dataPlane).map((node) => node.name)).toEqual([
      'lb1',
      'lb2',
    ]);
  });

  it('engine: nftables forces nftables even where IPVS exists, without the fallback warning', () => {
    const lb1Engine =
      'lan: 172.16.253.129 }\n      vip: 172.16.253.100\n      lvs: keepalived\n      engine: auto';
    const forced = plan(seedWith(lb1Engine, lb1Engine.replace('auto', 'nftables')), {
      facts: { ipvs: true },
    });
    expect(nodeOf(forced, 'lb1').dataPlane).toBe('nftables');
    expect(nodeOf(forced, 'lb2').dataPlane).toBe('ipvs');
    expect(forced.warnings).toEqual([
      'lb1: nftables picks real servers by a 5-tuple hash; scheduler "rr" needs IPVS',
    ]);
  });

  it('lvs: ipvsadm programs the service with commands instead of keepalived', () => {
    const director = nodeOf(plan(SEED_TEXT.replaceAll('lvs: keepalived', 'lvs: ipvsadm')), 'lb2');
    expect(director.files.map((file) => file.path)).not.toContain('/etc/keepalived/keepalived.conf');
    expect(
      director.setup.find((step) => step.summary === 'IPVS virtual services via ipvsadm')?.commands,
    ).toEqual([
      'ipvsadm -C',
      'ipvsadm -A -t 172.16.253.100:8080 -s rr',
      'ipvsadm -a -t 172.16.253.100:8080 -r 172.16.253.134:8080 -g -w 1',
    ]);
  });

  it('is deterministic: the same input gives a deep-equal plan', () => {
    expect(plan(SEED_TEXT, { facts: { ipvs: true } })).toEqual(withIpvs);
    expect(JSON.stringify(plan(SEED_TEXT, { facts: NO_IPVS }))).toBe(JSON.stringify(withoutIpvs));
  });

  it('--name renames containers, networks, labels and MACs, and nothing else', () => {
    const copy = plan(SEED_TEXT, { labName: 'copy-2', facts: { ipvs: true } });
    expect(copy.lab).toBe('copy-2');
    expect(copy.networks[0]).toMatchObject({
      dockerName: 'lblab-copy-2-lan',
      labels: { [LABEL.lab]: 'copy-2', [LABEL.network]: 'lan' },
    });
    for (const node of copy.nodes) {
      const original = nodeOf(withIpvs, node.name);
      expect(node.containerName).toBe(`lblab-copy-2-${node.name}`);
      expect(node.hostname).toBe(node.name);
      expect(node.labels[LABEL.lab]).toBe('copy-2');
      expect(node.interfaces[0]?.dockerNetwork).toBe('lblab-copy-2-lan');
      expect(node.interfaces[0]?.ip).toBe(original.interfaces[0]?.ip);
      expect(node.interfaces[0]?.mac).toBe(macAddressFor('copy-2', node.name, 'lan'));
      expect(node.interfaces[0]?.mac).not.toBe(original.interfaces[0]?.mac);
    }
    // The topology is the same file: same hash.
    expect(copy.topologyHash).toBe(withIpvs.topologyHash);
  });

  it('resolves binds against the topology directory and runs exec lines quoted through sh -c', () => {
    const text = seedWith(
      '      http: { port: 8080, identity: server2 }',
      '      http: { port: 8080, identity: server2 }\n      binds: [conf/site:/srv/site:ro]\n      env: { GREETING: hi }\n      exec: ["echo it\'s $HOSTNAME > /tmp/x"]',
    );
    const server = nodeOf(plan(text), 'server2');
    expect(server.binds).toEqual(['/labs/conf/site:/srv/site:ro']);
    expect(server.env).toEqual({ GREETING: 'hi' });
    expect(server.setup.at(-1)).toEqual({
      summary: 'exec: 1 command(s) from the topology',
      // One single-quoted word for sh: $HOSTNAME and > reach the node's shell, not lblab's.
      commands: [`sh -c 'echo it'\\''s $HOSTNAME > /tmp/x'`],
    });
  });
});

describe('timers and timeouts that fit the engine', () => {
  it('auto means fast OSPF timers and the base timeouts on the host engine', () => {
    const compiled = plan(SEED_TEXT, { facts: { engine: 'docker', ipvs: true } });
    expect(compiled.tuning).toMatchObject({ engine: 'docker', ospfTimers: 'fast', timeoutScale: 1 });
    const frr = fileOf(nodeOf(compiled, 'lb1'), '/etc/frr/frr.conf');
    expect(frr).toContain('ip ospf dead-interval minimal hello-multiplier 4');
    expect(nodeOf(compiled, 'router').readiness.map((check) => check.timeoutMs)).toEqual([
      60_000, 60_000, 60_000,
    ]);
  });

  it('auto means steady timers (hello 1 s, dead 4 s, no DR election) and 3x timeouts in the sandbox', () => {
    const compiled = plan(SEED_TEXT, { facts: { engine: 'sandbox', ipvs: true } });
    expect(compiled.tuning).toMatchObject({ engine: 'sandbox', ospfTimers: 'steady', timeoutScale: 3 });
    const frr = fileOf(nodeOf(compiled, 'lb1'), '/etc/frr/frr.conf');
    expect(frr).toContain(
      ' ip ospf network point-to-multipoint\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n',
    );
    expect(frr).not.toContain('minimal');
    expect(nodeOf(compiled, 'router').readiness.map((check) => check.timeoutMs)).toEqual([
      180_000, 180_000, 180_000,
    ]);
    expect(nodeOf(compiled, 'server1').readiness.map((check) => check.timeoutMs)).toEqual([60_000]);
  });

  it('an explicit profile wins over the engine default', () => {
    const fast = plan(seedWith('ospf-timers: auto', 'ospf-timers: fast'), {
      facts: { engine: 'sandbox', ipvs: true },
    });
    expect(fileOf(nodeOf(fast, 'router'), '/etc/frr/frr.conf')).toContain('hello-multiplier 4');
  });
});

describe('rendered files (snapshots)', () => {
  const withIpvs = () => plan(SEED_TEXT, { facts: { ipvs: true } });
  const withoutIpvs = () => plan(SEED_TEXT, { facts: NO_IPVS });

  it('router frr.conf with the fast timers auto means on the host engine', () => {
    expect(fileOf(nodeOf(withIpvs(), 'router'), '/etc/frr/frr.conf')).toMatchSnapshot();
  });

  it('router frr.conf with the article timers', () => {
    const article = plan(seedWith('ospf-timers: auto', 'ospf-timers: article'));
    expect(fileOf(nodeOf(article, 'router'), '/etc/frr/frr.conf')).toMatchSnapshot();
  });

  it('director frr.conf advertises the VIP /32', () => {
    expect(fileOf(nodeOf(withIpvs(), 'lb1'), '/etc/frr/frr.conf')).toMatchSnapshot();
  });

  it('server nginx.conf', () => {
    expect(fileOf(nodeOf(withIpvs(), 'server1'), '/etc/nginx/nginx.conf')).toMatchSnapshot();
  });

  it('director keepalived.conf', () => {
    expect(fileOf(nodeOf(withIpvs(), 'lb1'), '/etc/keepalived/keepalived.conf')).toMatchSnapshot();
  });

  it('director dr.nft carries its own MAC and the real server MAC', () => {
    const compiled = withoutIpvs();
    const ruleset = fileOf(nodeOf(compiled, 'lb1'), '/etc/lblab/dr.nft');
    expect(ruleset).toContain(`ether saddr set ${nodeOf(compiled, 'lb1').interfaces[0]?.mac}`);
    expect(ruleset).toContain(`0 : ${nodeOf(compiled, 'server1').interfaces[0]?.mac}`);
    expect(ruleset).toMatchSnapshot();
  });

  it('setup scripts: router, director on ipvs, director on nftables, server', () => {
    expect(nodeOf(withIpvs(), 'router').setupScript).toMatchSnapshot('router');
    expect(nodeOf(withIpvs(), 'lb1').setupScript).toMatchSnapshot('lb1 on ipvs (keepalived)');
    expect(nodeOf(withoutIpvs(), 'lb1').setupScript).toMatchSnapshot('lb1 on nftables');
    expect(nodeOf(withIpvs(), 'server1').setupScript).toMatchSnapshot('server1');
  });
});

describe('describeTuning', () => {
  it('speaks of OSPF timers only when a node runs OSPF', () => {
    const seed = plan(SEED_TEXT);
    expect(describeTuning(seed)).toMatch(/^OSPF timers "auto" mean \w+, readiness timeouts x\d+$/);
    const noOspf = { ...seed, nodes: seed.nodes.filter((n) => n.kind === 'server') };
    expect(describeTuning(noOspf)).toMatch(/^readiness timeouts x\d+$/);
  });
});
