/**
 * Bad topologies, each one mistake away from the seed lab, and the exact issue each one gets:
 * where (line:col, and the text found there), which document path, what is wrong and what to do.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TopologyError, type SourceLocation, type TopologyIssue } from '../../src/core/issue.js';
import {
  firstInvalidUtf8Offset,
  loadTopologyFile,
  MAX_TOPOLOGY_BYTES,
  parseTopologyText,
} from '../../src/topology/load.js';
import { validateTopology } from '../../src/topology/validate.js';
import { closest } from '../../src/util/suggest.js';

/** The seed lab (topologies/ecmp-lvs-dr.yml) without its comments, so line numbers stay put here. */
const SEED = `name: ecmp-lvs-dr
topology:
  defaults:
    ospf-timers: fast
  networks:
    lan:
      subnet: 172.16.253.0/24
      ip-range: 172.16.253.128/25
  nodes:
    router:
      kind: router
      networks: { lan: 172.16.253.135 }
      sysctls:
        net.ipv4.fib_multipath_hash_policy: 0
      ospf: { area: 0, networks: [172.16.253.0/24] }
    lb1:
      kind: director
      networks: { lan: 172.16.253.129 }
      vip: 172.16.253.100
      lvs: keepalived
      engine: auto
      services:
        - port: 8080
          protocol: tcp
          scheduler: rr
          method: dr
          health-check: { http-get: /, status: 200, connect-timeout: 3, delay-loop: 6 }
          real-servers:
            - { node: server1, weight: 1 }
    lb2:
      kind: director
      networks: { lan: 172.16.253.131 }
      vip: 172.16.253.100
      services:
        - port: 8080
          real-servers:
            - { node: server2 }
    server1:
      kind: server
      networks: { lan: 172.16.253.130 }
      vip: 172.16.253.100
      http: { port: 8080, identity: server1 }
    server2:
      kind: server
      networks: { lan: 172.16.253.134 }
      vip: 172.16.253.100
      http: { port: 8080, identity: server2 }
`;

/** The seed with one piece of text replaced; the piece must occur exactly once. */
function seedWith(from: string, to: string): string {
  const parts = SEED.split(from);
  if (parts.length !== 2) throw new Error(`"${from}" occurs ${parts.length - 1} times in the seed`);
  return parts.join(to);
}

/** The seed plus a `verify:` list. */
function seedVerifying(steps: string): string {
  return `${SEED}verify:\n${steps}`;
}

/** A minimal lab for what the seed cannot show (a null nodes mapping, for one). */
const TINY_HEAD = `name: tiny
topology:
  networks: { lan: { subnet: 10.0.0.0/24 } }
`;

function issuesOf(source: string | Uint8Array, file = 'lab.yml'): (TopologyIssue & SourceLocation)[] {
  const bytes = typeof source === 'string' ? Buffer.from(source) : source;
  try {
    validateTopology(parseTopologyText(file, bytes));
  } catch (error) {
    if (error instanceof TopologyError) return error.issues;
    throw error;
  }
  throw new Error('the topology was accepted');
}

/** The source text from line:col to the end of that line. */
function textAt(source: string, { line, col }: SourceLocation): string {
  return (source.split('\n')[line - 1] ?? '').slice(col - 1);
}

interface Expected {
  path: (string | number)[];
  line: number;
  col: number;
  /** What the source holds at line:col (a prefix of the rest of that line). */
  at: string;
  /** The location is the key's, not the value's (unknown or misplaced keys). */
  atKey?: boolean;
  message: string;
  fix?: string;
}

interface BadTopology {
  name: string;
  yaml: string;
  issues: Expected[];
}

const NODE_NAME_RULE = "Lowercase letters, digits and '-', starting with a letter, at most 31 characters.";
const STEP_KEYS =
  'sysctl, addresses, http-tally, udp-tally, hold-connections, weight, link, wait, exec, show, director-stats, neighbor, stop, start, restart, daemon, impair, http-load';
const POOL_FIX = 'set topology.networks.lan.ip-range to a range that leaves the VIP out';

const BAD_TOPOLOGIES: BadTopology[] = [
  {
    name: 'YAML syntax error: a stray closing brace',
    yaml: seedWith('identity: server2 }', 'identity: server2 }}'),
    issues: [
      {
        path: [],
        line: 47,
        col: 46,
        at: '}',
        message: 'YAML: Unexpected flow-map-end token in YAML stream: "}"',
        fix: 'fix the YAML syntax',
      },
    ],
  },
  {
    name: 'YAML syntax error: an unterminated quote',
    yaml: seedWith('name: ecmp-lvs-dr', "name: 'ecmp-lvs-dr"),
    issues: [
      {
        path: [],
        line: 48,
        col: 1,
        at: '',
        message: "YAML: Missing closing 'quote",
        fix: 'fix the YAML syntax',
      },
    ],
  },
  {
    name: 'duplicate node name',
    yaml: seedWith('    server2:\n', '    server1:\n'),
    issues: [
      {
        path: [],
        line: 43,
        col: 5,
        at: 'server1:',
        message: 'YAML: duplicate key "server1" in one mapping',
        fix: 'each key may appear once in a mapping; rename or merge the two entries',
      },
    ],
  },
  {
    name: 'unknown top-level key, with did-you-mean',
    yaml: seedWith('topology:\n', 'topolgy: {}\ntopology:\n'),
    issues: [
      {
        path: ['topolgy'],
        line: 2,
        col: 1,
        at: 'topolgy:',
        atKey: true,
        message: 'unknown key "topolgy"',
        fix: 'did you mean "topology"?',
      },
    ],
  },
  {
    name: 'unknown node key "netwroks" (and so no networks)',
    yaml: seedWith('      networks: { lan: 172.16.253.130 }', '      netwroks: { lan: 172.16.253.130 }'),
    issues: [
      {
        path: ['topology', 'nodes', 'server1'],
        line: 39,
        col: 7,
        at: 'kind: server',
        message: 'missing required key "networks"',
        fix: 'add `networks:`',
      },
      {
        path: ['topology', 'nodes', 'server1', 'netwroks'],
        line: 40,
        col: 7,
        at: 'netwroks:',
        atKey: true,
        message: 'unknown key "netwroks"',
        fix: 'did you mean "networks"?',
      },
    ],
  },
  {
    name: 'a key that does not apply to the kind: vip on a router',
    yaml: seedWith(
      '      networks: { lan: 172.16.253.135 }\n',
      '      networks: { lan: 172.16.253.135 }\n      vip: 172.16.253.100\n',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'router', 'vip'],
        line: 13,
        col: 7,
        at: 'vip: 172.16.253.100',
        atKey: true,
        message: 'key "vip" does not apply to kind router',
        fix: 'remove it, or use a kind that has it (director, server)',
      },
    ],
  },
  {
    name: 'a misspelt kind: did you mean, and the list',
    yaml: seedWith('kind: router', 'kind: routr'),
    issues: [
      {
        path: ['topology', 'nodes', 'router', 'kind'],
        line: 11,
        col: 13,
        at: 'routr',
        message: 'kind "routr" is not supported',
        fix: 'did you mean "router"? supported kinds are: router, director, server, linux',
      },
    ],
  },
  {
    name: 'unknown kind lists the kinds',
    yaml: seedWith('kind: router', 'kind: switch'),
    issues: [
      {
        path: ['topology', 'nodes', 'router', 'kind'],
        line: 11,
        col: 13,
        at: 'switch',
        message: 'kind "switch" is not supported',
        fix: 'supported kinds are: router, director, server, linux',
      },
    ],
  },
  {
    name: 'missing lab name',
    yaml: seedWith('name: ecmp-lvs-dr\n', ''),
    issues: [
      {
        path: [],
        line: 1,
        col: 1,
        at: 'topology:',
        message: 'missing required key "name"',
        fix: 'add `name:`',
      },
    ],
  },
  {
    name: 'lab name with capitals and an underscore',
    yaml: seedWith('name: ecmp-lvs-dr', 'name: Ecmp_Lab'),
    issues: [
      {
        path: ['name'],
        line: 1,
        col: 7,
        at: 'Ecmp_Lab',
        message: '"Ecmp_Lab" is not valid',
        fix: NODE_NAME_RULE,
      },
    ],
  },
  {
    name: 'node name with a capital letter',
    yaml: seedWith('    server2:\n', '    Server2:\n'),
    issues: [
      {
        path: ['topology', 'nodes', 'Server2'],
        line: 43,
        col: 5,
        at: 'Server2:',
        atKey: true,
        message: 'name "Server2" is not valid',
        fix: NODE_NAME_RULE,
      },
    ],
  },
  {
    name: 'node name that YAML reads as a number',
    yaml: seedWith('    server2:\n', '    42:\n'),
    issues: [
      {
        path: ['topology', 'nodes', '42'],
        line: 43,
        col: 5,
        at: '42:',
        atKey: true,
        message: 'name "42" is not valid',
        fix: NODE_NAME_RULE,
      },
    ],
  },
  {
    name: 'address outside the subnet',
    yaml: seedWith('lan: 172.16.253.130', 'lan: 10.0.0.5'),
    issues: [
      {
        path: ['topology', 'nodes', 'server1', 'networks', 'lan'],
        line: 40,
        col: 24,
        at: '10.0.0.5',
        message: 'address 10.0.0.5 is outside network "lan" (172.16.253.0/24)',
        fix: 'use an address in 172.16.253.0/24',
      },
    ],
  },
  {
    name: 'not an IPv4 address',
    yaml: seedWith('lan: 172.16.253.134', 'lan: 172.16.253.256'),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'networks', 'lan'],
        line: 45,
        col: 24,
        at: '172.16.253.256',
        message: '"172.16.253.256" is not valid',
        fix: 'An IPv4 address in dotted-quad form, e.g. 172.16.253.10.',
      },
    ],
  },
  {
    name: 'duplicate address',
    yaml: seedWith('lan: 172.16.253.134', 'lan: 172.16.253.130'),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'networks', 'lan'],
        line: 45,
        col: 24,
        at: '172.16.253.130',
        message: 'address 172.16.253.130 is already used by node "server1"',
        fix: 'give each node its own address',
      },
    ],
  },
  {
    name: 'the network address',
    yaml: seedWith('lan: 172.16.253.134', 'lan: 172.16.253.0'),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'networks', 'lan'],
        line: 45,
        col: 24,
        at: '172.16.253.0 }',
        message: 'address 172.16.253.0 is the network or broadcast address of 172.16.253.0/24',
        fix: 'use a host address',
      },
    ],
  },
  {
    name: 'the broadcast address',
    yaml: seedWith('lan: 172.16.253.134', 'lan: 172.16.253.255'),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'networks', 'lan'],
        line: 45,
        col: 24,
        at: '172.16.253.255',
        message: 'address 172.16.253.255 is the network or broadcast address of 172.16.253.0/24',
        fix: 'use a host address',
      },
    ],
  },
  {
    name: "the default gateway (the subnet's first address)",
    yaml: seedWith('lan: 172.16.253.134', 'lan: 172.16.253.1'),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'networks', 'lan'],
        line: 45,
        col: 24,
        at: '172.16.253.1 }',
        message: 'address 172.16.253.1 is the gateway of network "lan" (the Docker host\'s side)',
        fix: 'use another host address',
      },
    ],
  },
  {
    name: 'an explicit gateway',
    yaml: seedWith(
      '      ip-range: 172.16.253.128/25\n',
      '      ip-range: 172.16.253.128/25\n      gateway: 172.16.253.134\n',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'networks', 'lan'],
        line: 46,
        col: 24,
        at: '172.16.253.134',
        message: 'address 172.16.253.134 is the gateway of network "lan" (the Docker host\'s side)',
        fix: 'use another host address',
      },
    ],
  },
  {
    name: 'unknown network, with did-you-mean',
    yaml: seedWith('lan: 172.16.253.135', 'lna: 172.16.253.135'),
    issues: [
      {
        path: ['topology', 'nodes', 'router', 'networks', 'lna'],
        line: 12,
        col: 19,
        at: 'lna: 172.16.253.135',
        atKey: true,
        message: 'network "lna" is not declared under topology.networks',
        fix: 'did you mean "lan"?',
      },
    ],
  },
  {
    name: 'subnet with host bits',
    yaml: seedWith('subnet: 172.16.253.0/24', 'subnet: 172.16.253.1/24'),
    issues: [
      {
        path: ['topology', 'networks', 'lan', 'subnet'],
        line: 7,
        col: 15,
        at: '172.16.253.1/24',
        message: 'subnet 172.16.253.1/24 has host bits set',
        fix: 'write the network address, e.g. 172.16.253.0/24',
      },
    ],
  },
  {
    name: 'ip-range outside the subnet',
    yaml: seedWith('ip-range: 172.16.253.128/25', 'ip-range: 172.16.254.128/25'),
    issues: [
      {
        path: ['topology', 'networks', 'lan', 'ip-range'],
        line: 8,
        col: 17,
        at: '172.16.254.128/25',
        message: 'ip-range 172.16.254.128/25 is not inside subnet 172.16.253.0/24',
        fix: 'pick a range inside the subnet',
      },
    ],
  },
  {
    name: 'gateway outside the subnet',
    yaml: seedWith(
      '      ip-range: 172.16.253.128/25\n',
      '      ip-range: 172.16.253.128/25\n      gateway: 10.0.0.1\n',
    ),
    issues: [
      {
        path: ['topology', 'networks', 'lan', 'gateway'],
        line: 9,
        col: 16,
        at: '10.0.0.1',
        message: 'gateway 10.0.0.1 is not inside subnet 172.16.253.0/24',
        fix: 'pick an address inside the subnet',
      },
    ],
  },
  {
    name: 'overlapping networks',
    yaml: seedWith(
      '  nodes:\n',
      '    mgmt:\n      subnet: 172.16.0.0/16\n      ip-range: 172.16.0.0/24\n  nodes:\n',
    ),
    issues: [
      {
        path: ['topology', 'networks', 'mgmt', 'subnet'],
        line: 10,
        col: 15,
        at: '172.16.0.0/16',
        message: 'subnet 172.16.0.0/16 overlaps network "lan" (172.16.253.0/24)',
        fix: 'give every network its own subnet',
      },
    ],
  },
  {
    name: 'subnet too small for a lab',
    yaml: `${TINY_HEAD.replace('10.0.0.0/24', '10.0.0.0/30')}  nodes:\n    a: { kind: linux, networks: { lan: 10.0.0.2 } }\n`,
    issues: [
      {
        path: ['topology', 'networks', 'lan', 'subnet'],
        line: 3,
        col: 30,
        at: '10.0.0.0/30',
        message: 'subnet 10.0.0.0/30 is too small for a lab',
        fix: 'use /29 or larger',
      },
    ],
  },
  {
    name: "VIP inside Docker's pool: no ip-range, so the whole subnet",
    yaml: seedWith('      ip-range: 172.16.253.128/25\n', ''),
    issues: (
      [
        ['lb1', 18],
        ['lb2', 32],
        ['server1', 40],
        ['server2', 45],
      ] as const
    ).map(([node, line]) => ({
      path: ['topology', 'nodes', node, 'vip'],
      line,
      col: 12,
      at: '172.16.253.100',
      message: 'VIP 172.16.253.100 is inside Docker\'s address pool for network "lan" (172.16.253.0/24)',
      fix: POOL_FIX,
    })),
  },
  {
    name: "VIP inside Docker's pool: an ip-range that contains it",
    yaml: seedWith('ip-range: 172.16.253.128/25', 'ip-range: 172.16.253.64/26'),
    issues: (
      [
        ['lb1', 19],
        ['lb2', 33],
        ['server1', 41],
        ['server2', 46],
      ] as const
    ).map(([node, line]) => ({
      path: ['topology', 'nodes', node, 'vip'],
      line,
      col: 12,
      at: '172.16.253.100',
      message: 'VIP 172.16.253.100 is inside Docker\'s address pool for network "lan" (172.16.253.64/26)',
      fix: POOL_FIX,
    })),
  },
  {
    name: "VIP equal to a node's interface address",
    yaml: seedWith('lan: 172.16.253.130', 'lan: 172.16.253.100'),
    issues: (
      [
        ['lb1', 19],
        ['lb2', 33],
        ['server1', 41],
        ['server2', 46],
      ] as const
    ).map(([node, line]) => ({
      path: ['topology', 'nodes', node, 'vip'],
      line,
      col: 12,
      at: '172.16.253.100',
      message: 'VIP 172.16.253.100 is node "server1"\'s interface address',
      fix: 'the VIP must be an address of its own',
    })),
  },
  {
    name: 'director without vip or services',
    yaml: seedWith(
      '      vip: 172.16.253.100\n      services:\n        - port: 8080\n          real-servers:\n            - { node: server2 }\n',
      '',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'lb2'],
        line: 31,
        col: 7,
        at: 'kind: director',
        message: 'director "lb2" has no vip',
        fix: 'add `vip: <address>` (e.g. 172.16.253.100)',
      },
      {
        path: ['topology', 'nodes', 'lb2'],
        line: 31,
        col: 7,
        at: 'kind: director',
        message: 'director "lb2" has no services',
        fix: 'add `services:` with a port and real-servers',
      },
    ],
  },
  {
    name: 'real server that does not exist lists the servers',
    yaml: seedWith('{ node: server2 }', '{ node: server3 }'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb2', 'services', 0, 'real-servers', 0, 'node'],
        line: 37,
        col: 23,
        at: 'server3 }',
        message: 'real server "server3" is not a node of this topology',
        fix: 'use one of: server1, server2',
      },
    ],
  },
  {
    name: 'real server that is not a server',
    yaml: seedWith('{ node: server2 }', '{ node: router }'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb2', 'services', 0, 'real-servers', 0, 'node'],
        line: 37,
        col: 23,
        at: 'router }',
        message: 'real server "router" is a router, not a server',
        fix: 'point real-servers at nodes of kind server',
      },
    ],
  },
  {
    name: 'real server without the VIP',
    yaml: seedWith(
      '      vip: 172.16.253.100\n      http: { port: 8080, identity: server2 }',
      '      http: { port: 8080, identity: server2 }',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'lb2', 'services', 0, 'real-servers', 0, 'node'],
        line: 37,
        col: 23,
        at: 'server2 }',
        message:
          'real server "server2" does not hold the VIP 172.16.253.100; in DR mode it would drop the traffic',
        fix: 'add `vip: 172.16.253.100` to node server2',
      },
    ],
  },
  {
    name: 'real server port differs from the service port',
    yaml: seedWith('http: { port: 8080, identity: server1 }', 'http: { port: 9090, identity: server1 }'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb1', 'services', 0, 'real-servers', 0, 'node'],
        line: 29,
        col: 23,
        at: 'server1, weight: 1 }',
        message: 'real server "server1" listens on 9090 but the service port is 8080; DR cannot change ports',
        fix: 'set http.port: 8080 on server1 or port: 9090 on the service',
      },
    ],
  },
  {
    name: 'real server on no network shared with its director',
    yaml: seedWith(
      '  nodes:\n',
      '    dmz:\n      subnet: 172.16.254.0/24\n      ip-range: 172.16.254.128/25\n  nodes:\n',
    ).replace('lan: 172.16.253.134', 'dmz: 172.16.254.10'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb2', 'services', 0, 'real-servers', 0, 'node'],
        line: 40,
        col: 23,
        at: 'server2 }',
        message: 'real server "server2" shares no network with director "lb2"; DR needs one L2 segment',
        fix: 'attach server2 to one of: lan',
      },
    ],
  },
  {
    name: 'method tun: a real server without the VIP',
    yaml: seedWith('method: dr', 'method: tun').replace(
      '      vip: 172.16.253.100\n      http: { port: 8080, identity: server1 }',
      '      http: { port: 8080, identity: server1 }',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'lb1', 'services', 0, 'real-servers', 0, 'node'],
        line: 29,
        col: 23,
        at: 'server1',
        message:
          'real server "server1" does not hold the VIP 172.16.253.100; in TUN mode it unwraps packets for the VIP on tunl0 and would drop them',
        fix: 'add `vip: 172.16.253.100` to node server1',
      },
    ],
  },
  {
    name: 'every weight 0 (on any engine)',
    yaml: SEED.replace('{ node: server1, weight: 1 }', '{ node: server1, weight: 0 }'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb1', 'services', 0, 'real-servers'],
        line: 29,
        col: 13,
        at: '- { node: server1, weight: 0 }',
        message: 'every real server has weight 0, so the service would forward no traffic',
        fix: 'give at least one real server a weight above 0',
      },
    ],
  },
  {
    name: 'port written as a string',
    yaml: seedWith(
      '        - port: 8080\n          real-servers',
      '        - port: "8080"\n          real-servers',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'lb2', 'services', 0, 'port'],
        line: 35,
        col: 17,
        at: '"8080"',
        message: 'expected integer, got string "8080"',
        fix: 'write 8080 without quotes',
      },
    ],
  },
  {
    name: 'port out of range',
    yaml: seedWith(
      '        - port: 8080\n          real-servers',
      '        - port: 0\n          real-servers',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'lb2', 'services', 0, 'port'],
        line: 35,
        col: 17,
        at: '0',
        message: '0 is out of range (it must be >= 1)',
        fix: 'use a value from 1 to 65535',
      },
    ],
  },
  {
    name: 'networks written as a list',
    yaml: seedWith('      networks: { lan: 172.16.253.130 }', '      networks: [lan]'),
    issues: [
      {
        path: ['topology', 'nodes', 'server1', 'networks'],
        line: 40,
        col: 17,
        at: '[lan]',
        message: 'expected object, got a list',
        fix: 'write a mapping (key: value lines, indented)',
      },
    ],
  },
  {
    name: 'env value that is a mapping',
    yaml: seedWith(
      '      http: { port: 8080, identity: server2 }',
      '      http: { port: 8080, identity: server2 }\n      env: { GOOD: { nested: 1 } }',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'env', 'GOOD'],
        line: 48,
        col: 20,
        at: '{ nested: 1 }',
        message: 'expected string, number or boolean, got a mapping',
        fix: 'use a string, number or boolean',
      },
    ],
  },
  {
    name: 'nodes: with nothing under it',
    yaml: `${TINY_HEAD}  nodes:\n`,
    issues: [
      {
        path: ['topology', 'nodes'],
        line: 4,
        col: 9,
        at: '',
        message: 'expected object, got null',
        fix: 'write a mapping (key: value lines, indented)',
      },
    ],
  },
  {
    name: 'scheduler "rrr" suggests rr',
    yaml: seedWith('scheduler: rr', 'scheduler: rrr'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb1', 'services', 0, 'scheduler'],
        line: 25,
        col: 22,
        at: 'rrr',
        message: '"rrr" is not allowed here',
        fix: 'did you mean "rr"?',
      },
    ],
  },
  {
    name: 'scheduler "x" is too far from anything to guess: lists them',
    yaml: seedWith('scheduler: rr', 'scheduler: x'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb1', 'services', 0, 'scheduler'],
        line: 25,
        col: 22,
        at: 'x',
        message: '"x" is not allowed here',
        fix: 'expected one of: rr, wrr, lc, wlc, sh, dh, lblc, lblcr, sed, nq',
      },
    ],
  },
  {
    name: 'engine "ipvss"',
    yaml: seedWith('engine: auto', 'engine: ipvss'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb1', 'engine'],
        line: 21,
        col: 15,
        at: 'ipvss',
        message: '"ipvss" is not allowed here',
        fix: 'did you mean "ipvs"?',
      },
    ],
  },
  {
    name: 'lvs "keepalive"',
    yaml: seedWith('lvs: keepalived', 'lvs: keepalive'),
    issues: [
      {
        path: ['topology', 'nodes', 'lb1', 'lvs'],
        line: 20,
        col: 12,
        at: 'keepalive',
        message: '"keepalive" is not allowed here',
        fix: 'did you mean "keepalived"?',
      },
    ],
  },
  {
    name: 'OSPF area that is neither a number nor a dotted quad',
    yaml: seedWith('area: 0', 'area: backbone'),
    issues: [
      {
        path: ['topology', 'nodes', 'router', 'ospf', 'area'],
        line: 15,
        col: 21,
        at: 'backbone',
        message: '"backbone" is not valid here',
        fix: 'Area id, as a number (0) or dotted quad (0.0.0.0).',
      },
    ],
  },
  {
    name: 'health-check path with a space and a semicolon',
    yaml: seedWith('http-get: /,', "http-get: '/a b;reboot',"),
    issues: [
      {
        path: ['topology', 'nodes', 'lb1', 'services', 0, 'health-check', 'http-get'],
        line: 27,
        col: 37,
        at: "'/a b;reboot'",
        message: '"/a b;reboot" is not valid',
        fix: 'The URL path keepalived checks: starts with /, then letters, digits and ._~/- only.',
      },
    ],
  },
  {
    name: 'bind source above the lab directory',
    yaml: seedWith(
      '      http: { port: 8080, identity: server2 }',
      '      http: { port: 8080, identity: server2 }\n      binds: [conf/nginx:/etc/nginx, ../x:/y]',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'binds', 1],
        line: 48,
        col: 38,
        at: '../x:/y',
        message: 'bind source "../x" is outside the lab\'s directory',
        fix: 'use a path relative to the topology file, inside its directory',
      },
    ],
  },
  {
    name: 'bind source that is an absolute host path',
    yaml: seedWith(
      '      http: { port: 8080, identity: server2 }',
      "      http: { port: 8080, identity: server2 }\n      binds: ['/etc:/y']",
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'binds', 0],
        line: 48,
        col: 15,
        at: "'/etc:/y'",
        message: 'bind source "/etc" is outside the lab\'s directory',
        fix: 'use a path relative to the topology file, inside its directory',
      },
    ],
  },
  {
    name: 'sysctl outside net.*',
    yaml: seedWith('net.ipv4.fib_multipath_hash_policy: 0', 'kernel.panic: 0'),
    issues: [
      {
        path: ['topology', 'nodes', 'router', 'sysctls', 'kernel.panic'],
        line: 14,
        col: 9,
        at: 'kernel.panic: 0',
        atKey: true,
        message: 'name "kernel.panic" is not valid',
        fix: 'Only network sysctls (net.*) can be set per container, e.g. net.ipv4.ip_forward.',
      },
    ],
  },
  {
    name: 'sysctl value with backticks',
    yaml: seedWith('net.ipv4.fib_multipath_hash_policy: 0', "net.ipv4.fib_multipath_hash_policy: '`reboot`'"),
    issues: [
      {
        path: ['topology', 'nodes', 'router', 'sysctls', 'net.ipv4.fib_multipath_hash_policy'],
        line: 14,
        col: 45,
        at: "'`reboot`'",
        message: '"`reboot`" is not valid',
        fix: "A sysctl value: digits, lowercase letters, spaces and '-' (at most 64), e.g. 1.",
      },
    ],
  },
  {
    name: 'env name starting with a digit',
    yaml: seedWith(
      '      http: { port: 8080, identity: server2 }',
      '      http: { port: 8080, identity: server2 }\n      env: { 1BAD: x }',
    ),
    issues: [
      {
        path: ['topology', 'nodes', 'server2', 'env', '1BAD'],
        line: 48,
        col: 14,
        at: '1BAD: x',
        atKey: true,
        message: 'name "1BAD" is not valid',
        fix: "An environment variable name: letters, digits and '_', not starting with a digit.",
      },
    ],
  },
  {
    name: 'verify step on an unknown node',
    yaml: seedVerifying('  - wait: { node: routr, route: 172.16.253.100/32, nexthops: 2 }\n'),
    issues: [
      {
        path: ['verify', 0, 'wait', 'node'],
        line: 49,
        col: 19,
        at: 'routr,',
        message: 'unknown node "routr"; the topology\'s nodes are lb1, lb2, router, server1, server2',
        fix: 'use one of the node names under topology.nodes',
      },
    ],
  },
  {
    name: 'verify step with a bad duration',
    yaml: seedVerifying('  - wait: { node: router, route: 172.16.253.100/32, timeout: 30sec }\n'),
    issues: [
      {
        path: ['verify', 0, 'wait', 'timeout'],
        line: 49,
        col: 62,
        at: '30sec',
        message: '"30sec" is not valid',
        fix: 'A duration: 500ms, 2s or 1m.',
      },
    ],
  },
  {
    name: 'verify step waiting longer than 30 minutes',
    yaml: seedVerifying('  - wait: { node: router, route: 172.16.253.100/32, timeout: 45m }\n'),
    issues: [
      {
        path: ['verify', 0, 'wait', 'timeout'],
        line: 49,
        col: 62,
        at: '45m',
        message: 'timeout must be more than 0 and at most 30m, not 2700000ms',
      },
    ],
  },
  {
    name: 'verify step with two actions',
    yaml: seedVerifying(
      '  - name: two at once\n    wait: { node: router, route: 172.16.253.100/32 }\n    show: { node: router, what: ospf-routes }\n',
    ),
    issues: [
      {
        path: ['verify', 0],
        line: 49,
        col: 5,
        at: 'name: two at once',
        message: 'has "wait" and "show"; only one may be given',
        fix: `keep exactly one of: ${STEP_KEYS}`,
      },
    ],
  },
  {
    name: 'verify step with no action',
    yaml: seedVerifying('  - name: nothing to do\n'),
    issues: [
      {
        path: ['verify', 0],
        line: 49,
        col: 5,
        at: 'name: nothing to do',
        message: `has none of: ${STEP_KEYS}`,
        fix: `add exactly one of: ${STEP_KEYS}`,
      },
    ],
  },
  {
    name: 'verify nexthops without a route',
    yaml: seedVerifying('  - wait: { node: router, ospf-full: 2, nexthops: 2 }\n'),
    issues: [
      {
        path: ['verify', 0, 'wait'],
        line: 49,
        col: 11,
        at: '{ node: router, ospf-full: 2',
        message: '"nexthops" needs "route" next to it',
        fix: 'add `route:` or remove `nexthops:`',
      },
    ],
  },
  {
    name: 'verify preset on the wrong kind of node',
    yaml: seedVerifying('  - show: { node: server1, what: ipvs-stats }\n'),
    issues: [
      {
        path: ['verify', 0, 'show', 'what'],
        line: 49,
        col: 34,
        at: 'ipvs-stats',
        message: 'show "ipvs-stats" needs a node of kind director; "server1" is a server',
        fix: 'run it on lb1, lb2',
      },
    ],
  },
  {
    name: 'two YAML documents in one file',
    yaml: 'name: a\n---\nname: b\n',
    issues: [
      {
        path: [],
        line: 2,
        col: 1,
        at: '---',
        message: 'YAML: the file holds more than one document',
        fix: 'keep one topology per file; remove the `---` line and what follows it',
      },
    ],
  },
  {
    name: 'a file of comments only',
    yaml: '# nothing here yet\n',
    issues: [
      {
        path: [],
        line: 1,
        col: 1,
        at: '# nothing',
        message: 'the file holds no YAML value (it is empty or only comments)',
        fix: 'write a topology: `name:` and `topology:` with `networks:` and `nodes:` (see topologies/ecmp-lvs-dr.yml)',
      },
    ],
  },
  {
    name: 'a list at the top',
    yaml: '- name: x\n',
    issues: [
      {
        path: [],
        line: 1,
        col: 1,
        at: '- name: x',
        message: 'expected object, got a list',
        fix: 'write a mapping (key: value lines, indented)',
      },
    ],
  },
  {
    name: 'a YAML alias bomb (billion laughs)',
    yaml: [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      '',
    ].join('\n'),
    issues: [
      {
        path: [],
        line: 2,
        col: 8,
        at: '*a,',
        message: 'YAML: aliases (*name) expand into too many copies, the way a "billion laughs" file does',
        fix: 'use fewer aliases (*name) or write the values out; a topology may expand at most 50',
      },
    ],
  },
  {
    name: 'an alias without its anchor',
    yaml: seedWith('name: ecmp-lvs-dr', 'name: *lab'),
    issues: [
      {
        path: [],
        line: 1,
        col: 7,
        at: '*lab',
        message: 'YAML: alias *lab has no anchor &lab before it',
        fix: 'define `&lab` on a value above this line, or write the value out',
      },
    ],
  },
  {
    name: 'an alias inside the value it names',
    yaml: 'name: x\ndescription: &d [*d]\n',
    issues: [
      {
        path: [],
        line: 2,
        col: 18,
        at: '*d]',
        message: 'YAML: alias *d is inside the value it names, which makes it endless',
        fix: 'an alias must refer to a value defined before and outside it',
      },
    ],
  },
  {
    name: 'a raw control character (a terminal escape) in the file',
    yaml: 'name: x\u001b[2Jy\n',
    issues: [
      {
        path: [],
        line: 1,
        col: 8,
        at: '\u001b[2J',
        message: 'the file holds a control character (U+001B)',
        fix: 'delete it; a topology may hold tabs and line breaks but no other control characters',
      },
    ],
  },
  {
    name: 'an escaped control character reaches the message escaped',
    yaml: seedWith('kind: router', 'kind: "\\e[31mrouter"'),
    issues: [
      {
        path: ['topology', 'nodes', 'router', 'kind'],
        line: 11,
        col: 13,
        at: '"\\e[31mrouter"',
        message: 'kind "\\u001b[31mrouter" is not supported',
        fix: 'supported kinds are: router, director, server, linux',
      },
    ],
  },
  {
    name: 'a YAML tag that makes a Date',
    yaml: 'name: x\ndescription: !!timestamp 2001-12-14\n',
    issues: [
      {
        path: [],
        line: 2,
        col: 26,
        at: '2001-12-14',
        message: 'YAML: tag "!!timestamp" is not allowed in a topology',
        fix: 'remove the tag; write plain text, numbers, lists and mappings',
      },
    ],
  },
  {
    name: 'a list used as a key',
    yaml: 'name: x\n? [a, b]\n: c\n',
    issues: [
      {
        path: [],
        line: 2,
        col: 3,
        at: '[a, b]',
        message: 'YAML: a key must be a plain word, not a list, mapping or alias',
        fix: 'write the key as plain text, e.g. `lan:`',
      },
    ],
  },
];

describe('bad topologies', () => {
  it('has at least 30 distinct cases', () => {
    expect(BAD_TOPOLOGIES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(BAD_TOPOLOGIES.map((c) => c.yaml)).size).toBe(BAD_TOPOLOGIES.length);
  });

  it.each(BAD_TOPOLOGIES)('$name', ({ yaml, issues: expected }) => {
    const issues = issuesOf(yaml);
    expect(issues.map(({ atKey, ...issue }) => ({ ...issue, atKey: atKey ?? false }))).toEqual(
      expected.map(({ at: _at, atKey, ...issue }) => ({ ...issue, atKey: atKey ?? false })),
    );
    for (const issue of expected) expect(textAt(yaml, issue).startsWith(issue.at)).toBe(true);
  });

  it('prints file:line:col: path: message (fix: ...) for each issue', () => {
    const yaml = seedWith('scheduler: rr', 'scheduler: rrr');
    let error: unknown;
    try {
      validateTopology(parseTopologyText('labs/bad.yml', Buffer.from(yaml)));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TopologyError);
    expect((error as TopologyError).message).toBe(
      'labs/bad.yml:25:22: topology.nodes.lb1.services.0.scheduler: "rrr" is not allowed here (fix: did you mean "rr"?)',
    );
  });
});

describe('bytes that are not UTF-8', () => {
  it('points at the bad byte itself, on its line and column', () => {
    const bytes = Buffer.concat([
      Buffer.from('name: ecmp-lvs-dr\ndescription: "caf'),
      Buffer.from([0xe9]), // Latin-1 é: a lead byte with no continuation
      Buffer.from('"\n'),
    ]);
    expect(issuesOf(bytes)).toEqual([
      {
        path: [],
        line: 2,
        col: 18,
        message: 'the file is not valid UTF-8 (byte 0xe9 at offset 35)',
        fix: 'save the file as UTF-8',
      },
    ]);
  });

  it('counts columns in characters after valid multi-byte text', () => {
    const bytes = Buffer.concat([Buffer.from('name: é€😀'), Buffer.from([0xff]), Buffer.from('\n')]);
    // "é€" are one UTF-16 unit each, "😀" two, like the YAML parser's own columns.
    expect(issuesOf(bytes)[0]).toMatchObject({ line: 1, col: 11 });
  });

  it.each([
    ['overlong slash', [0x2f, 0xc0, 0xaf], 1],
    ['overlong three-byte', [0x61, 0xe0, 0x80, 0xaf], 1],
    ['UTF-16 surrogate', [0xed, 0xa0, 0x80], 0],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['truncated at the end', [0x61, 0x62, 0xe2, 0x82], 2],
    ['lone continuation byte', [0x61, 0x80], 1],
  ])('finds the first ill-formed byte: %s', (_name, bytes, offset) => {
    expect(firstInvalidUtf8Offset(Uint8Array.from(bytes))).toBe(offset);
  });

  it('accepts every well-formed sequence', () => {
    expect(firstInvalidUtf8Offset(Buffer.from('plain ascii, é, €, 😀, \u{10FFFF}'))).toBeUndefined();
  });
});

describe('loading files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lblab-validation-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the seed topology validates', async () => {
    const loaded = await loadTopologyFile('topologies/ecmp-lvs-dr.yml');
    const config = validateTopology(loaded);
    expect(config.name).toBe('ecmp-lvs-dr');
    expect(Object.keys(config.topology.nodes)).toEqual(['router', 'lb1', 'lb2', 'server1', 'server2']);
  });

  it('the compact seed used above validates', () => {
    expect(validateTopology(parseTopologyText('lab.yml', Buffer.from(SEED))).name).toBe('ecmp-lvs-dr');
  });

  it('refuses a file over the size limit before parsing it', async () => {
    const file = path.join(dir, 'huge.yml');
    await writeFile(file, `name: x\ndescription: "${'a'.repeat(MAX_TOPOLOGY_BYTES)}"\n`);
    await expect(loadTopologyFile(file)).rejects.toMatchObject({
      issues: [
        {
          path: [],
          line: 1,
          col: 1,
          message: `file is ${MAX_TOPOLOGY_BYTES + 24} bytes, more than the ${MAX_TOPOLOGY_BYTES}-byte limit for a topology`,
          fix: 'a lab topology is a few kilobytes; split or trim it',
        },
      ],
    });
  });

  it('reads at most one byte past the limit from a device that never ends', async () => {
    await expect(loadTopologyFile('/dev/zero')).rejects.toMatchObject({
      issues: [
        { line: 1, col: 1, message: `file is more than the ${MAX_TOPOLOGY_BYTES}-byte limit for a topology` },
      ],
    });
  });

  it('says a missing file is missing', async () => {
    await expect(loadTopologyFile(path.join(dir, 'nope.yml'))).rejects.toMatchObject({
      issues: [
        {
          line: 1,
          col: 1,
          message: 'file not found',
          fix: 'check the path, e.g. topologies/ecmp-lvs-dr.yml',
        },
      ],
    });
  });

  it('says a directory is a directory', async () => {
    await expect(loadTopologyFile(dir)).rejects.toMatchObject({
      issues: [{ line: 1, col: 1, message: 'is a directory, not a topology file' }],
    });
  });

  it('reports nesting too deep for the parser once, where it gave up', () => {
    const yaml = `name: x\ndescription: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const issues = issuesOf(yaml);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      line: 2,
      message: 'YAML: the document is nested too deeply to parse',
      fix: 'a topology needs a handful of levels; flatten it',
    });
  });
});

describe('did-you-mean', () => {
  it.each([
    ['netwroks', ['kind', 'image', 'networks', 'env'], 'networks'],
    ['topolgy', ['name', 'description', 'topology', 'verify'], 'topology'],
    ['lsv', ['lvs', 'vip'], 'lvs'],
    ['healthcheck', ['health-check', 'port'], 'health-check'],
    ['x', ['rr', 'sh', 'nq'], undefined],
    ['ab', ['rr', 'sh', 'nq'], undefined],
  ])('%s → %s', (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });
});
