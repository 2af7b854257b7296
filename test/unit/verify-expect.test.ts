import { describe, expect, it } from 'vitest';
import {
  countNexthops,
  evaluateExec,
  evaluateTally,
  evaluateWait,
  type ExpectationResult,
  type TallyFacts,
} from '../../src/verify/expect.js';
import type { TallyExpectation } from '../../src/verify/expect.js';
import { tallyRecords, type RequestRecord } from '../../src/verify/tally.js';

const SOURCES = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];

const facts = (extra: Partial<TallyFacts> = {}): TallyFacts => ({
  node: 'router',
  header: 'X-Host',
  sources: [],
  target: '172.16.253.100',
  directors: ['lb1', 'lb2'],
  ...extra,
});

const expectation = (extra: Partial<TallyExpectation> = {}): TallyExpectation => ({
  maxFailures: 0,
  perSourceStable: false,
  tolerance: 0.05,
  ...extra,
});

const repeat = (count: number, record: RequestRecord): RequestRecord[] =>
  Array.from({ length: count }, () => record);
const answers = (counts: Record<string, number>): RequestRecord[] =>
  Object.entries(counts).flatMap(([header, count]) => repeat(count, { status: 200, header, ms: 4 }));

function judge(records: RequestRecord[], expect: Partial<TallyExpectation>, extra: Partial<TallyFacts> = {}) {
  return evaluateTally(expectation(expect), tallyRecords(records, 'X-Host'), facts(extra));
}

function only(results: ExpectationResult[], name: string): ExpectationResult {
  const result = results.find((r) => r.name === name);
  if (!result) throw new Error(`no ${name} result`);
  return result;
}

describe('max-failures', () => {
  it('passes within the budget and always runs', () => {
    expect(judge(answers({ server1: 10 }), {})).toEqual([
      { name: 'max-failures', ok: true, expected: 'at most 0 failed of 10', seen: '0 failed' },
    ]);
  });

  it('fails with the reasons and a hint for unbound sources', () => {
    const records = [
      ...repeat(3, { source: '10.0.0.9', status: 0, ms: 0, error: "curl exit 45: couldn't bind" }),
      { source: '10.0.0.1', status: 200, header: 'server1', ms: 4 },
    ];
    expect(only(judge(records, { maxFailures: 1 }), 'max-failures')).toEqual({
      name: 'max-failures',
      ok: false,
      expected: 'at most 1 failed of 4',
      seen: "3 failed: curl exit 45: couldn't bind ×3",
      hint: 'curl could not bind 10.0.0.9 on router: add the address(es) with an addresses step before this one',
    });
  });

  it.each([
    ['curl exit 28: timed out', 'timed out: in DR mode each real server must hold the VIP on lo'],
    ["curl exit 7: couldn't connect", 'nothing accepted the connection to 172.16.253.100'],
    ['no output for this request', 'is curl (>= 7.84) installed on router'],
  ])('explains %s', (error, hint) => {
    expect(only(judge([{ status: 0, ms: 0, error }], {}), 'max-failures').hint).toContain(hint);
  });

  it('explains missing headers and error statuses', () => {
    expect(only(judge([{ status: 200, ms: 1 }], {}), 'max-failures')).toMatchObject({
      seen: '1 failed: no X-Host header ×1',
      hint: 'responses lacked X-Host: did they come from the real servers (nginx add_header X-Host)?',
    });
    expect(only(judge([{ status: 502, ms: 1 }], {}), 'max-failures').hint).toBe(
      "the server answered HTTP 502: look at the real servers' web server",
    );
  });

  it('says so when the node has no route to the target', () => {
    const result = only(
      judge([{ status: 0, ms: 0, error: "curl exit 7: couldn't connect" }], {}, { nexthops: 0 }),
      'max-failures',
    );
    expect(result.hint).toBe('router has no route to 172.16.253.100: has OSPF learnt the VIP?');
  });
});

describe('distinct', () => {
  it('passes =, >= and <=', () => {
    const records = answers({ server1: 57, server2: 43 });
    for (const distinct of [
      { op: '=', count: 2 },
      { op: '>=', count: 2 },
      { op: '<=', count: 2 },
    ] as const) {
      expect(only(judge(records, { distinct }), 'distinct')).toEqual({
        name: 'distinct',
        ok: true,
        expected: `${distinct.op === '=' ? '' : distinct.op}2 distinct X-Host value(s)`,
        seen: '2: server1 57 / server2 43',
      });
    }
  });

  it('blames the missing nexthop when the route shows only one', () => {
    const result = only(
      judge(answers({ server1: 100 }), { distinct: { op: '>=', count: 2 } }, { hashPolicy: 1, nexthops: 1 }),
      'distinct',
    );
    expect(result).toEqual({
      name: 'distinct',
      ok: false,
      expected: '>=2 distinct X-Host value(s)',
      seen: '1: server1 100',
      hint: "only 1 nexthop to 172.16.253.100 on router: is each director's (lb1, lb2) OSPF adjacency with router Full? (show: ospf-neighbors)",
    });
  });

  it('answered without a /32 route: points at the one director, not at OSPF', () => {
    const result = only(
      judge(answers({ web1: 100 }), { distinct: { op: '=', count: 2 } }, { hashPolicy: 0, nexthops: 0 }),
      'distinct',
    );
    expect(result.hint).toBe(
      "router reaches 172.16.253.100 through one director (no /32 route, no ECMP), so the spread is its scheduler's: does its virtual service list every real server? (show: director-stats)",
    );
  });

  it('explains one value under policy 0 with one source as the L3 hash', () => {
    const result = only(
      judge(answers({ server1: 100 }), { distinct: { op: '=', count: 2 } }, { hashPolicy: 0, nexthops: 2 }),
      'distinct',
    );
    expect(result.hint).toBe(
      'hash policy 0 hashes only the source and destination addresses, so one source always takes the same nexthop: set the policy to 1, or add sources',
    );
  });

  it('puts a number on all sources hashing alike under policy 0', () => {
    const result = only(
      judge(
        answers({ server1: 100 }),
        { distinct: { op: '=', count: 2 } },
        { hashPolicy: 0, nexthops: 2, sources: SOURCES },
      ),
      'distinct',
    );
    expect(result.hint).toContain('all 4 sources landing on the same one of 2 has a 12.5 % chance per boot');
  });

  it('points at the real servers when policy 1 has two nexthops but one value', () => {
    const result = only(
      judge(answers({ server1: 100 }), { distinct: { op: '=', count: 2 } }, { hashPolicy: 1, nexthops: 2 }),
      'distinct',
    );
    expect(result.hint).toContain('do they forward to different real servers? (show: director-stats)');
  });

  it('gives no hint it cannot back with evidence', () => {
    expect(
      only(judge(answers({ server1: 100 }), { distinct: { op: '=', count: 2 } }), 'distinct').hint,
    ).toBeUndefined();
  });

  it('explains too many values by the hash policy', () => {
    const records = answers({ server1: 50, server2: 50 });
    const one = { distinct: { op: '=', count: 1 } } as const;
    expect(only(judge(records, one, { hashPolicy: 1 }), 'distinct')).toMatchObject({
      ok: false,
      expected: '1 distinct X-Host value(s)',
      seen: '2: server1 50 / server2 50',
      hint: expect.stringContaining('hash policy 1 hashes the source port too'),
    });
    expect(only(judge(records, one, { hashPolicy: 0 }), 'distinct').hint).toContain(
      "did router's route change",
    );
    expect(only(judge(records, one, { hashPolicy: 0, sources: SOURCES }), 'distinct').hint).toContain(
      'each of the 4 source addresses is hashed on its own',
    );
  });

  it('reports nothing answered', () => {
    const result = only(
      judge([{ status: 0, ms: 0, error: 'x' }], { distinct: { op: '>=', count: 1 }, maxFailures: 1 }),
      'distinct',
    );
    expect(result).toMatchObject({
      ok: false,
      seen: '0',
      hint: 'no request was answered (see max-failures)',
    });
  });
});

describe('min-share', () => {
  it('passes when every value has its share', () => {
    expect(only(judge(answers({ server1: 60, server2: 40 }), { minShare: 0.25 }), 'min-share')).toEqual({
      name: 'min-share',
      ok: true,
      expected: 'each value at least 25 % of the answered requests',
      seen: 'server1 60 % / server2 40 %',
    });
  });

  it('fails a skewed split and relates it to the sources under policy 0', () => {
    const records: RequestRecord[] = [
      ...repeat(30, { source: '10.0.0.1', status: 200, header: 'server1', ms: 1 }),
      ...repeat(30, { source: '10.0.0.2', status: 200, header: 'server1', ms: 1 }),
      ...repeat(30, { source: '10.0.0.3', status: 200, header: 'server1', ms: 1 }),
      ...repeat(10, { source: '10.0.0.4', status: 200, header: 'server2', ms: 1 }),
    ];
    expect(
      only(judge(records, { minShare: 0.25 }, { hashPolicy: 0, sources: SOURCES }), 'min-share'),
    ).toEqual({
      name: 'min-share',
      ok: false,
      expected: 'each value at least 25 % of the answered requests',
      seen: 'server1 90 % / server2 10 %',
      hint: 'under hash policy 0 the split follows the source addresses; sources per value: server1 3 / server2 1',
    });
  });

  it('counts a value listed in only but never seen as a share of 0', () => {
    expect(
      only(judge(answers({ server1: 100 }), { minShare: 0.25, only: ['server1', 'server2'] }), 'min-share'),
    ).toMatchObject({ ok: false, seen: 'server1 100 % / server2 0 %' });
    expect(only(judge(answers({ server1: 100 }), { minShare: 0.25 }), 'min-share').ok).toBe(true);
  });

  it('blames failures first, and fails when nothing answered', () => {
    const records = [...answers({ server1: 90, server2: 5 }), ...repeat(5, { status: 0, ms: 0, error: 'x' })];
    expect(only(judge(records, { minShare: 0.25, maxFailures: 5 }), 'min-share').hint).toBe(
      '5 requests failed (see max-failures): a path that fails loses its share',
    );
    expect(
      only(judge([{ status: 0, ms: 0, error: 'x' }], { minShare: 0.25, maxFailures: 1 }), 'min-share'),
    ).toMatchObject({
      ok: false,
      seen: 'nothing answered',
    });
  });
});

describe('only', () => {
  it('passes when every value is allowed and fails naming the others', () => {
    const records = answers({ server1: 60, server3: 40 });
    expect(only(judge(answers({ server1: 5 }), { only: ['server1', 'server2'] }), 'only')).toEqual({
      name: 'only',
      ok: true,
      expected: 'X-Host only server1, server2',
      seen: 'server1 5',
    });
    expect(only(judge(records, { only: ['server1', 'server2'] }), 'only')).toEqual({
      name: 'only',
      ok: false,
      expected: 'X-Host only server1, server2',
      seen: 'also server3 40',
    });
  });
});

describe('per-source-stable', () => {
  const stable: RequestRecord[] = SOURCES.flatMap((source, i) =>
    repeat(5, { source, status: 200, header: i < 3 ? 'server1' : 'server2', ms: 1 }),
  );

  it('passes when each source sees one value', () => {
    expect(only(judge(stable, { perSourceStable: true }, { sources: SOURCES }), 'per-source-stable')).toEqual(
      {
        name: 'per-source-stable',
        ok: true,
        expected: 'each of 4 sources sees one X-Host value',
        seen: '4 stable; sources per value: server1 3 / server2 1',
      },
    );
  });

  it('fails naming the unstable source, with the policy 1 explanation', () => {
    const records = [...stable, { source: '10.0.0.1', status: 200, header: 'server2', ms: 1 }];
    expect(
      only(
        judge(records, { perSourceStable: true }, { sources: SOURCES, hashPolicy: 1 }),
        'per-source-stable',
      ),
    ).toEqual({
      name: 'per-source-stable',
      ok: false,
      expected: 'each of 4 sources sees one X-Host value',
      seen: 'unstable: 10.0.0.1 server1 5 / server2 1',
      hint: 'hash policy 1 hashes the source port too, so a source is not pinned to one nexthop: set the policy to 0',
    });
    expect(
      only(
        judge(records, { perSourceStable: true }, { sources: SOURCES, hashPolicy: 0 }),
        'per-source-stable',
      ).hint,
    ).toContain("a source only moves when router's route changes");
  });

  it('fails when no request named a source', () => {
    expect(
      only(judge(answers({ server1: 3 }), { perSourceStable: true }), 'per-source-stable'),
    ).toMatchObject({
      ok: false,
      seen: 'no sources',
    });
  });
});

describe('evaluateExec', () => {
  it('checks the exit code and a regular expression over stdout', () => {
    expect(
      evaluateExec(
        { exitCode: 0, match: 'via \\d+' },
        { exitCode: 0, stdout: '172.16.253.100 via 172.16.253.129 dev eth0\n' },
      ),
    ).toEqual([
      { name: 'exit-code', ok: true, expected: 'exit 0', seen: 'exit 0' },
      {
        name: 'match',
        ok: true,
        expected: 'stdout matching /via \\d+/m',
        seen: 'stdout starting "172.16.253.100 via 172.16.253.129 dev eth0"',
      },
    ]);
    expect(evaluateExec({ exitCode: 0, match: 'via' }, { exitCode: 124, stdout: '' })).toEqual([
      {
        name: 'exit-code',
        ok: false,
        expected: 'exit 0',
        seen: 'exit 124',
        hint: 'exit 124: the command ran out of time',
      },
      { name: 'match', ok: false, expected: 'stdout matching /via/m', seen: 'empty stdout' },
    ]);
  });
});

describe('evaluateExec match reads lines, as grep does', () => {
  it('anchors ^ and $ at each line, so a counter with its newline matches ^N$', () => {
    const [, match] = evaluateExec({ exitCode: 0, match: '^[1-9][0-9]*$' }, { exitCode: 0, stdout: '329\n' });
    expect(match?.ok).toBe(true);
    const [, zero] = evaluateExec({ exitCode: 0, match: '^[1-9][0-9]*$' }, { exitCode: 0, stdout: '0\n' });
    expect(zero?.ok).toBe(false);
  });
});

describe('evaluateWait', () => {
  it('passes when the check held and carries the error otherwise', () => {
    expect(evaluateWait('TCP a:80 open', undefined)).toEqual({
      name: 'wait',
      ok: true,
      expected: 'TCP a:80 open',
      seen: 'held',
    });
    expect(evaluateWait('TCP a:80 open', new Error('not reached after 30 s'))).toEqual({
      name: 'wait',
      ok: false,
      expected: 'TCP a:80 open',
      seen: 'not reached after 30 s',
    });
  });
});

describe('countNexthops', () => {
  it('reads ip route output', () => {
    expect(countNexthops('')).toBe(0);
    expect(countNexthops('172.16.253.100 via 172.16.253.129 dev eth0 proto ospf metric 20\n')).toBe(1);
    expect(
      countNexthops(
        [
          '172.16.253.100 proto ospf metric 20 ',
          '\tnexthop via 172.16.253.129 dev eth0 weight 1 ',
          '\tnexthop via 172.16.253.131 dev eth0 weight 1 ',
          '172.16.253.100 via 172.16.253.1 dev eth0 metric 100',
          '',
        ].join('\n'),
      ),
    ).toBe(2);
  });
});
