/**
 * LVS-NAT and the single director: the NAT forwarding method (ipvsadm -m, keepalived NAT, the stateful
 * nftables stand-in and its counters), a director with its VIP on a network and no OSPF (vip-on), when
 * IPVS is demanded, the director-stats and neighbor steps, http-tally's min-failures, and the two
 * shipped labs (topologies/lvs-nat.yml and topologies/lvs-dr.yml) compiled with and without IPVS.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireIpvsWhereDemanded } from '../../src/apply/preflight.js';
import { LabError } from '../../src/core/errors.js';
import { TopologyError, type SourceLocation, type TopologyIssue } from '../../src/core/issue.js';
import type { Plan, PlannedNode } from '../../src/core/plan.js';
import type { NodeConfig, TopologyConfig } from '../../src/core/topology.js';
import { servicesNeedingIpvs, speaksOspf } from '../../src/kinds/director.js';
import { forwardingMethod, type RealServerCheck } from '../../src/kinds/forwarding.js';
import type { ResolvedRealServer, ResolvedService } from '../../src/kinds/lvs-service.js';
import { renderNftablesDr } from '../../src/kinds/nftables-dr.js';
import { natStandInCannot, renderNftablesNat, standInCounterNames } from '../../src/kinds/nftables-nat.js';
import { directorsWantingIpvs } from '../../src/lab/lab.js';
import { compile } from '../../src/plan/compile.js';
import { parseTopologyText } from '../../src/topology/load.js';
import { validateTopology } from '../../src/topology/validate.js';
import {
  countersSettled,
  countHolds,
  formatCount,
  parseCount,
  parseIpvsadm,
  parseNftCounters,
  type ServiceCounters,
} from '../../src/verify/director-counters.js';
import { evaluateTally, type ExpectationResult } from '../../src/verify/expect.js';
import { checkVerifySteps, parseVerifySteps } from '../../src/verify/steps.js';
import { evaluateDirectorStats, type DirectorStatsStep } from '../../src/verify/step-types/director-stats.js';
import type { HttpTallyStep } from '../../src/verify/step-types/http-tally.js';
import { judgeNeighbor, parseNeighborMac, type NeighborStep } from '../../src/verify/step-types/neighbor.js';
import { judgeHeld } from '../../src/verify/step-types/hold-connections.js';
import { realServerEntry } from '../../src/verify/step-types/weight.js';
import { linkIsUp, routesToRestore } from '../../src/verify/step-types/link.js';
import { toRecords as toUdpRecords, udpTallyStep } from '../../src/verify/step-types/udp-tally.js';
import { tuningFor } from '../../src/plan/engine-tuning.js';
import type { ContainerRuntime } from '../../src/core/runtime.js';
import { tallyRecords, type RequestRecord } from '../../src/verify/tally.js';
import { parseUdpExchangeOutput, replyValue, udpExchangeCommand } from '../../src/checks/udp-exchange.js';

/** The shipped NAT lab, whole: its TCP service and its UDP one. */
const NAT_UDP_TEXT = readFileSync('topologies/lvs-nat.yml', 'utf8');
/** The NAT lab with its TCP service only: most tests below are about that one. */
const NAT_TEXT = withoutUdp(NAT_UDP_TEXT);
const DR_TEXT = readFileSync('topologies/lvs-dr.yml', 'utf8');
/** A fixed place for the file: labels must not depend on where the tests run. */
const FILE = '/labs/lab.yml';
const IMAGE = 'lblab/node:test';
const WITH_IPVS = { ipvs: true };
const NO_IPVS = { ipvs: false, ipvsReason: 'ip_vs module missing' };
const NAT_CONF = '/etc/lblab/nat.nft';
const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';

/** `text` with one piece replaced; the piece must occur exactly once. */
function edit(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`"${from}" occurs ${parts.length - 1} times`);
  return parts.join(to);
}

const natWith = (from: string, to: string) => edit(NAT_TEXT, from, to);

/** Cuts the UDP service, the servers' UDP responders and the UDP verify steps out of the NAT lab. */
function withoutUdp(text: string): string {
  const cut = (from: string, to: string) => {
    const start = text.indexOf(from);
    const end = text.indexOf(to, start);
    if (start < 0 || end < 0) throw new Error(`cannot cut "${from}" .. "${to}"`);
    text = text.slice(0, start) + text.slice(end);
  };
  cut('        # The same pair behind a UDP service', '\n    # lblab points');
  cut('  # UDP: each datagram', '  # The gateway matters');
  text = text.replace(/^ *# nginx's stream module.*\n/m, '').replace(/^ *udp: \{ port: 8053 \}\n/gm, '');
  return text;
}

function configOf(text: string): TopologyConfig {
  return validateTopology(parseTopologyText(FILE, Buffer.from(text)));
}

function plan(text: string, facts: { ipvs: boolean; ipvsReason?: string }): Plan {
  return compile(configOf(text), { file: FILE, text, defaultImage: IMAGE, facts });
}

function issuesOf(text: string): (TopologyIssue & SourceLocation)[] {
  try {
    configOf(text);
  } catch (error) {
    if (error instanceof TopologyError) return error.issues;
    throw error;
  }
  throw new Error('the topology was accepted');
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

const commandsOf = (node: PlannedNode) => node.setup.flatMap((step) => step.commands);

// ---------------------------------------------------------------------------------------------------
// The nftables stand-ins

function realServer(node: string, ip: string, weight = 1, port = 8080): ResolvedRealServer {
  return { node, ip, mac: '', port, weight };
}

function natService(overrides: Partial<ResolvedService> = {}): ResolvedService {
  return {
    vip: '10.77.1.100',
    port: 80,
    protocol: 'tcp',
    scheduler: 'rr',
    method: 'nat',
    persistence: 0,
    healthCheck: { path: '/', status: 200, connectTimeout: 3, delayLoop: 6 },
    realServers: [realServer('web1', '10.77.2.131'), realServer('web2', '10.77.2.132')],
    ...overrides,
  };
}

const dnatRules = (ruleset: string) => ruleset.split('\n').filter((line) => line.includes(' dnat ip to '));
/** The real servers of a dnat rule's map, slot by slot. */
const slotsOf = (rule: string) =>
  [...(/map \{ (.*) \}$/.exec(rule)?.[1] ?? '').matchAll(/(\d+) : (\S+) \. (\d+)/g)].map(
    (m) => `${m[1]}=${m[2]}:${m[3]}`,
  );

/** The lines of `chain name { ... }` in a ruleset. */
function chainOf(ruleset: string, name: string): string[] {
  const lines = ruleset.split('\n');
  const start = lines.indexOf(`  chain ${name} {`);
  if (start < 0) throw new Error(`no chain ${name}`);
  const end = lines.indexOf('  }', start);
  return lines.slice(start + 1, end);
}

// `nft -c` checks a ruleset against the kernel without loading it; it needs nft and CAP_NET_ADMIN.
const hasNft = spawnSync('nft', ['-c', '-f', '-'], { input: 'table ip lblab_probe {}\n' }).status === 0;

describe('renderNftablesNat', () => {
  it('replaces its own table and nothing else, so loading it twice is safe', () => {
    const lines = renderNftablesNat([natService()]).split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'table ip lblab_nat',
      'delete table ip lblab_nat',
      'table ip lblab_nat {',
    ]);
    expect(lines.filter((line) => /^(table|delete|flush)\b/.test(line))).toHaveLength(3);
  });

  it('DNATs the first packet of a connection to a real server and its own port, round robin', () => {
    const ruleset = renderNftablesNat([natService()]);
    expect(chainOf(ruleset, 'pick_real_server')).toEqual([
      '    type nat hook prerouting priority dstnat; policy accept;',
      '    ip daddr 10.77.1.100 tcp dport 80 dnat ip to numgen inc mod 2 map { 0 : 10.77.2.131 . 8080, 1 : 10.77.2.132 . 8080 }',
    ]);
  });

  it('counts every packet to the VIP before DNAT rewrites it, and the replies it un-NATs', () => {
    const ruleset = renderNftablesNat([natService()]);
    expect(ruleset).toContain('  counter in_tcp_80 {\n  }\n  counter out_tcp_80 {\n  }');
    expect(chainOf(ruleset, 'count_requests')).toEqual([
      // mangle (-150) runs before dstnat (-100): the destination is still the VIP.
      '    type filter hook prerouting priority mangle; policy accept;',
      '    ip daddr 10.77.1.100 tcp dport 80 counter name "in_tcp_80"',
    ]);
    expect(chainOf(ruleset, 'count_replies')).toEqual([
      '    type filter hook forward priority filter; policy accept;',
      '    meta l4proto tcp ct direction reply ct status dnat ct original ip daddr 10.77.1.100 ' +
        'ct original proto-dst 80 counter name "out_tcp_80"',
    ]);
  });

  it('rr: one slot per live real server whatever its weight; weight 0 never gets one', () => {
    const rule = dnatRules(
      renderNftablesNat([
        natService({
          realServers: [
            realServer('web1', '10.77.2.131', 5),
            realServer('web2', '10.77.2.132', 0),
            realServer('web3', '10.77.2.133', 1, 9090),
          ],
        }),
      ]),
    )[0] as string;
    expect(rule).toContain('numgen inc mod 2 ');
    expect(slotsOf(rule)).toEqual(['0=10.77.2.131:8080', '1=10.77.2.133:9090']);
  });

  it("wrr: a real server once per unit of weight, divided by the weights' common divisor", () => {
    const rule = dnatRules(
      renderNftablesNat([
        natService({
          scheduler: 'wrr',
          realServers: [
            realServer('web1', '10.77.2.131', 300),
            realServer('web2', '10.77.2.132', 200),
            realServer('web3', '10.77.2.133', 100),
            realServer('web4', '10.77.2.134', 0),
          ],
        }),
      ]),
    )[0] as string;
    expect(rule).toContain('numgen inc mod 6 ');
    expect(slotsOf(rule)).toEqual([
      '0=10.77.2.131:8080',
      '1=10.77.2.131:8080',
      '2=10.77.2.131:8080',
      '3=10.77.2.132:8080',
      '4=10.77.2.132:8080',
      '5=10.77.2.133:8080',
    ]);
  });

  it.each([
    ['sh', 'jhash ip saddr mod 3 '],
    ['dh', 'jhash ip daddr mod 3 '],
    ['wrr', 'numgen inc mod 3 '],
  ])('%s picks by %s', (scheduler, choice) => {
    const rule = dnatRules(
      renderNftablesNat([
        natService({
          scheduler,
          realServers: [realServer('web1', '10.77.2.131', 2), realServer('web2', '10.77.2.132', 1)],
        }),
      ]),
    )[0] as string;
    expect(rule).toContain(`dnat ip to ${choice}map { `);
  });

  it('a UDP service matches udp and counts its own replies; each service has its own counters', () => {
    const ruleset = renderNftablesNat([
      natService(),
      natService({ protocol: 'udp', port: 53, realServers: [realServer('dns1', '10.77.2.141', 1, 5353)] }),
    ]);
    expect(dnatRules(ruleset)).toEqual([
      expect.stringContaining('ip daddr 10.77.1.100 tcp dport 80 dnat'),
      '    ip daddr 10.77.1.100 udp dport 53 dnat ip to numgen inc mod 1 map { 0 : 10.77.2.141 . 5353 }',
    ]);
    expect(ruleset.match(/^ {2}counter \S+/gm)).toEqual([
      '  counter in_tcp_80',
      '  counter out_tcp_80',
      '  counter in_udp_53',
      '  counter out_udp_53',
    ]);
    expect(chainOf(ruleset, 'count_replies')[2]).toContain(
      'meta l4proto udp ct direction reply ct status dnat ct original ip daddr 10.77.1.100 ct original proto-dst 53 counter name "out_udp_53"',
    );
  });

  it.skipIf(!hasNft)(
    'is accepted by `nft -c` for every scheduler the stand-in knows (nothing is loaded)',
    () => {
      const weighted = [realServer('web1', '10.77.2.131', 2), realServer('web2', '10.77.2.132', 1, 8081)];
      const ruleset = renderNftablesNat([
        natService(),
        natService({ port: 81, scheduler: 'wrr', realServers: weighted }),
        natService({ port: 82, scheduler: 'sh', realServers: weighted }),
        natService({ protocol: 'udp', port: 53, scheduler: 'dh', realServers: weighted }),
      ]);
      const result = spawnSync('nft', ['-c', '-f', '-'], { input: ruleset, encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
  );
});

describe("the stand-ins' named counters", () => {
  it('are named after the protocol and port, the same for DR and NAT', () => {
    expect(standInCounterNames({ protocol: 'tcp', port: 80 })).toEqual({
      in: 'in_tcp_80',
      out: 'out_tcp_80',
    });
    expect(standInCounterNames({ protocol: 'udp', port: 53 })).toEqual({
      in: 'in_udp_53',
      out: 'out_udp_53',
    });
  });

  it('DR counts packets to the VIP in the forwarding rule, and replies from the VIP (which DR should not see)', () => {
    const dr = natService({ method: 'dr', port: 8080 });
    const ruleset = renderNftablesDr('eth0', '02:00:00:00:00:01', [dr]);
    expect(ruleset).toContain('  counter in_tcp_8080 {\n  }\n  counter out_tcp_8080 {\n  }');
    const rules = chainOf(ruleset, 'ingress_eth0');
    expect(rules[1]).toBe('    ip saddr 10.77.1.100 tcp sport 8080 counter name "out_tcp_8080"');
    // Counted before the MACs are rewritten and the packet leaves.
    expect(rules[2]).toMatch(
      /^ {4}ether daddr \S+ ip daddr 10\.77\.1\.100 tcp dport 8080 counter name "in_tcp_8080" ether saddr set /,
    );
  });
});

describe('natStandInCannot', () => {
  it.each(['rr', 'wrr', 'sh', 'dh'])('the stand-in can do %s', (scheduler) => {
    expect(natStandInCannot({ scheduler, persistence: 0 })).toBeUndefined();
  });

  it.each(['lc', 'wlc', 'lblc', 'lblcr', 'sed', 'nq'])(
    '%s needs IPVS (it counts connections)',
    (scheduler) => {
      expect(natStandInCannot({ scheduler, persistence: 0 })).toBe(
        `scheduler "${scheduler}" counts each real server's connections, which only IPVS keeps`,
      );
    },
  );

  it('persistence needs IPVS, even with a scheduler the stand-in knows', () => {
    expect(natStandInCannot({ scheduler: 'rr', persistence: 60 })).toBe(
      "persistence needs IPVS's persistent connection templates",
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The NAT forwarding method

describe('forwarding method nat', () => {
  const nat = forwardingMethod('nat');

  it('is masquerading everywhere it is named, and may change ports', () => {
    expect(nat).toMatchObject({
      name: 'nat',
      ipvsadmFlag: '-m',
      ipvsadmForward: 'Masq',
      keepalivedMethod: 'NAT',
      remapsPorts: true,
      dataPlanes: ['ipvs', 'nftables'],
      directorSysctls: {},
    });
    expect(nat.nftables?.file).toBe(NAT_CONF);
    expect(forwardingMethod('dr').remapsPorts).toBe(false);
  });

  it("makes the director the real server's default gateway, and nothing else", () => {
    expect(nat.realServer({ vip: undefined, directorIp: '10.77.2.129', ifnames: ['eth0'] })).toEqual({
      setup: [
        {
          summary: 'default route via the director (10.77.2.129): NAT replies return through it',
          commands: ['ip route replace default via 10.77.2.129'],
        },
      ],
      sysctls: {},
    });
    expect(nat.realServer({ vip: undefined, directorIp: undefined, ifnames: ['eth0'] })).toEqual({
      setup: [],
      sysctls: {},
    });
  });

  it('explains unanswered requests by the gateway, not by the VIP on lo', () => {
    expect(nat.unansweredHint).toContain("default route must point at its director's address");
    expect(forwardingMethod('dr').unansweredHint).toContain('arp_ignore=1');
  });

  it('the stand-in renders the NAT ruleset, which needs no interface', () => {
    const rendered = nat.nftables?.render({ ifname: 'eth9', mac: '' }, [natService()]) ?? '';
    expect(rendered).toBe(renderNftablesNat([natService()]));
    expect(nat.nftables?.cannot({ scheduler: 'lc', persistence: 0 })).toContain('only IPVS keeps');
    expect(nat.nftables?.differs(natService())).toBeUndefined();
  });

  describe('checkRealServer', () => {
    const director: NodeConfig = {
      kind: 'director',
      networks: { clients: '10.77.1.129', servers: '10.77.2.129' },
      vip: '10.77.1.100',
      'vip-on': 'clients',
    };
    const web1: NodeConfig = { kind: 'server', networks: { servers: '10.77.2.131' }, http: { port: 8080 } };
    const where = ['topology', 'nodes', 'lb', 'services', 0, 'real-servers', 0, 'node'];
    const check = (overrides: Partial<RealServerCheck> = {}) =>
      nat.checkRealServer({
        director: 'lb',
        directorNode: director,
        servicePort: 80,
        realServer: 'web1',
        realServerNode: web1,
        realServerPort: 8080,
        realServerPortKey: 'http.port',
        directorsOfRealServer: ['lb'],
        where,
        ...overrides,
      });

    it('accepts a real server behind its director on another port than the service', () => {
      expect(check()).toEqual([]);
    });

    it('needs a shared network: the director must be the gateway', () => {
      expect(check({ realServerNode: { ...web1, networks: { elsewhere: '10.99.0.5' } } })).toEqual([
        {
          path: where,
          message:
            'real server "web1" shares no network with director "lb"; in NAT mode the director must be its gateway',
          fix: 'attach web1 to one of: clients, servers',
        },
      ]);
    });

    it('refuses a real server on the network where the director holds the VIP', () => {
      const issues = check({ realServerNode: { ...web1, networks: { clients: '10.77.1.131' } } });
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({
        path: where,
        message: expect.stringContaining(
          'real server "web1" is on network "clients", where director "lb" holds the VIP',
        ),
      });
    });

    it("a real server on the VIP's network is fine when the VIP is on lo", () => {
      const onLo: NodeConfig = { ...director, 'vip-on': 'lo' };
      expect(
        check({ directorNode: onLo, realServerNode: { ...web1, networks: { clients: '10.77.1.131' } } }),
      ).toEqual([]);
    });

    it('refuses a NAT real server that holds the VIP, at its own vip key', () => {
      expect(check({ realServerNode: { ...web1, vip: '10.77.1.100' } })).toEqual([
        {
          path: ['topology', 'nodes', 'web1', 'vip'],
          message:
            'real server "web1" holds the VIP, but in NAT mode the director sends it packets for its own address',
          fix: 'remove vip: from web1 (only DR real servers hold the VIP)',
        },
      ]);
    });

    it('refuses a real server shared by two NAT directors (it has one default route)', () => {
      expect(check({ directorsOfRealServer: ['lb', 'lb2'] })).toEqual([
        expect.objectContaining({
          path: where,
          message: expect.stringContaining('real server "web1" is a NAT real server of lb and lb2'),
          fix: 'give each NAT director real servers of its own',
        }),
      ]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Directors: vip-on, OSPF, IPVS demands

describe('speaksOspf', () => {
  const base: NodeConfig = { kind: 'director', networks: { lan: '10.0.0.2' }, vip: '10.0.0.100' };

  it.each([
    ['the VIP on lo by default', {}, true],
    ['vip-on: lo', { 'vip-on': 'lo' }, true],
    ['the VIP on a network', { 'vip-on': 'lan' }, false],
    ['the VIP on a network and ospf: asked for', { 'vip-on': 'lan', ospf: { area: 0 } }, true],
  ] as [string, Partial<NodeConfig>, boolean][])('%s: %s', (_what, extra, speaks) => {
    expect(speaksOspf({ ...base, ...extra })).toBe(speaks);
  });
});

describe('servicesNeedingIpvs', () => {
  const director = (services: NodeConfig['services']): NodeConfig => ({
    kind: 'director',
    networks: { lan: '10.0.0.2' },
    vip: '10.0.0.100',
    services,
  });
  const rs = [{ node: 'web1' }];

  it('none when the stand-in can forward every service', () => {
    expect(
      servicesNeedingIpvs(
        director([
          { port: 80, method: 'nat', 'real-servers': rs },
          { port: 81, method: 'nat', scheduler: 'wrr', 'real-servers': rs },
          { port: 82, method: 'dr', scheduler: 'lc', persistence: 60, 'real-servers': rs },
        ]),
      ),
    ).toEqual([]);
  });

  it('names each NAT service the stand-in cannot forward, and why', () => {
    expect(
      servicesNeedingIpvs(
        director([
          { port: 80, method: 'nat', scheduler: 'lc', 'real-servers': rs },
          { port: 81, method: 'nat', 'real-servers': rs },
          { port: 53, protocol: 'udp', method: 'nat', persistence: 300, 'real-servers': rs },
        ]),
      ),
    ).toEqual([
      `TCP 10.0.0.100:80: scheduler "lc" counts each real server's connections, which only IPVS keeps`,
      "UDP 10.0.0.100:53: persistence needs IPVS's persistent connection templates",
    ]);
  });

  it('a method with no stand-in at all needs IPVS', () => {
    expect(servicesNeedingIpvs(director([{ port: 80, method: 'tun', 'real-servers': rs }]))).toEqual([
      'TCP 10.0.0.100:80: forwarding method "tun" has no nftables stand-in',
    ]);
  });
});

describe('directorsWantingIpvs and requireIpvsWhereDemanded', () => {
  const LC_WHY = `TCP 10.77.1.100:80: scheduler "lc" counts each real server's connections, which only IPVS keeps`;

  it('lvs-nat as shipped would like IPVS but can do without', () => {
    expect(directorsWantingIpvs(configOf(NAT_TEXT))).toEqual({ any: ['lb'], demanded: [] });
  });

  it('a NAT service with lc demands IPVS, and the preflight refuses an engine without it', () => {
    const wanting = directorsWantingIpvs(configOf(natWith('scheduler: rr', 'scheduler: lc')));
    expect(wanting).toEqual({ any: ['lb'], demanded: [{ node: 'lb', why: LC_WHY }] });

    let thrown: unknown;
    try {
      requireIpvsWhereDemanded(wanting.demanded, NO_IPVS);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LabError);
    const error = thrown as LabError;
    expect(error.stage).toBe('preflight');
    expect(error.message).toBe(
      `preflight: lb (${LC_WHY}) need(s) IPVS, but the engine's kernel has none (ip_vs module missing)`,
    );
    expect(error.hint).toContain('--engine sandbox');
  });

  it('persistence on a NAT service demands IPVS too', () => {
    const text = natWith('scheduler: rr', 'scheduler: rr\n          persistence: 300');
    expect(directorsWantingIpvs(configOf(text)).demanded).toEqual([
      { node: 'lb', why: "TCP 10.77.1.100:80: persistence needs IPVS's persistent connection templates" },
    ]);
  });

  it('engine: ipvs demands it; engine: nftables neither wants nor demands it', () => {
    const ipvs = directorsWantingIpvs(
      configOf(natWith('lvs: keepalived', 'lvs: keepalived\n      engine: ipvs')),
    );
    expect(ipvs.demanded).toEqual([{ node: 'lb', why: 'it sets engine: ipvs' }]);
    const nft = directorsWantingIpvs(
      configOf(natWith('lvs: keepalived', 'lvs: keepalived\n      engine: nftables')),
    );
    expect(nft).toEqual({ any: [], demanded: [] });
  });

  it('passes when the engine has IPVS, or when nothing demands it', () => {
    const demanded = [{ node: 'lb', why: LC_WHY }];
    expect(() => requireIpvsWhereDemanded(demanded, WITH_IPVS)).not.toThrow();
    expect(() => requireIpvsWhereDemanded([], NO_IPVS)).not.toThrow();
  });

  it('names every director that demands it, and says "unknown" when the probe gave no reason', () => {
    expect(() =>
      requireIpvsWhereDemanded(
        [
          { node: 'lb1', why: 'it sets engine: ipvs' },
          { node: 'lb2', why: LC_WHY },
        ],
        { ipvs: false },
      ),
    ).toThrow(
      `lb1 (it sets engine: ipvs), lb2 (${LC_WHY}) need(s) IPVS, but the engine's kernel has none (unknown)`,
    );
  });
});

describe('director lints, from the YAML', () => {
  const at = (...rest: (string | number)[]) => ['topology', 'nodes', ...rest];
  const messages = (issues: TopologyIssue[]) => issues.map((issue) => issue.message);

  it('the shipped labs validate cleanly', () => {
    expect(() => configOf(NAT_TEXT)).not.toThrow();
    expect(() => configOf(DR_TEXT)).not.toThrow();
  });

  it('vip-on naming a network the director is not on', () => {
    const text = natWith('vip-on: clients', 'vip-on: backend');
    const issues = issuesOf(text);
    expect(issues).toEqual([
      expect.objectContaining({
        path: at('lb', 'vip-on'),
        message: 'director "lb" holds its VIP on "backend", which is not one of its networks',
        fix: 'use lo or one of: clients, servers',
        line: text.split('\n').findIndex((line) => line.includes('vip-on: backend')) + 1,
      }),
    ]);
  });

  it('NAT real servers on the network where the director holds the VIP', () => {
    const issues = issuesOf(natWith('vip-on: clients', 'vip-on: servers'));
    expect(issues.map((issue) => issue.path)).toEqual([
      at('lb', 'services', 0, 'real-servers', 0, 'node'),
      at('lb', 'services', 0, 'real-servers', 1, 'node'),
    ]);
    expect(messages(issues)[1]).toContain(
      'real server "web2" is on network "servers", where director "lb" holds the VIP',
    );
  });

  it('a NAT real server that holds the VIP', () => {
    const text = natWith(
      'networks: { servers: 10.77.2.131 }',
      'networks: { servers: 10.77.2.131 }\n      vip: 10.77.1.100',
    );
    expect(issuesOf(text)).toEqual([
      expect.objectContaining({
        path: at('web1', 'vip'),
        message:
          'real server "web1" holds the VIP, but in NAT mode the director sends it packets for its own address',
      }),
    ]);
  });

  it('a NAT real server that shares no network with its director', () => {
    const text = natWith('networks: { servers: 10.77.2.132 }', 'networks: { clients: 10.77.1.132 }');
    const issues = issuesOf(text);
    // web2 is now beside the client, where the director holds the VIP: not its gateway either.
    expect(messages(issues)).toContain(
      'real server "web2" is on network "clients", where director "lb" holds the VIP: its replies to clients there would bypass the director and never be rewritten',
    );
    const apart = natWith(
      'ip-range: 10.77.2.128/25\n',
      'ip-range: 10.77.2.128/25\n    far:\n      subnet: 10.77.3.0/24\n',
    ).replace('networks: { servers: 10.77.2.132 }', 'networks: { far: 10.77.3.132 }');
    expect(issuesOf(apart)).toEqual([
      expect.objectContaining({
        path: at('lb', 'services', 0, 'real-servers', 1, 'node'),
        message:
          'real server "web2" shares no network with director "lb"; in NAT mode the director must be its gateway',
        fix: 'attach web2 to one of: clients, servers',
      }),
    ]);
  });

  it('a real server shared by two NAT directors: both directors hear of it', () => {
    const lb2 = [
      '    lb2:',
      '      kind: director',
      '      networks: { clients: 10.77.1.127, servers: 10.77.2.127 }',
      '      vip: 10.77.1.101',
      '      vip-on: clients',
      '      services:',
      '        - port: 80',
      '          method: nat',
      '          real-servers: [{ node: web2 }]',
      '',
      '    # lblab points',
    ].join('\n');
    const issues = issuesOf(natWith('    # lblab points', lb2));
    expect(issues.map((issue) => [issue.path, issue.message])).toEqual([
      [
        at('lb', 'services', 0, 'real-servers', 1, 'node'),
        expect.stringContaining('real server "web2" is a NAT real server of lb and lb2'),
      ],
      [
        at('lb2', 'services', 0, 'real-servers', 0, 'node'),
        expect.stringContaining('real server "web2" is a NAT real server of lb and lb2'),
      ],
    ]);
  });

  it('one director mixing DR and NAT', () => {
    const text = natWith(
      '            - { node: web2 }\n',
      '            - { node: web2 }\n        - port: 8080\n          method: dr\n          real-servers: [{ node: web1 }]\n',
    );
    expect(issuesOf(text)).toContainEqual(
      expect.objectContaining({
        path: at('lb', 'services'),
        message: 'director "lb" mixes forwarding methods (nat, dr)',
      }),
    );
  });

  it('a NAT lab switched to TUN: its real servers lack the VIP and listen on another port', () => {
    const messages = issuesOf(natWith('method: nat', 'method: tun')).map((issue) => issue.message);
    expect(messages).toContain(
      'real server "web1" does not hold the VIP 10.77.1.100; in TUN mode it unwraps packets for the VIP on tunl0 and would drop them',
    );
    expect(messages).toContain(
      'real server "web2" listens on 8080 but the service port is 80; TUN cannot change ports',
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The shipped labs, compiled

describe('topologies/lvs-nat.yml compiled', () => {
  let withIpvs: Plan;
  let withoutIpvs: Plan;
  beforeAll(() => {
    withIpvs = plan(NAT_TEXT, WITH_IPVS);
    withoutIpvs = plan(NAT_TEXT, NO_IPVS);
  });

  it("points each real server's default route at the director's address on their network", () => {
    for (const compiled of [withIpvs, withoutIpvs]) {
      for (const name of ['web1', 'web2']) {
        const server = nodeOf(compiled, name);
        expect(server.setup[0]?.commands).toEqual(['ip route replace default via 10.77.2.129']);
        expect(server.setupScript).toContain('ip route replace default via 10.77.2.129');
        // NAT real servers answer for their own address: no VIP, no ARP rules.
        expect(commandsOf(server).some((command) => command.includes('dev lo'))).toBe(false);
        expect(server.sysctls).toEqual({});
      }
    }
  });

  it('the director holds the VIP on its client-side interface and runs no FRR', () => {
    for (const compiled of [withIpvs, withoutIpvs]) {
      const lb = nodeOf(compiled, 'lb');
      expect(lb.interfaces.map((iface) => `${iface.ifname} ${iface.network}`)).toEqual([
        'eth0 clients',
        'eth1 servers',
      ]);
      expect(lb.setup[0]?.commands).toEqual(['ip addr add 10.77.1.100/32 dev eth0']);
      expect(lb.files.filter((file) => file.path.startsWith('/etc/frr/'))).toEqual([]);
      expect(lb.setup.map((step) => step.summary)).not.toContainEqual(expect.stringContaining('FRR'));
      expect(lb.setupScript).not.toContain('frrinit');
      expect(lb.readiness.map((check) => check.type)).not.toContain('frr-config');
      expect(lb.readiness.map((check) => check.type)).not.toContain('ospf-full');
      expect(lb.forwarding).toBe('nat');
      // NAT needs forwarding, not DR's ARP rules.
      expect(lb.sysctls).toEqual({ 'net.ipv4.ip_forward': '1' });
    }
  });

  it("with IPVS: keepalived in NAT mode to each real server's own port", () => {
    const lb = nodeOf(withIpvs, 'lb');
    expect(lb.dataPlane).toBe('ipvs');
    const conf = fileOf(lb, KEEPALIVED_CONF);
    expect(conf).toContain('virtual_server 10.77.1.100 80 {');
    expect(conf).toContain('  lvs_method NAT');
    expect(conf).toContain('  real_server 10.77.2.131 8080 {');
    expect(conf).toContain('  real_server 10.77.2.132 8080 {');
    expect(lb.readiness).toEqual([
      { type: 'ipvs-service', node: 'lb', service: 'TCP 10.77.1.100:80', realServers: 2, timeoutMs: 32_000 },
    ]);
    expect(withIpvs.warnings).toEqual([]);
  });

  it("with lvs: ipvsadm: masquerading (-m) to each real server's own port", () => {
    const lb = nodeOf(plan(natWith('lvs: keepalived', 'lvs: ipvsadm'), WITH_IPVS), 'lb');
    expect(lb.files.map((file) => file.path)).not.toContain(KEEPALIVED_CONF);
    expect(commandsOf(lb)).toEqual([
      'ip addr add 10.77.1.100/32 dev eth0',
      'ipvsadm -C',
      'ipvsadm -A -t 10.77.1.100:80 -s rr',
      'ipvsadm -a -t 10.77.1.100:80 -r 10.77.2.131:8080 -m -w 1',
      'ipvsadm -a -t 10.77.1.100:80 -r 10.77.2.132:8080 -m -w 1',
    ]);
  });

  it('without IPVS: the nftables NAT stand-in, and a warning that says why', () => {
    const lb = nodeOf(withoutIpvs, 'lb');
    expect(lb.dataPlane).toBe('nftables');
    expect(lb.files.map((file) => file.path)).toEqual([NAT_CONF]);
    expect(commandsOf(lb)).toContain(`nft -f ${NAT_CONF}`);
    expect(dnatRules(fileOf(lb, NAT_CONF))).toEqual([
      '    ip daddr 10.77.1.100 tcp dport 80 dnat ip to numgen inc mod 2 map { 0 : 10.77.2.131 . 8080, 1 : 10.77.2.132 . 8080 }',
    ]);
    expect(lb.readiness).toEqual([]);
    expect(withoutIpvs.warnings).toEqual([
      expect.stringMatching(
        /^lb: the engine's kernel has no IPVS \(ip_vs module missing\); using the nftables stand-in/,
      ),
    ]);
  });

  it('with ospf: asked for, a director with its VIP on a network runs FRR again', () => {
    const lb = nodeOf(
      plan(natWith('vip-on: clients', 'vip-on: clients\n      ospf: { area: 0 }'), WITH_IPVS),
      'lb',
    );
    expect(lb.files.map((file) => file.path)).toContain('/etc/frr/frr.conf');
    expect(lb.readiness.map((check) => check.type)).toContain('frr-config');
    expect(lb.setup.at(-1)?.summary).toContain('start FRR');
    // The VIP stays where it was asked to be.
    expect(lb.setup[0]?.commands).toEqual(['ip addr add 10.77.1.100/32 dev eth0']);
  });
});

describe('topologies/lvs-dr.yml compiled', () => {
  it('the director holds the VIP on eth0, not lo, and runs no FRR', () => {
    for (const facts of [WITH_IPVS, NO_IPVS]) {
      const lb = nodeOf(plan(DR_TEXT, facts), 'lb');
      expect(commandsOf(lb)).toContain('ip addr add 10.78.0.100/32 dev eth0');
      expect(commandsOf(lb)).not.toContain('ip addr add 10.78.0.100/32 dev lo');
      expect(lb.files.filter((file) => file.path.startsWith('/etc/frr/'))).toEqual([]);
      expect(lb.forwarding).toBe('dr');
    }
  });

  it('the real servers hold the VIP on lo with the ARP rules, and keep their default route', () => {
    const web1 = nodeOf(plan(DR_TEXT, WITH_IPVS), 'web1');
    expect(commandsOf(web1)).toContain('ip addr add 10.78.0.100/32 dev lo');
    expect(commandsOf(web1).some((command) => command.startsWith('ip route'))).toBe(false);
    expect(web1.sysctls).toMatchObject({
      'net.ipv4.conf.all.arp_ignore': '1',
      'net.ipv4.conf.all.arp_announce': '2',
    });
  });

  it("with IPVS keepalived forwards by DR; without, dr.nft forwards out of the VIP's interface", () => {
    expect(fileOf(nodeOf(plan(DR_TEXT, WITH_IPVS), 'lb'), KEEPALIVED_CONF)).toContain('  lvs_method DR');
    const lb = nodeOf(plan(DR_TEXT, NO_IPVS), 'lb');
    const ruleset = fileOf(lb, '/etc/lblab/dr.nft');
    expect(ruleset).toContain(`ether saddr set ${lb.interfaces[0]?.mac}`);
    expect(ruleset).toContain('fwd to "eth0"');
    expect(ruleset).toContain('counter name "in_tcp_8080"');
  });
});

// ---------------------------------------------------------------------------------------------------
// Reading a director's counters

const IPVSADM_NAT = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.77.1.100:80                    110      660      440    43560    55000
  -> 10.77.2.131:8080                   55      330      220    21780    27500
  -> 10.77.2.132:8080                   55      330      220    21780    27500
---
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.77.1.100:80 rr
  -> 10.77.2.131:8080             Masq    1      0          55
  -> 10.77.2.132:8080             Masq    1      0          55
`;

const NFT_COUNTERS = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    {
      counter: { family: 'ip', name: 'in_tcp_80', table: 'lblab_nat', handle: 1, packets: 570, bytes: 34000 },
    },
    {
      counter: {
        family: 'ip',
        name: 'out_tcp_80',
        table: 'lblab_nat',
        handle: 2,
        packets: 540,
        bytes: 60000,
      },
    },
  ],
});

describe('parseIpvsadm', () => {
  it('reads the stats and the Forward column of a NAT service', () => {
    expect(parseIpvsadm(IPVSADM_NAT)).toEqual([
      {
        protocol: 'tcp',
        vip: '10.77.1.100',
        port: 80,
        connections: 110,
        inPackets: 660,
        outPackets: 440,
        forwards: [
          { address: '10.77.2.131:8080', forward: 'Masq' },
          { address: '10.77.2.132:8080', forward: 'Masq' },
        ],
        tracked: 110,
      },
    ]);
  });

  it('keeps several services apart, UDP ones and persistent ones included', () => {
    const text = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.78.0.100:8080                   12       80        0     5200        0
  -> 10.78.0.131:8080                    6       40        0     2600        0
UDP  10.78.0.100:53                      3        3        0      180        0
  -> 10.78.0.131:53                      3        3        0      180        0
---
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.78.0.100:8080 rr persistent 60
  -> 10.78.0.131:8080             Route   1      0          6
UDP  10.78.0.100:53 sh
  -> 10.78.0.131:53               Route   1      0          0
  -> 10.78.0.132:53               Route   0      0          0
`;
    const services = parseIpvsadm(text);
    expect(services.map((s) => [s.protocol, s.port, s.connections, s.inPackets, s.outPackets])).toEqual([
      ['tcp', 8080, 12, 80, 0],
      ['udp', 53, 3, 3, 0],
    ]);
    expect(services[0]?.forwards).toEqual([{ address: '10.78.0.131:8080', forward: 'Route' }]);
    expect(services[1]?.forwards.map((f) => f.address)).toEqual(['10.78.0.131:53', '10.78.0.132:53']);
  });

  it('no services: nothing; no list after ---: counters without forwards', () => {
    expect(
      parseIpvsadm(
        'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n---\n',
      ),
    ).toEqual([]);
    const statsOnly = IPVSADM_NAT.split('---')[0] as string;
    expect(parseIpvsadm(statsOnly)).toEqual([expect.objectContaining({ inPackets: 660, forwards: [] })]);
  });
});

describe('countersSettled (IPVS publishes its counters every 2 s)', () => {
  const reading = (connections: number, inPackets: number, tracked: number): ServiceCounters => ({
    protocol: 'tcp',
    vip: '10.78.0.100',
    port: 8080,
    connections,
    inPackets,
    outPackets: 0,
    forwards: [],
    tracked,
  });

  it('never settles on a first reading', () => {
    expect(countersSettled(undefined, reading(10, 60, 10))).toBe(false);
  });

  it('settles when two readings agree and count every connection IPVS holds', () => {
    expect(countersSettled(reading(111, 570, 111), reading(111, 570, 111))).toBe(true);
    // Entries expire from the table; the counters keep them.
    expect(countersSettled(reading(111, 570, 40), reading(111, 570, 12))).toBe(true);
  });

  it('waits while the counters still move or lag behind the connection table', () => {
    expect(countersSettled(reading(49, 244, 111), reading(111, 570, 111))).toBe(false);
    // The estimator has not run yet in a new namespace: zeros that agree are not yet the truth.
    expect(countersSettled(reading(0, 0, 111), reading(0, 0, 111))).toBe(false);
  });
});

describe('parseNftCounters', () => {
  it("reads the stand-in's counters per service, with the method it forwards by", () => {
    expect(parseNftCounters(NFT_COUNTERS, 'Masq')).toEqual([
      {
        protocol: 'tcp',
        vip: '',
        port: 80,
        inPackets: 570,
        outPackets: 540,
        forwards: [{ address: '*', forward: 'Masq' }],
      },
    ]);
  });

  it('has no connection count, a missing out counter reads 0, and other counters are ignored', () => {
    const json = JSON.stringify({
      nftables: [
        {
          counter: {
            family: 'netdev',
            name: 'in_udp_53',
            table: 'lblab_dr',
            handle: 1,
            packets: 7,
            bytes: 420,
          },
        },
        {
          counter: { family: 'ip', name: 'somebody_else', table: 'filter', handle: 3, packets: 99, bytes: 1 },
        },
      ],
    });
    const [service] = parseNftCounters(json, 'Route');
    expect(service).toEqual({
      protocol: 'udp',
      vip: '',
      port: 53,
      inPackets: 7,
      outPackets: 0,
      forwards: [{ address: '*', forward: 'Route' }],
    });
    expect(service?.connections).toBeUndefined();
    expect(parseNftCounters('{"nftables":[]}', 'Masq')).toEqual([]);
  });

  it('throws on output that is not JSON (the step reports it)', () => {
    expect(() => parseNftCounters('Error: Could not process rule', 'Masq')).toThrow();
  });
});

describe('counts: parseCount, formatCount, countHolds', () => {
  it.each([
    [0, '=', 0, '0'],
    [5, '=', 5, '5'],
    ['7', '=', 7, '7'],
    ['=7', '=', 7, '7'],
    ['>0', '>', 0, '> 0'],
    ['>= 10', '>=', 10, '>= 10'],
    ['<3', '<', 3, '< 3'],
    ['<=3', '<=', 3, '<= 3'],
  ] as [number | string, string, number, string][])('%j is %s %d, shown as "%s"', (raw, op, value, shown) => {
    const count = parseCount(raw);
    expect(count).toEqual({ op, value });
    expect(formatCount(count)).toBe(shown);
  });

  it.each(['', 'many', '>', '-1', '1.5', '=>3', '>0 pkts'])('refuses %j', (raw) => {
    expect(() => parseCount(raw)).toThrow(`invalid count "${raw}"`);
  });

  it.each([
    ['0', 0, true],
    ['0', 1, false],
    ['>0', 1, true],
    ['>0', 0, false],
    ['>=10', 10, true],
    ['>=10', 9, false],
    ['<3', 2, true],
    ['<3', 3, false],
    ['<=3', 3, true],
    ['<=3', 4, false],
  ] as [string, number, boolean][])('%s holds for %d: %s', (raw, seen, holds) => {
    expect(countHolds(parseCount(raw), seen)).toBe(holds);
  });
});

describe('evaluateDirectorStats', () => {
  const ipvsNat = parseIpvsadm(IPVSADM_NAT)[0] as ServiceCounters;
  const nftNat = parseNftCounters(NFT_COUNTERS, 'Masq')[0] as ServiceCounters;
  const expectOf = (raw: Record<string, unknown>): DirectorStatsStep['expect'] => {
    const [step] = parseVerifySteps([{ 'director-stats': { node: 'lb', expect: raw } }]);
    return (step as DirectorStatsStep).expect;
  };
  const named = (results: ExpectationResult[], name: string) => {
    const result = results.find((r) => r.name === name);
    if (!result) throw new Error(`no ${name} result`);
    return result;
  };

  it('NAT on IPVS: Masq, packets in, replies back through the director', () => {
    const results = evaluateDirectorStats(
      expectOf({ forward: 'Masq', connections: '>=100', 'in-packets': '>0', 'out-packets': '>0' }),
      ipvsNat,
      false,
    );
    expect(results).toEqual([
      {
        name: 'forward',
        ok: true,
        expected: 'every real server forwarded by Masq',
        seen: '10.77.2.131:8080 Masq, 10.77.2.132:8080 Masq',
      },
      { name: 'connections', ok: true, expected: '>= 100', seen: '110' },
      { name: 'in-packets', ok: true, expected: '> 0', seen: '660' },
      { name: 'out-packets', ok: true, expected: '> 0', seen: '440' },
    ]);
  });

  it('expecting DR of a NAT director fails on the Forward column and on the replies', () => {
    const results = evaluateDirectorStats(expectOf({ forward: 'Route', 'out-packets': 0 }), ipvsNat, false);
    expect(named(results, 'forward')).toMatchObject({
      ok: false,
      expected: 'every real server forwarded by Route',
    });
    expect(named(results, 'out-packets')).toMatchObject({
      ok: false,
      expected: '0',
      seen: '440',
      hint: expect.stringContaining('replies passed back through the director: in DR and TUN'),
    });
  });

  it("NAT with no replies back hints at the real servers' default route", () => {
    const quiet: ServiceCounters = { ...ipvsNat, outPackets: 0 };
    expect(
      named(evaluateDirectorStats(expectOf({ 'out-packets': '>0' }), quiet, false), 'out-packets'),
    ).toEqual({
      name: 'out-packets',
      ok: false,
      expected: '> 0',
      seen: '0',
      hint: "no replies passed back through the director: in NAT the real servers' default route must point at it",
    });
  });

  it('no packets in hints at the route to the VIP', () => {
    const idle: ServiceCounters = { ...ipvsNat, inPackets: 0 };
    expect(
      named(evaluateDirectorStats(expectOf({ 'in-packets': '>0' }), idle, false), 'in-packets').hint,
    ).toContain('does the route to the VIP lead here?');
  });

  it("on the nftables stand-in: the method's Forward, packets counted, connections not counted", () => {
    const results = evaluateDirectorStats(
      expectOf({ forward: 'Masq', connections: '>0', 'in-packets': '>0', 'out-packets': '>0' }),
      nftNat,
      true,
    );
    expect(named(results, 'forward')).toMatchObject({
      ok: true,
      seen: "* Masq (the nftables stand-in's method)",
    });
    expect(named(results, 'connections')).toMatchObject({
      ok: false,
      seen: 'not counted',
      hint: expect.stringContaining('keeps no connection table'),
    });
    expect(named(results, 'in-packets')).toMatchObject({ ok: true, seen: '570' });
    expect(named(results, 'out-packets')).toMatchObject({ ok: true, seen: '540' });
  });

  it('a service without real servers never passes forward', () => {
    const empty: ServiceCounters = { ...ipvsNat, forwards: [] };
    expect(evaluateDirectorStats(expectOf({ forward: 'Masq' }), empty, false)).toEqual([
      {
        name: 'forward',
        ok: false,
        expected: 'every real server forwarded by Masq',
        seen: 'no real servers',
      },
    ]);
  });

  it('a mixed Forward column fails', () => {
    const mixed: ServiceCounters = {
      ...ipvsNat,
      forwards: [
        { address: '10.77.2.131:8080', forward: 'Masq' },
        { address: '10.77.2.132:8080', forward: 'Route' },
      ],
    };
    expect(named(evaluateDirectorStats(expectOf({ forward: 'Masq' }), mixed, false), 'forward').ok).toBe(
      false,
    );
  });

  it('nothing expected, nothing judged', () => {
    expect(evaluateDirectorStats(expectOf({}), ipvsNat, false)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// neighbor

describe('parseNeighborMac', () => {
  it.each([
    ['10.78.0.100 dev eth0 lladdr 02:E0:69:D4:8C:C3 REACHABLE\n', '02:e0:69:d4:8c:c3'],
    ['10.78.0.100 dev eth0 lladdr 02:e0:69:d4:8c:c3 STALE', '02:e0:69:d4:8c:c3'],
    ['10.78.0.100 dev eth0 INCOMPLETE\n', undefined],
    ['10.78.0.100 dev eth0 FAILED\n', undefined],
    ['', undefined],
  ])('%j -> %s', (output, mac) => {
    expect(parseNeighborMac(output)).toBe(mac);
  });
});

describe('judgeNeighbor (on the compiled lvs-dr and lvs-nat labs)', () => {
  const dr = plan(DR_TEXT, WITH_IPVS);
  const client = nodeOf(dr, 'client');
  const lbMac = nodeOf(dr, 'lb').interfaces[0]?.mac as string;
  const web1Mac = nodeOf(dr, 'web1').interfaces[0]?.mac as string;
  const step: Pick<NeighborStep, 'ip' | 'owner'> = { ip: '10.78.0.100', owner: 'lb' };

  it('passes when the director answered ARP for the VIP (whatever the case of the MAC)', () => {
    const mac = parseNeighborMac(`10.78.0.100 dev eth0 lladdr ${lbMac.toUpperCase()} REACHABLE\n`);
    expect(judgeNeighbor(step, mac, client, dr.nodes)).toEqual({
      name: 'owner',
      ok: true,
      expected: `lb's MAC on lan (${lbMac})`,
      seen: `${lbMac} (lb)`,
    });
  });

  it('names the real server that answered instead, and the ARP rules it lacks', () => {
    expect(judgeNeighbor(step, web1Mac, client, dr.nodes)).toMatchObject({
      ok: false,
      seen: `${web1Mac} (web1)`,
      hint: expect.stringMatching(
        /^web1 answered ARP for 10\.78\.0\.100: a DR real server must hold the VIP on lo/,
      ),
    });
  });

  it('no entry, or a MAC of no lab node: nothing of ours answered', () => {
    expect(judgeNeighbor(step, undefined, client, dr.nodes)).toMatchObject({
      ok: false,
      seen: 'no entry: nothing answered ARP for it',
      hint: "no node answered ARP for 10.78.0.100: is it on lb's interface (vip-on)?",
    });
    expect(judgeNeighbor(step, '02:42:ac:11:00:99', client, dr.nodes)).toMatchObject({
      ok: false,
      seen: '02:42:ac:11:00:99',
    });
  });

  it('an owner that shares no network with the asking node cannot pass', () => {
    const nat = plan(NAT_TEXT, WITH_IPVS);
    const web1 = nodeOf(nat, 'web1');
    expect(
      judgeNeighbor(
        { ip: '10.77.2.131', owner: 'web1' },
        web1.interfaces[0]?.mac,
        nodeOf(nat, 'client'),
        nat.nodes,
      ),
    ).toEqual({
      name: 'owner',
      ok: false,
      expected: "web1's MAC",
      seen: web1.interfaces[0]?.mac,
      hint: 'web1 shares no network with client, so client cannot reach it by ARP',
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// The new steps' checks, and http-tally's min-failures

describe('checkVerifySteps for director-stats, neighbor and min-failures', () => {
  const NODES = new Set(['client', 'lb', 'web1', 'web2']);
  const KINDS = new Map([
    ['client', 'linux'],
    ['lb', 'director'],
    ['web1', 'server'],
    ['web2', 'server'],
  ]);
  const issuesFor = (raw: unknown[]) => checkVerifySteps(parseVerifySteps(raw), NODES, KINDS);

  it('accepts the new steps where they make sense', () => {
    expect(
      issuesFor([
        {
          'director-stats': {
            node: 'lb',
            expect: { forward: 'Masq', 'in-packets': '>0', 'out-packets': '>0' },
          },
        },
        { neighbor: { node: 'client', ip: '10.77.1.100', owner: 'lb' } },
        {
          'http-tally': {
            node: 'client',
            url: 'http://10.77.1.100/',
            requests: 10,
            expect: { 'min-failures': 3 },
          },
        },
      ]),
    ).toEqual([]);
  });

  it('director-stats on a node that is not a director', () => {
    expect(issuesFor([{ 'director-stats': { node: 'client' } }])).toEqual([
      {
        path: ['verify', 0, 'director-stats', 'node'],
        message: 'director-stats needs a node of kind director; "client" is a linux',
        fix: 'run it on lb',
      },
    ]);
  });

  it('neighbor with an owner that is not a node, or an address that is not IPv4', () => {
    expect(issuesFor([{ neighbor: { node: 'client', ip: '10.77.1.100', owner: 'lb9' } }])).toEqual([
      {
        path: ['verify', 0, 'neighbor', 'owner'],
        message: 'unknown node "lb9"; the topology\'s nodes are client, lb, web1, web2',
        fix: 'use one of the node names under topology.nodes',
      },
    ]);
    expect(issuesFor([{ neighbor: { node: 'client', ip: '10.77.1.300', owner: 'lb' } }])).toEqual([
      { path: ['verify', 0, 'neighbor', 'ip'], message: '"10.77.1.300" is not an IPv4 address' },
    ]);
  });

  it('min-failures more than the requests, or more than max-failures', () => {
    const tally = (expect: Record<string, number>) => ({
      'http-tally': { node: 'client', url: 'http://10.77.1.100/', requests: 10, expect },
    });
    expect(issuesFor([tally({ 'min-failures': 11 })])).toEqual([
      {
        path: ['verify', 0, 'http-tally', 'expect', 'min-failures'],
        message: 'min-failures 11 cannot be met by 10 requests',
      },
    ]);
    expect(issuesFor([tally({ 'min-failures': 5, 'max-failures': 2 })])).toEqual([
      {
        path: ['verify', 0, 'http-tally', 'expect', 'min-failures'],
        message: 'min-failures 5 is more than max-failures 2',
        fix: 'drop max-failures, or make it at least min-failures',
      },
    ]);
  });

  it('in a lab file: the issue points at the line of min-failures', () => {
    const text = natWith(
      'expect: { only: [web1], min-failures: 3 }',
      'expect: { only: [web1], min-failures: 30 }',
    );
    const issues = issuesOf(text);
    expect(issues).toEqual([
      expect.objectContaining({
        path: ['verify', 5, 'http-tally', 'expect', 'min-failures'],
        message: 'min-failures 30 cannot be met by 10 requests',
        line: text.split('\n').findIndex((line) => line.includes('min-failures: 30')) + 1,
      }),
    ]);
  });

  it('parses director-stats with its defaults and its counts', () => {
    const [step] = parseVerifySteps([
      { 'director-stats': { node: 'lb', port: 80, expect: { forward: 'Masq', 'out-packets': '>0' } } },
    ]);
    expect(step).toMatchObject({
      type: 'director-stats',
      name: 'director-stats lb :80',
      node: 'lb',
      port: 80,
      expect: { forward: 'Masq', outPackets: { op: '>', value: 0 } },
    });
    expect((step as DirectorStatsStep).timeoutMs).toBeGreaterThan(0);
    expect(
      parseVerifySteps([{ neighbor: { node: 'client', ip: '10.78.0.100', owner: 'lb' } }])[0]?.name,
    ).toBe('neighbor 10.78.0.100 on client is lb');
  });
});

describe('http-tally min-failures', () => {
  const tallyStep = (expect: Record<string, unknown>, requests = 10): HttpTallyStep =>
    parseVerifySteps([
      { 'http-tally': { node: 'client', url: 'http://10.77.1.100/', requests, expect } },
    ])[0] as HttpTallyStep;
  const facts = { node: 'client', header: 'X-Host', sources: [], target: '10.77.1.100', directors: ['lb'] };
  const records = (answered: number, timedOut: number): RequestRecord[] => [
    ...Array.from({ length: answered }, (): RequestRecord => ({ status: 200, header: 'web1', ms: 3 })),
    ...Array.from({ length: timedOut }, (): RequestRecord => ({
      status: 0,
      ms: 1000,
      error: 'curl exit 28: timed out',
    })),
  ];

  it('expecting failures lifts the default limit of none; an explicit max-failures stays', () => {
    expect(tallyStep({ 'min-failures': 3 }).expect).toMatchObject({ minFailures: 3, maxFailures: 10 });
    expect(tallyStep({ 'min-failures': 3 }, 40).expect.maxFailures).toBe(40);
    expect(tallyStep({ 'min-failures': 3, 'max-failures': 6 }).expect.maxFailures).toBe(6);
    expect(tallyStep({}).expect).toMatchObject({ maxFailures: 0 });
    expect(tallyStep({}).expect.minFailures).toBeUndefined();
  });

  it('passes when enough requests failed (web2 lost its gateway)', () => {
    const { expect: expectation } = tallyStep({ only: ['web1'], 'min-failures': 3 });
    const results = evaluateTally(expectation, tallyRecords(records(5, 5), 'X-Host'), facts);
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['max-failures', true],
      ['min-failures', true],
      ['only', true],
    ]);
    expect(results[1]).toEqual({
      name: 'min-failures',
      ok: true,
      expected: 'at least 3 failed of 10',
      seen: '5 failed',
    });
  });

  it('fails, with a hint, when the service kept working', () => {
    const { expect: expectation } = tallyStep({ 'min-failures': 3 });
    const result = evaluateTally(expectation, tallyRecords(records(8, 2), 'X-Host'), facts).find(
      (r) => r.name === 'min-failures',
    );
    expect(result).toMatchObject({
      ok: false,
      expected: 'at least 3 failed of 10',
      seen: '2 failed',
      hint: expect.stringContaining('the service kept working although this experiment expects it to break'),
    });
  });

  it("unexpected timeouts on a NAT lab point at the real servers' default route", () => {
    const { expect: expectation } = tallyStep({});
    const [maxFailures] = evaluateTally(expectation, tallyRecords(records(9, 1), 'X-Host'), {
      ...facts,
      forwardingMethod: 'nat',
    });
    expect(maxFailures).toMatchObject({ name: 'max-failures', ok: false });
    expect(maxFailures?.hint).toContain(
      "in NAT mode each real server's default route must point at its director's address",
    );
  });
});

const SCHEDULERS_TEXT = readFileSync('topologies/lvs-schedulers.yml', 'utf8');

describe('the shares lint (weights against declared shares)', () => {
  it('passes the shipped schedulers lab, whose shares follow its weights', () => {
    expect(() => configOf(SCHEDULERS_TEXT)).not.toThrow();
  });

  it('names the service, what its weights give, and the fix when a weight does not fit the shares', () => {
    const issues = issuesOf(edit(SCHEDULERS_TEXT, '{ node: web2, weight: 2 }', '{ node: web2, weight: 1 }'));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(['verify', 2, 'http-tally', 'expect', 'shares']);
    expect(issues[0]?.message).toBe(
      "lb's wrr service on :8082 (weights 3:1:1) gives web1 60 %, web2 20 %, web3 20 %, which these shares cannot match within 5 points",
    );
    expect(issues[0]?.fix).toContain('weight / total');
  });

  it('flags a share for a value that is not one of the real servers', () => {
    const issues = issuesOf(edit(SCHEDULERS_TEXT, 'web3: 0.167 }', 'web9: 0.167 }'));
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringContaining('(web9 is not one of its real servers)'),
    ]);
  });

  it('leaves tallies from several sources alone (they follow hashing and persistence, not weights)', () => {
    // The last tally (rr from twelve sources) gets shares rr cannot give; with sources it is not judged.
    const thirds = 'shares: { web1: 0.333, web2: 0.333, web3: 0.334 }';
    const at = SCHEDULERS_TEXT.lastIndexOf(thirds);
    const text = `${SCHEDULERS_TEXT.slice(0, at)}shares: { web1: 0.5, web2: 0.25, web3: 0.25 }${SCHEDULERS_TEXT.slice(at + thirds.length)}`;
    expect(text).not.toBe(SCHEDULERS_TEXT);
    expect(() => configOf(text)).not.toThrow();
    // The same shares on the unsourced rr tally are caught.
    const first = SCHEDULERS_TEXT.indexOf(thirds);
    const unsourced = `${SCHEDULERS_TEXT.slice(0, first)}shares: { web1: 0.5, web2: 0.25, web3: 0.25 }${SCHEDULERS_TEXT.slice(first + thirds.length)}`;
    expect(issuesOf(unsourced).map((i) => i.path)).toEqual([['verify', 1, 'http-tally', 'expect', 'shares']]);
  });
});

describe('engine: nftables and services the stand-in cannot forward', () => {
  it('is refused at validation with the reason and the fix', () => {
    const text = natWith('lvs: keepalived', 'lvs: keepalived\n      engine: nftables').replace(
      'scheduler: rr',
      'scheduler: lc',
    );
    const issues = issuesOf(text);
    expect(issues.map((i) => i.message)).toEqual([
      'engine: nftables cannot forward this service as declared: scheduler "lc" counts each real server\'s connections, which only IPVS keeps',
    ]);
    expect(issues[0]?.fix).toContain('engine: auto or ipvs');
  });
});

describe('verify steps that need a trait the node lacks as configured', () => {
  it('refuses an OSPF show on a director that runs no FRR', () => {
    const text = `${NAT_TEXT}  - show: { node: lb, what: ospf-neighbors }\n`;
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toBe(
      'show "ospf-neighbors" needs a node with "frr", and "lb" (a director) has none as configured',
    );
  });

  it('accepts it once the director speaks OSPF', () => {
    const text = `${natWith('vip-on: clients', 'vip-on: clients\n      ospf: { area: 0 }')}  - show: { node: lb, what: ospf-neighbors }\n`;
    expect(() => configOf(text)).not.toThrow();
  });
});

describe('least privilege for directors', () => {
  it('gives SYS_ADMIN (and the no-mount seccomp profile) only to a director that runs FRR', () => {
    const withoutFrr = nodeOf(plan(NAT_TEXT, WITH_IPVS), 'lb');
    expect(withoutFrr.capAdd.sort()).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(withoutFrr.seccomp).toBeUndefined();
    const withFrr = nodeOf(
      plan(natWith('vip-on: clients', 'vip-on: clients\n      ospf: { area: 0 }'), WITH_IPVS),
      'lb',
    );
    expect(withFrr.capAdd).toContain('SYS_ADMIN');
    expect(withFrr.seccomp).toBeDefined();
  });
});

describe('a router beside a director without OSPF', () => {
  it('does not wait for a route to a VIP that nothing advertises', () => {
    const text = natWith(
      '    client:\n      kind: linux',
      '    rtr:\n      kind: router\n      networks: { clients: 10.77.1.140 }\n\n    client:\n      kind: linux',
    );
    const router = nodeOf(plan(text, WITH_IPVS), 'rtr');
    expect(router.readiness.filter((check) => check.type === 'route')).toEqual([]);
    // ...while the seed lab's router still waits for both directors' nexthops.
    const seed = readFileSync('topologies/ecmp-lvs-dr.yml', 'utf8');
    const seedRouter = nodeOf(plan(seed, WITH_IPVS), 'router');
    expect(seedRouter.readiness.filter((check) => check.type === 'route')).toEqual([
      expect.objectContaining({ prefix: '172.16.253.100/32', nexthops: 2 }),
    ]);
  });
});

const TUN_TEXT = readFileSync('topologies/lvs-tun.yml', 'utf8');

describe('topologies/lvs-tun.yml compiled', () => {
  const sandbox = { engine: 'sandbox' as const, splitsNodes: true, ipvs: true };

  it('puts the director and the real servers (ipip) in the sandbox guest, the client and router on the host', () => {
    const compiled = compile(configOf(TUN_TEXT), {
      file: FILE,
      text: TUN_TEXT,
      defaultImage: IMAGE,
      facts: sandbox,
    });
    const where = Object.fromEntries(compiled.nodes.map((n) => [n.name, n.placement]));
    expect(where).toEqual({ client: 'host', lb: 'guest', r2: 'host', web1: 'guest', web2: 'guest' });
    expect(nodeOf(compiled, 'web1').kernel).toEqual(['ipip']);
    expect(nodeOf(compiled, 'lb').kernel).toEqual(['ipvs']);
  });

  it('gives each real server the VIP on tunl0, rp_filter off and an MTU of 1480', () => {
    const web1 = nodeOf(plan(TUN_TEXT, WITH_IPVS), 'web1');
    expect(commandsOf(web1)).toEqual(
      expect.arrayContaining([
        'ip link set tunl0 up',
        'ip addr add 10.80.1.100/32 dev tunl0',
        'ip link set dev eth0 mtu 1480',
      ]),
    );
    expect(commandsOf(web1)).not.toContain('ip addr add 10.80.1.100/32 dev lo');
    expect(web1.sysctls).toMatchObject({
      'net.ipv4.conf.all.rp_filter': '0',
      'net.ipv4.conf.tunl0.rp_filter': '0',
      'net.ipv4.conf.all.arp_ignore': '1',
    });
  });

  it('programs IPVS with -i (ipvsadm) or TUN (keepalived)', () => {
    const keepalived = fileOf(nodeOf(plan(TUN_TEXT, WITH_IPVS), 'lb'), KEEPALIVED_CONF);
    expect(keepalived).toContain('lvs_method TUN');
    const ipvsadm = commandsOf(
      nodeOf(plan(edit(TUN_TEXT, 'lvs: keepalived', 'lvs: ipvsadm'), WITH_IPVS), 'lb'),
    );
    expect(ipvsadm).toContain('ipvsadm -a -t 10.80.1.100:8080 -r 10.80.2.131:8080 -i -w 1');
  });

  it('demands IPVS (there is no stand-in) and refuses engine: nftables at validation', () => {
    expect(directorsWantingIpvs(configOf(TUN_TEXT)).demanded).toEqual([
      { node: 'lb', why: 'TCP 10.80.1.100:8080: forwarding method "tun" has no nftables stand-in' },
    ]);
    const messages = issuesOf(
      edit(TUN_TEXT, 'lvs: keepalived', 'lvs: keepalived\n      engine: nftables'),
    ).map((issue) => issue.message);
    expect(messages).toEqual(['forwarding method "tun" needs IPVS; the nftables stand-in cannot do it']);
  });
});

describe('own config files (config:)', () => {
  const OWN_TEXT = readFileSync('topologies/own-config/lvs-dr.yml', 'utf8');
  const ownFiles = {
    'keepalived.conf': 'global_defs {\n  router_id MINE\n}\n',
    'nginx-web1.conf': '# mine 1\n',
    'nginx-web2.conf': '# mine 2\n',
  };
  const compileOwn = (files: Record<string, string>) =>
    compile(configOf(OWN_TEXT), {
      file: FILE,
      text: OWN_TEXT,
      defaultImage: IMAGE,
      facts: WITH_IPVS,
      ownFiles: files,
    });

  it("replaces the rendered files with the user's, and keeps readiness", () => {
    const compiled = compileOwn(ownFiles);
    const lb = nodeOf(compiled, 'lb');
    expect(fileOf(lb, KEEPALIVED_CONF)).toBe(ownFiles['keepalived.conf']);
    expect(lb.readiness).toEqual([expect.objectContaining({ type: 'ipvs-service', realServers: 2 })]);
    expect(fileOf(nodeOf(compiled, 'web2'), '/etc/nginx/nginx.conf')).toBe('# mine 2\n');
    expect(nodeOf(compiled, 'web2').readiness).toEqual([
      expect.objectContaining({ type: 'http', header: { name: 'X-Host', value: 'web2' } }),
    ]);
  });

  it('makes a changed own file a changed lab (the topology hash covers it)', () => {
    const before = compileOwn(ownFiles).topologyHash;
    const after = compileOwn({ ...ownFiles, 'nginx-web1.conf': '# changed\n' }).topologyHash;
    expect(after).not.toBe(before);
  });

  it('asks ospfd only for `router ospf` in an own frr.conf, and nothing when it has none', () => {
    const seed = readFileSync('topologies/ecmp-lvs-dr.yml', 'utf8');
    const text = edit(
      seed,
      '    router:\n      kind: router\n',
      '    router:\n      kind: router\n      config: { frr: router.conf }\n',
    );
    const compiled = (conf: string) =>
      nodeOf(
        compile(configOf(text), {
          file: FILE,
          text,
          defaultImage: IMAGE,
          facts: WITH_IPVS,
          ownFiles: { 'router.conf': conf },
        }),
        'router',
      );
    const withOspf = compiled('hostname r\nrouter ospf\n network 172.16.253.0/24 area 0\n');
    expect(fileOf(withOspf, '/etc/frr/frr.conf')).toContain('hostname r');
    expect(withOspf.readiness.find((c) => c.type === 'frr-config')).toMatchObject({
      daemons: [{ daemon: 'ospfd', holds: ['router ospf'] }],
    });
    expect(compiled('hostname r\n').readiness.some((c) => c.type === 'frr-config')).toBe(false);
  });

  it('refuses a config a kind cannot take, a path outside the lab, and configs nothing would read', () => {
    const onClient = edit(
      OWN_TEXT,
      '      networks: { lan: 10.78.0.130 }',
      '      networks: { lan: 10.78.0.130 }\n      config: { nginx: nginx-web1.conf }',
    );
    expect(issuesOf(onClient).map((i) => i.message)).toEqual([
      'a linux runs no nginx, so it cannot take a nginx config',
    ]);
    const outside = edit(
      OWN_TEXT,
      'config: { keepalived: keepalived.conf }',
      'config: { keepalived: ../../etc/keepalived.conf }',
    );
    expect(issuesOf(outside).map((i) => i.message)).toEqual([
      'config file "../../etc/keepalived.conf" is outside the lab\'s directory',
    ]);
    const unused = edit(OWN_TEXT, 'lvs: keepalived', 'lvs: ipvsadm');
    expect(issuesOf(unused).map((i) => i.message)).toEqual([
      'director "lb" brings a keepalived.conf but programs IPVS with ipvsadm',
    ]);
    const noFrr = edit(OWN_TEXT, 'config: { keepalived: keepalived.conf }', 'config: { frr: lb.conf }');
    expect(issuesOf(noFrr).map((i) => i.message)).toEqual([
      'director "lb" brings an frr.conf but runs no FRR (its VIP is on lan and it has no ospf:)',
    ]);
  });
});

describe('openTopology reads own config files', () => {
  it('reads them relative to the topology file, and names a missing one at its line', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { openTopology } = await import('../../src/topology/open.js');
    const dir = mkdtempSync(join(tmpdir(), 'lblab-own-'));
    try {
      const text = readFileSync('topologies/own-config/lvs-dr.yml', 'utf8');
      writeFileSync(join(dir, 'lab.yml'), text);
      writeFileSync(join(dir, 'keepalived.conf'), 'global_defs { router_id X }\n');
      writeFileSync(join(dir, 'nginx-web1.conf'), '# one\n');
      const missing = await openTopology(join(dir, 'lab.yml')).catch((error: unknown) => error);
      expect(missing).toBeInstanceOf(TopologyError);
      const issue = (missing as TopologyError).issues[0];
      expect(issue?.message).toBe(`config file ${join(dir, 'nginx-web2.conf')} does not exist`);
      expect(issue?.line).toBe(text.split('\n').findIndex((line) => line.includes('nginx-web2.conf')) + 1);
      writeFileSync(join(dir, 'nginx-web2.conf'), '# two\n');
      const opened = await openTopology(join(dir, 'lab.yml'));
      expect(opened.ownFiles).toEqual({
        'keepalived.conf': 'global_defs { router_id X }\n',
        'nginx-web1.conf': '# one\n',
        'nginx-web2.conf': '# two\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// UDP services: a responder on the real servers, ipvsadm -u / keepalived UDP_CHECK, udp-tally

describe('UDP services', () => {
  it('NAT maps the UDP service port to each real server UDP responder, for ipvsadm and keepalived', () => {
    const ipvsadm = nodeOf(plan(edit(NAT_UDP_TEXT, 'lvs: keepalived', 'lvs: ipvsadm'), WITH_IPVS), 'lb');
    expect(commandsOf(ipvsadm).join('\n')).toContain('ipvsadm -A -u 10.77.1.100:53 -s rr');
    expect(commandsOf(ipvsadm).join('\n')).toContain(
      'ipvsadm -a -u 10.77.1.100:53 -r 10.77.2.131:8053 -m -w 1',
    );
    const keepalived = fileOf(nodeOf(plan(NAT_UDP_TEXT, WITH_IPVS), 'lb'), KEEPALIVED_CONF);
    expect(keepalived).toContain('virtual_server 10.77.1.100 53 {');
    expect(keepalived).toContain('  real_server 10.77.2.132 8053 {');
  });

  it('a server with udp: runs a stream server in the same nginx and waits until it answers as itself', () => {
    const web1 = nodeOf(plan(NAT_UDP_TEXT, WITH_IPVS), 'web1');
    const conf = fileOf(web1, '/etc/nginx/nginx.conf');
    expect(conf.startsWith('load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n')).toBe(true);
    expect(conf).toContain(
      '    listen 8053 udp reuseport;\n    return "X-Host: web1\\nX-Remote-IP: $remote_addr\\n";',
    );
    expect(web1.readiness.map((check) => check.type)).toEqual(['http', 'udp']);
    expect(web1.readiness[1]).toMatchObject({
      host: '127.0.0.1',
      port: 8053,
      header: { name: 'X-Host', value: 'web1' },
    });
  });

  it('a server without udp: loads no stream module', () => {
    const web1 = nodeOf(plan(DR_TEXT, WITH_IPVS), 'web1');
    expect(fileOf(web1, '/etc/nginx/nginx.conf')).not.toContain('stream');
    expect(web1.readiness.map((check) => check.type)).toEqual(['http']);
  });

  it('refuses a UDP service whose real server has no UDP responder, saying what to add', () => {
    const text = edit(NAT_UDP_TEXT, '      udp: { port: 8053 }\n\n    web2:', '\n    web2:');
    expect(issuesOf(text)).toEqual([
      expect.objectContaining({
        message: 'real server "web1" of a UDP service has no UDP responder',
        fix: 'add `udp: { port: 8053 }` to web1',
      }),
    ]);
  });

  it('DR names udp.port when a UDP real server listens on another port than the service', () => {
    const text = edit(
      edit(DR_TEXT, '          method: dr\n', '          method: dr\n          protocol: udp\n'),
      'web1:\n      kind: server\n',
      'web1:\n      kind: server\n      udp: { port: 9053 }\n',
    );
    expect(issuesOf(text).map((issue) => issue.fix)).toContain(
      'set udp.port: 8080 on web1 or port: 9053 on the service',
    );
  });
});

describe('udp-tally and hold-connections steps', () => {
  const NODES = new Set(['client', 'lb', 'web1']);
  const KINDS = new Map([
    ['client', 'linux'],
    ['lb', 'director'],
    ['web1', 'server'],
  ]);
  const issuesFor = (raw: unknown[]) => checkVerifySteps(parseVerifySteps(raw), NODES, KINDS);

  it('accepts a UDP tally and a hold within nginx idle timeout', () => {
    expect(
      issuesFor([
        { 'udp-tally': { node: 'client', target: '10.77.1.100:53', requests: 20, expect: { distinct: 2 } } },
        { 'hold-connections': { node: 'client', target: '10.79.1.100:8085', count: 4, for: '45s' } },
      ]),
    ).toEqual([]);
  });

  it('parses a UDP tally target into host and port, with a 1 s answer timeout', () => {
    const [step] = parseVerifySteps([{ 'udp-tally': { node: 'client', target: '10.77.1.100:53' } }]);
    expect(step).toMatchObject({
      type: 'udp-tally',
      host: '10.77.1.100',
      port: 53,
      requests: 100,
      timeoutMs: 1000,
    });
  });

  it('stretches the default answer timeout with the engine (a UML guest stalls), never a given one', async () => {
    const sent: string[][] = [];
    const runtime = {
      exec: async (_container: string, cmd: string[]) => {
        sent.push(cmd);
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    } as unknown as ContainerRuntime;
    const plan = { nodes: [], tuning: tuningFor('sandbox') } as unknown as Plan;
    const node = { name: 'client', containerName: 'lblab-x-client' } as PlannedNode;
    const target = { node: 'client', target: '10.77.1.100:53', requests: 1 };
    for (const raw of [target, { ...target, timeout: '500ms' }]) {
      const [step] = parseVerifySteps([{ 'udp-tally': raw }]);
      await udpTallyStep.run(step!, { runtime, plan, node, waitFor: async () => {}, undoLater: () => {} });
    }
    // perl -e SCRIPT host port requests timeout-in-seconds
    expect(sent.map((cmd) => cmd[6])).toEqual(['3', '0.5']);
  });

  it('refuses a UDP port out of range and a tally expecting more values than requests', () => {
    expect(
      issuesFor([
        {
          'udp-tally': { node: 'client', target: '10.77.1.100:70000', requests: 2, expect: { distinct: 3 } },
        },
      ]).map((issue) => issue.message),
    ).toEqual(['port 70000 is not between 1 and 65535', 'distinct 3 cannot be met by 2 requests']);
  });

  it('refuses a hold longer than nginx keeps an idle connection, saying why', () => {
    expect(
      issuesFor([
        { 'hold-connections': { node: 'client', target: '10.79.1.100:8085', count: 4, for: '2m' } },
      ]),
    ).toEqual([
      expect.objectContaining({
        path: ['verify', 0, 'hold-connections', 'for'],
        message: 'for must be from 1s to 55s, not 120000ms',
      }),
    ]);
  });

  it('judges the hold by the established connections the node counts', () => {
    expect(judgeHeld(4, 4)).toEqual({
      name: 'established',
      ok: true,
      expected: '4 connection(s) established',
      seen: '4',
    });
    expect(judgeHeld(4, 1)).toMatchObject({ ok: false, seen: '1' });
  });

  it('turns UDP exchanges into tally records: answers by their X-Host line, silence as a failure', () => {
    const records = toUdpRecords(
      [
        { ms: 1.2, reply: ['X-Host: web1', 'X-Remote-IP: 10.77.1.130'] },
        { ms: 1000, error: 'timed out' },
        { ms: 0.9, reply: ['no header here'] },
      ],
      { header: 'X-Host', sources: [] },
    );
    expect(records).toEqual([{ ms: 1.2, header: 'web1' }, { ms: 1000, error: 'timed out' }, { ms: 0.9 }]);
    const tally = tallyRecords(records, 'X-Host');
    expect(tally.values).toEqual([{ value: 'web1', count: 1, share: 1 }]);
    expect(tally.failureReasons).toEqual([
      { reason: 'no X-Host header', count: 1 },
      { reason: 'timed out', count: 1 },
    ]);
  });
});

describe('parseUdpExchangeOutput', () => {
  it('reads one line per datagram and keeps a missing one as a failure', () => {
    const out =
      '0\t0.001200\treply\tX-Host: web1\\nX-Remote-IP: 10.77.1.130\\n\n2\t1.000100\terror\tConnection refused\n';
    expect(parseUdpExchangeOutput(out, 3)).toEqual([
      { ms: 1.2, reply: ['X-Host: web1', 'X-Remote-IP: 10.77.1.130'] },
      { ms: 0, error: 'no output for this request' },
      { ms: 1000.1, error: 'connection refused (nothing listens on that port)' },
    ]);
  });

  it('finds a reply line by name without case', () => {
    expect(replyValue(['x-host:  web2 ', 'X-Remote-IP: 1.2.3.4'], 'X-Host')).toBe('web2');
    expect(replyValue(['X-Remote-IP: 1.2.3.4'], 'X-Host')).toBeUndefined();
  });

  it('passes every value as its own argument, never as script text', () => {
    const cmd = udpExchangeCommand({
      host: '10.0.0.1',
      port: 53,
      requests: 5,
      timeoutMs: 500,
      sources: ['10.0.0.9'],
    });
    expect(cmd.slice(0, 2)).toEqual(['perl', '-e']);
    expect(cmd.slice(3)).toEqual(['10.0.0.1', '53', '5', '0.5', '10.0.0.9']);
  });
});

describe('weight step', () => {
  const LIST = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.79.1.100:8085 lc
  -> 10.79.2.131:8080             Masq    1      4          0
  -> 10.79.2.132:8080             Masq    0      0          0
`;
  it('finds a real server by its address, with the method to keep and the weight to put back', () => {
    expect(realServerEntry(LIST, '10.79.2.132')).toEqual({
      address: '10.79.2.132:8080',
      forward: 'Masq',
      weight: 0,
    });
    expect(realServerEntry(LIST, '10.79.2.13')).toBeUndefined();
  });

  it('is checked against the topology: a director, a known real server, a VIP:port', () => {
    const NODES = new Set(['client', 'lb', 'web1']);
    const KINDS = new Map([
      ['client', 'linux'],
      ['lb', 'director'],
      ['web1', 'server'],
    ]);
    const issues = checkVerifySteps(
      parseVerifySteps([
        { weight: { node: 'lb', service: '10.79.1.100:8085', 'real-server': 'web1', weight: 0 } },
        { weight: { node: 'client', service: '10.79.1.100:99999', 'real-server': 'web9', weight: 0 } },
      ]),
      NODES,
      KINDS,
    );
    expect(issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['verify.1.weight.node', 'weight needs a node of kind director; "client" is a linux'],
      ['verify.1.weight.real-server', expect.stringContaining('web9')],
      ['verify.1.weight.service', 'service "10.79.1.100:99999" is not VIP:port'],
    ]);
  });
});

describe('link step', () => {
  it('puts back the static routes the kernel drops with a link, not the kernel nor a daemon ones', () => {
    const routes = `default via 10.77.2.129 dev eth0
10.77.2.0/24 dev eth0 proto kernel scope link src 10.77.2.131
172.16.253.100 nhid 12 proto ospf metric 20
10.99.0.0/16 via 10.77.2.1 dev eth0 proto static
10.50.0.0/16 via 10.60.0.1 dev eth1
172.16.1.0/24 via 10.77.2.140 dev eth0 proto ospf metric 20
`;
    expect(routesToRestore(routes, 'eth0')).toEqual([
      'default via 10.77.2.129 dev eth0',
      '10.99.0.0/16 via 10.77.2.1 dev eth0 proto static',
    ]);
    expect(routesToRestore(routes, 'eth1')).toEqual(['10.50.0.0/16 via 10.60.0.1 dev eth1']);
  });

  it('reads the administrative state from ip -o link show', () => {
    expect(linkIsUp('2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP')).toBe(
      true,
    );
    expect(linkIsUp('2: eth0@if9: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN')).toBe(false);
  });
});
