import { readFileSync } from 'node:fs';
import { Ajv, type AnySchemaObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TopologyError } from '../../src/core/issue.js';
import { parseTopologyText } from '../../src/topology/load.js';
import { validateTopology } from '../../src/topology/validate.js';
import { parseDuration } from '../../src/util/duration.js';
import { checkVerifySteps, parseVerifySteps } from '../../src/verify/steps.js';
import { parseDistinct, type HttpTallyStep } from '../../src/verify/step-types/http-tally.js';
import { showArgv as stepArgv, type ShowStep } from '../../src/verify/step-types/show.js';

const schema = JSON.parse(
  readFileSync(new URL('../../schema/verify.schema.json', import.meta.url), 'utf8'),
) as AnySchemaObject;
// The options topology/validate.ts compiles the schemas with.
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

const SOURCES = Array.from({ length: 8 }, (_, i) => `172.16.253.${11 + i}`);

/** The seed lab's three observations, as the report documents them. */
const SEED_VERIFY = `
verify:
  - name: ECMP route through both directors
    wait: { node: router, route: 172.16.253.100/32, nexthops: 2, timeout: 30s }
  - name: the VIP answers
    wait: { node: router, http: "http://172.16.253.100:8080/", timeout: 30s }

  - name: hash policy 0 (L3)
    sysctl: { node: router, set: { net.ipv4.fib_multipath_hash_policy: 0 } }
  - name: policy 0, one source lands on one server
    http-tally:
      node: router
      url: http://172.16.253.100:8080/
      requests: 100
      expect: { distinct: 1, max-failures: 0 }

  - name: hash policy 1 (L4)
    sysctl: { node: router, set: { net.ipv4.fib_multipath_hash_policy: 1 } }
  - name: policy 1 splits over both servers
    http-tally:
      node: router
      url: http://172.16.253.100:8080/
      requests: 100
      expect: { distinct: 2, min-share: 0.25, only: [server1, server2], max-failures: 0 }

  - name: back to hash policy 0
    sysctl: { node: router, set: { net.ipv4.fib_multipath_hash_policy: 0 } }
  - name: eight client sources on the router's lo
    addresses: { node: router, dev: lo, add: [${SOURCES.map((s) => `${s}/32`).join(', ')}] }
  - name: policy 0, eight sources split and each source is stable
    http-tally:
      node: router
      url: http://172.16.253.100:8080/
      requests: 100
      sources: [${SOURCES.join(', ')}]
      expect: { distinct: 2, per-source-stable: true, max-failures: 0 }
  - name: remove the client sources
    addresses: { node: router, dev: lo, remove: [${SOURCES.map((s) => `${s}/32`).join(', ')}] }

  - show: { node: router, what: ospf-routes }
  - show: { node: lb1, what: director-stats }
  - show: { node: lb2, what: director-stats }
`;

const seedSteps = (parse(SEED_VERIFY) as { verify: unknown[] }).verify;

const NODES = new Set(['router', 'lb1', 'lb2', 'server1', 'server2']);
const KINDS = new Map([
  ['router', 'router'],
  ['lb1', 'director'],
  ['lb2', 'director'],
  ['server1', 'server'],
  ['server2', 'server'],
]);

function issuesFor(yamlSteps: string) {
  const raw = parse(yamlSteps) as unknown[];
  expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
  return checkVerifySteps(parseVerifySteps(raw), NODES, KINDS);
}

function schemaErrors(raw: unknown): string[] {
  return validate(raw) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`);
}

describe('verify.schema.json', () => {
  it('accepts the seed lab example', () => {
    expect(schemaErrors(seedSteps)).toEqual([]);
  });

  it.each([
    [
      'an unknown step key',
      [{ sysctl: { node: 'r', set: { 'net.x': 1 } }, extra: 1 }],
      '/0 additionalProperties',
    ],
    [
      'two step types in one step',
      [{ exec: { node: 'r', cmd: 'true' }, show: { node: 'r', what: 'ospf-routes' } }],
      '/0 oneOf',
    ],
    ['a step with only a name', [{ name: 'x' }], '/0 oneOf'],
    ['an upper-case node name', [{ exec: { node: 'Router', cmd: 'true' } }], '/0/exec/node pattern'],
    ['a non-net sysctl', [{ sysctl: { node: 'r', set: { 'kernel.panic': 1 } } }], '/0/sysctl/set pattern'],
    [
      'a sysctl value with a quote',
      [{ sysctl: { node: 'r', set: { 'net.x': "1'; reboot" } } }],
      '/0/sysctl/set/net.x oneOf',
    ],
    ['a duration in hours', [{ wait: { node: 'r', tcp: 'a:80', timeout: '1h' } }], '/0/wait/timeout pattern'],
    [
      'a source that is not IPv4',
      [{ 'http-tally': { node: 'r', url: 'http://a/', sources: ['10.0.0.256'] } }],
      '/0/http-tally/sources/0 pattern',
    ],
    [
      'a source with shell text',
      [{ 'http-tally': { node: 'r', url: 'http://a/', sources: ['1.2.3.4;id'] } }],
      '/0/http-tally/sources/0 pattern',
    ],
    [
      'a url with a quote',
      [{ 'http-tally': { node: 'r', url: "http://a/'$(id)'" } }],
      '/0/http-tally/url pattern',
    ],
    [
      'a url that is an option',
      [{ 'http-tally': { node: 'r', url: '-o/etc/passwd' } }],
      '/0/http-tally/url pattern',
    ],
    [
      'a header with a brace',
      [{ 'http-tally': { node: 'r', url: 'http://a/', header: 'x}%{url' } }],
      '/0/http-tally/header pattern',
    ],
    [
      '10001 requests',
      [{ 'http-tally': { node: 'r', url: 'http://a/', requests: 10001 } }],
      '/0/http-tally/requests maximum',
    ],
    [
      'an address with a bad prefix',
      [{ addresses: { node: 'r', add: ['10.0.0.1/33'] } }],
      '/0/addresses/add/0 pattern',
    ],
    [
      'an interface name with a space',
      [{ addresses: { node: 'r', add: ['10.0.0.1'], dev: 'lo; id' } }],
      '/0/addresses/dev pattern',
    ],
    [
      'add and remove together',
      [{ addresses: { node: 'r', add: ['10.0.0.1'], remove: ['10.0.0.2'] } }],
      '/0/addresses oneOf',
    ],
    ['nexthops without route', [{ wait: { node: 'r', tcp: 'a:80', nexthops: 2 } }], '/0/wait dependencies'],
    ['an unknown show preset', [{ show: { node: 'r', what: 'everything' } }], '/0/show/what enum'],
    [
      'a malformed distinct',
      [{ 'http-tally': { node: 'r', url: 'http://a/', expect: { distinct: '>2' } } }],
      '/0/http-tally/expect/distinct oneOf',
    ],
    [
      'a min-share above 1',
      [{ 'http-tally': { node: 'r', url: 'http://a/', expect: { 'min-share': 1.5 } } }],
      '/0/http-tally/expect/min-share maximum',
    ],
    ['a command with a NUL', [{ exec: { node: 'r', cmd: 'a\u0000b' } }], '/0/exec/cmd pattern'],
  ])('rejects %s', (_what, raw, error) => {
    expect(schemaErrors(raw)).toContain(error);
  });

  it('wires into the topology schema and the seed topology validates with the example', () => {
    const topology = withoutVerify(
      readFileSync(new URL('../../topologies/ecmp-lvs-dr.yml', import.meta.url), 'utf8'),
    );
    const loaded = parseTopologyText('ecmp-lvs-dr.yml', Buffer.from(`${topology}\n${SEED_VERIFY}`));
    expect(() => validateTopology(loaded)).not.toThrow();
  });

  it('locates a semantic verify issue in the topology file', () => {
    const topology = withoutVerify(
      readFileSync(new URL('../../topologies/ecmp-lvs-dr.yml', import.meta.url), 'utf8'),
    );
    const text = `${topology}\nverify:\n  - exec: { node: lb3, cmd: "true" }\n`;
    const loaded = parseTopologyText('t.yml', Buffer.from(text));
    let error: unknown;
    try {
      validateTopology(loaded);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TopologyError);
    const issue = (error as TopologyError).issues[0];
    expect(issue?.path).toEqual(['verify', 0, 'exec', 'node']);
    expect(issue?.line).toBe(text.split('\n').length - 1);
  });
});

/** The seed lab declares its own experiment; these tests append theirs instead. */
function withoutVerify(topology: string): string {
  const start = topology.search(/^verify:/m);
  return start === -1 ? topology : topology.slice(0, start);
}

describe('parseVerifySteps', () => {
  const steps = parseVerifySteps(seedSteps);

  it('types every step and keeps the order', () => {
    expect(steps.map((s) => s.type)).toEqual([
      'wait',
      'wait',
      'sysctl',
      'http-tally',
      'sysctl',
      'http-tally',
      'sysctl',
      'addresses',
      'http-tally',
      'addresses',
      'show',
      'show',
      'show',
    ]);
    expect(steps.map((s) => s.index)).toEqual(steps.map((_, i) => i));
  });

  it('normalises durations, defaults and values', () => {
    expect(steps[0]).toEqual({
      type: 'wait',
      index: 0,
      name: 'ECMP route through both directors',
      node: 'router',
      path: ['verify', 0],
      check: { type: 'route', node: 'router', prefix: '172.16.253.100/32', nexthops: 2, timeoutMs: 30_000 },
    });
    expect(steps[1]).toMatchObject({
      check: {
        type: 'http',
        node: 'router',
        url: 'http://172.16.253.100:8080/',
        status: 200,
        timeoutMs: 30_000,
      },
    });
    expect(steps[2]).toMatchObject({ type: 'sysctl', set: { 'net.ipv4.fib_multipath_hash_policy': '0' } });
    expect(steps[3]).toEqual({
      type: 'http-tally',
      index: 3,
      name: 'policy 0, one source lands on one server',
      node: 'router',
      path: ['verify', 3],
      url: 'http://172.16.253.100:8080/',
      requests: 100,
      header: 'X-Host',
      sources: [],
      timeoutMs: 2000,
      expect: { distinct: { op: '=', count: 1 }, maxFailures: 0, perSourceStable: false, tolerance: 0.05 },
    });
    expect((steps[5] as HttpTallyStep).expect).toEqual({
      distinct: { op: '=', count: 2 },
      maxFailures: 0,
      minShare: 0.25,
      only: ['server1', 'server2'],
      perSourceStable: false,
      tolerance: 0.05,
    });
    expect(steps[7]).toMatchObject({
      type: 'addresses',
      action: 'add',
      dev: 'lo',
      addresses: SOURCES.map((s) => `${s}/32`),
    });
    expect(steps[9]).toMatchObject({ type: 'addresses', action: 'remove' });
  });

  it('names unnamed steps from what they do', () => {
    const [tally, addresses, show, exec, wait] = parseVerifySteps([
      { 'http-tally': { node: 'router', url: 'http://a/', sources: ['10.0.0.1', '10.0.0.2'] } },
      { addresses: { node: 'router', add: ['10.0.0.1'] } },
      { show: { node: 'lb1', what: 'ipvs-stats' } },
      {
        exec: {
          node: 'router',
          cmd: 'ip route get 172.16.253.100',
          'exit-code': 0,
          match: 'via',
          timeout: '500ms',
        },
      },
      { wait: { node: 'router', tcp: '172.16.253.100:8080', timeout: '1m' } },
    ]);
    expect(tally?.name).toBe('http-tally http://a/ from 2 sources');
    expect(addresses).toMatchObject({ name: 'add 10.0.0.1/32 on lo', addresses: ['10.0.0.1/32'], dev: 'lo' });
    expect(show?.name).toBe('show ipvs-stats');
    expect(exec).toMatchObject({
      name: 'exec ip route get 172.16.253.100',
      exitCode: 0,
      match: 'via',
      timeoutMs: 500,
    });
    expect(wait).toMatchObject({
      check: { type: 'tcp', host: '172.16.253.100', port: 8080, timeoutMs: 60_000 },
    });
  });

  it('runs presets as argv and user commands under sh -c', () => {
    const [preset, user, stats] = parseVerifySteps([
      { show: { node: 'router', what: 'ospf-neighbors' } },
      { show: { node: 'router', cmd: "vtysh -c 'show ip route ospf'" } },
      { show: { node: 'lb1', what: 'director-stats' } },
    ]) as ShowStep[];
    expect(stepArgv(preset as ShowStep)).toEqual(['vtysh', '-c', 'show ip ospf neighbor']);
    expect(stepArgv(user as ShowStep)).toEqual(['sh', '-c', "vtysh -c 'show ip route ospf'"]);
    // director-stats follows the director's data plane.
    expect(stepArgv(stats as ShowStep, 'ipvs')).toEqual(['ipvsadm', '-L', '-n', '--stats']);
    expect(stepArgv(stats as ShowStep, 'nftables')).toEqual(['nft', 'list', 'ruleset']);
  });

  it('parses durations and distinct expressions', () => {
    expect([parseDuration('500ms'), parseDuration('2s'), parseDuration('1m')]).toEqual([500, 2000, 60_000]);
    expect(() => parseDuration('2h')).toThrow('invalid duration');
    expect(parseDistinct(2)).toEqual({ op: '=', count: 2 });
    expect(parseDistinct('>= 2')).toEqual({ op: '>=', count: 2 });
    expect(parseDistinct('<=3')).toEqual({ op: '<=', count: 3 });
    expect(parseDistinct('=1')).toEqual({ op: '=', count: 1 });
  });

  it('treats a missing verify list as no steps and rejects a non-list', () => {
    expect(parseVerifySteps(undefined)).toEqual([]);
    expect(() => parseVerifySteps({})).toThrow('expected a list');
  });
});

describe('checkVerifySteps', () => {
  it('finds nothing wrong with the seed example', () => {
    expect(checkVerifySteps(parseVerifySteps(seedSteps), NODES, KINDS)).toEqual([]);
  });

  it('names the unknown node and lists the nodes', () => {
    expect(issuesFor(`[{ http-tally: { node: lb3, url: "http://a/" } }]`)).toEqual([
      {
        path: ['verify', 0, 'http-tally', 'node'],
        message: 'unknown node "lb3"; the topology\'s nodes are lb1, lb2, router, server1, server2',
        fix: 'use one of the node names under topology.nodes',
      },
    ]);
  });

  it('flags min-share with distinct: 1 as contradictory', () => {
    const issues = issuesFor(`
- http-tally: { node: router, url: "http://a/", expect: { distinct: 1, min-share: 0.25 } }`);
    expect(issues).toEqual([
      {
        path: ['verify', 0, 'http-tally', 'expect', 'min-share'],
        message: 'min-share 0.25 contradicts distinct: 1: a single value always has the whole share',
        fix: 'drop min-share, or expect distinct: ">=2"',
      },
    ]);
  });

  it('flags impossible shares and too short only lists', () => {
    const issues = issuesFor(`
- http-tally: { node: router, url: "http://a/", expect: { distinct: ">=3", min-share: 0.4, only: [server1, server2] } }`);
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'verify.0.http-tally.expect.min-share',
        'min-share 0.4 with distinct >=3 is impossible: 3 values cannot each have 40 %',
      ],
      ['verify.0.http-tally.expect.only', 'only lists 2 value(s) but distinct >=3 needs at least 3'],
    ]);
  });

  it('checks requests against sources, distinct and max-failures', () => {
    const issues = issuesFor(`
- http-tally:
    node: router
    url: "http://a/"
    requests: 3
    sources: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4]
    expect: { distinct: 5, max-failures: 9 }`);
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'verify.0.http-tally.requests',
        'requests (3) is less than the number of sources (4): some sources would send nothing',
      ],
      ['verify.0.http-tally.expect.distinct', 'distinct 5 cannot be met by 3 requests'],
      ['verify.0.http-tally.expect.max-failures', 'max-failures 9 exceeds requests (3)'],
    ]);
  });

  it('needs two sources and two requests per source for per-source-stable', () => {
    expect(
      issuesFor(`[{ http-tally: { node: router, url: "http://a/", expect: { per-source-stable: true } } }]`),
    ).toEqual([
      {
        path: ['verify', 0, 'http-tally', 'expect', 'per-source-stable'],
        message: 'per-source-stable needs at least two sources',
        fix: 'list sources, or expect distinct: 1 for a single source',
      },
    ]);
    expect(
      issuesFor(`
- http-tally: { node: router, url: "http://a/", requests: 3, sources: [10.0.0.1, 10.0.0.2], expect: { per-source-stable: true } }`).map(
        (i) => i.message,
      ),
    ).toEqual(['per-source-stable needs at least 2 requests per source: 3 requests over 2 sources']);
  });

  it('catches what the schema cannot when steps are built by hand', () => {
    const [step] = parseVerifySteps([{ 'http-tally': { node: 'router', url: 'http://a/' } }]) as [
      HttpTallyStep,
    ];
    const issues = checkVerifySteps(
      [{ ...step, requests: 0, sources: ['10.0.0.1', '2001:db8::1', '10.0.0.1'] }],
      NODES,
      KINDS,
    );
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['verify.0.http-tally.requests', 'requests must be an integer from 1 to 10000, not 0'],
      ['verify.0.http-tally.sources.1', 'source "2001:db8::1" is not an IPv4 address'],
      ['verify.0.http-tally.sources.2', 'source 10.0.0.1 is listed twice'],
      [
        'verify.0.http-tally.requests',
        'requests (0) is less than the number of sources (3): some sources would send nothing',
      ],
    ]);
  });

  it('bounds the worst-case duration of a tally', () => {
    expect(
      issuesFor(`[{ http-tally: { node: router, url: "http://a/", requests: 10000, timeout: 1m } }]`).map(
        (i) => i.message,
      ),
    ).toEqual([
      '10000 requests × 60000ms could take 10000 minutes if the VIP stops answering; the limit is 30',
    ]);
    expect(
      issuesFor(`[{ http-tally: { node: router, url: "http://a/", timeout: 10ms } }]`).map((i) => i.message),
    ).toEqual(['the per-request timeout must be between 50ms and 2m, not 10ms']);
  });

  it('checks presets and OSPF waits against the node kind', () => {
    const issues = issuesFor(`
- show: { node: router, what: ipvs-stats }
- wait: { node: server1, ospf-full: 1 }
- show: { node: server1, what: ospf-routes }`);
    expect(issues).toEqual([
      {
        path: ['verify', 0, 'show', 'what'],
        message: 'show "ipvs-stats" needs a node of kind director; "router" is a router',
        fix: 'run it on lb1, lb2',
      },
      {
        path: ['verify', 1, 'wait', 'ospf-full'],
        message: 'wait ospf-full needs a node of kind router or director; "server1" is a server',
        fix: 'run it on lb1, lb2, router',
      },
      {
        path: ['verify', 2, 'show', 'what'],
        message: 'show "ospf-routes" needs a node of kind router or director; "server1" is a server',
        fix: 'run it on lb1, lb2, router',
      },
    ]);
  });

  it('checks regular expressions, ports, URLs, timeouts and the hash policy value', () => {
    const issues = issuesFor(`
- exec: { node: router, cmd: "true", match: "via(" }
- wait: { node: router, tcp: "a:70000" }
- wait: { node: router, http: "http://a:99999/" }
- exec: { node: router, cmd: "true", timeout: 0s }
- sysctl: { node: router, set: { net.ipv4.fib_multipath_hash_policy: 7 } }`);
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'verify.0.exec.match',
        'match is not a valid regular expression: Invalid regular expression: /via(/: Unterminated group',
      ],
      ['verify.1.wait.tcp', 'port 70000 is not between 1 and 65535'],
      ['verify.2.wait.http', '"http://a:99999/" is not a valid URL (is the port above 65535?)'],
      ['verify.3.exec.timeout', 'timeout must be more than 0 and at most 30m, not 0ms'],
      [
        'verify.4.sysctl.set.net.ipv4.fib_multipath_hash_policy',
        'net.ipv4.fib_multipath_hash_policy is 7; the kernel accepts 0 (L3), 1 (L4), 2 (L3 or inner L3) or 3 (custom)',
      ],
    ]);
  });
});
