import { describe, expect, it } from 'vitest';
import type { LoadRecord } from '../../src/verify/http-load-script.js';
import {
  judgePhase,
  judgeTimeline,
  parseLoadExpect,
  stopTime,
  timelineOf,
} from '../../src/verify/step-types/http-load.js';
import { netemArgs, previousNetem } from '../../src/verify/step-types/impair.js';
import { drainedRuleset } from '../../src/verify/step-types/weight.js';
import { tallyRecords } from '../../src/verify/tally.js';

describe('drainedRuleset', () => {
  const dr =
    '    ether daddr 02:00:00:00:00:01 ip daddr 10.0.0.100 tcp dport 80 counter name "in_tcp_80" ether saddr set 02:00:00:00:00:01 ' +
    'ether daddr set jhash ip saddr . tcp sport . ip daddr . tcp dport mod 4 map { 0 : aa, 1 : bb, 2 : aa, 3 : cc } fwd to "eth0"';
  const service = { vip: '10.0.0.100', port: '80', protocol: 'tcp' };

  it("hands the drained server's slots to the others in turn, leaving every other slot as it was", () => {
    expect(drainedRuleset(`x\n${dr}\n`, service, ['aa'])).toBe(
      `x\n${dr.replace('0 : aa, 1 : bb, 2 : aa, 3 : cc', '0 : bb, 1 : bb, 2 : cc, 3 : cc')}\n`,
    );
  });

  it("matches NAT's ip . port values by address", () => {
    const nat =
      '    ip daddr 10.0.0.100 tcp dport 80 dnat ip to numgen inc mod 2 map { 0 : 10.0.0.1 . 8080, 1 : 10.0.0.2 . 8080 }';
    expect(drainedRuleset(nat, service, ['10.0.0.1'])).toContain(
      'map { 0 : 10.0.0.2 . 8080, 1 : 10.0.0.2 . 8080 }',
    );
  });

  it('refuses to drain the last real server, another service or an unknown one', () => {
    expect(drainedRuleset(dr.replace(/map \{[^}]*\}/, 'map { 0 : aa }'), service, ['aa'])).toBeUndefined();
    expect(drainedRuleset(dr, { ...service, port: '81' }, ['aa'])).toBeUndefined();
    expect(drainedRuleset(dr, service, ['dd'])).toBeUndefined();
  });
});

describe('netem', () => {
  it('builds its arguments in the order tc wants them', () => {
    expect(netemArgs({ delayMs: 200, jitterMs: 20, lossPercent: 1, rate: '10mbit' })).toEqual([
      'delay',
      '200ms',
      '20ms',
      'loss',
      '1%',
      'rate',
      '10mbit',
    ]);
    expect(netemArgs({})).toEqual([]);
  });

  it('reads back an impairment already there, so it can be put back', () => {
    expect(previousNetem('qdisc netem 8001: root refcnt 2 limit 1000 delay 100ms loss 5%\n')).toEqual([
      'delay',
      '100ms',
      'loss',
      '5%',
    ]);
    expect(previousNetem('qdisc noqueue 0: root refcnt 2\n')).toBeUndefined();
  });
});

describe('http-load expectations', () => {
  const T = 1_700_000_000_000;
  /** 20/s for 10 s from two sources; source b fails from 3 s to 5 s. */
  const records: LoadRecord[] = Array.from({ length: 200 }, (_, seq) => {
    const source = seq % 2 === 0 ? 'a' : 'b';
    const sentAt = T + seq * 50;
    const broken = source === 'b' && sentAt >= T + 3000 && sentAt < T + 5000;
    return broken
      ? { seq, sentAt, source, status: 0, ms: 500, error: 'timed out' }
      : {
          seq,
          sentAt,
          source,
          status: 200,
          ms: 1,
          header: seq < 60 || seq >= 160 ? (source === 'a' ? 'web1' : 'web2') : 'web1',
        };
  });
  const marks = [
    { name: 'stop lb2', startedAt: T + 3000, endedAt: T + 3000, fault: true },
    { name: 'start lb2', startedAt: T + 8000, endedAt: T + 8000, fault: true },
  ];
  const timeline = timelineOf({ header: 'X-Host', ratePerSecond: 20 }, records, marks);
  const tally = tallyRecords(records, 'X-Host');

  it('expecting an outage lifts the default of no failure; a bound on it is judged', () => {
    expect(parseLoadExpect({}).maxFailures).toBe(0);
    expect(parseLoadExpect({ during: { 'min-failures': 5 } }).maxFailures).toBeUndefined();
    const expect1 = parseLoadExpect({ 'max-outage': '3s', 'recovers-within': '1s' });
    expect(expect1.maxFailures).toBeUndefined();
    const results = judgeTimeline(expect1, tally, timeline, true);
    expect(results.map((r) => [r.name, r.ok, r.seen])).toEqual([
      ['max-outage', true, '2.0 s (b from 3.05 s)'],
      ['recovers-within', false, 'recovered after 2.0 s'],
    ]);
  });

  it('recovers-within without a fault step says what is missing', () => {
    const [result] = judgeTimeline(parseLoadExpect({ 'recovers-within': '5s' }), tally, timeline, false);
    expect(result).toMatchObject({ ok: false, seen: 'no fault step ran during the traffic' });
  });

  it('judges each phase on its own requests; failures only when the phase names them', () => {
    const expectation = parseLoadExpect({
      before: { distinct: 2 },
      during: { only: ['web1'] },
      after: { distinct: 2, 'same-as-before': true, latency: { web2: '<=5ms' } },
    });
    const split = { before: records.slice(0, 60), during: records.slice(60, 160), after: records.slice(160) };
    const facts = {
      node: 'client',
      header: 'X-Host',
      sources: ['a', 'b'],
      target: '10.0.0.100',
      directors: [],
    };
    const results = (['before', 'during', 'after'] as const).flatMap((phase) =>
      judgePhase(phase, expectation.phases[phase], split, 'X-Host', facts),
    );
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['before: distinct', true],
      ['during: only', true],
      ['after: distinct', true],
      ['after: same-as-before', true],
      ['after: latency web2', true],
    ]);
  });

  it('a phase with min-failures only has no cap on them (its request count is not known ahead)', () => {
    const failing = Array.from({ length: 239 }, (_, seq): LoadRecord => ({
      seq,
      sentAt: T + seq * 50,
      ms: 1,
      ...(seq % 2 === 0 ? { error: 'connection refused' } : { status: 200, header: 'web2' }),
    }));
    const facts = { node: 'client', header: 'X-Host', sources: [], target: '10.0.0.100', directors: [] };
    const split = { before: [], during: failing, after: [] };
    const open = parseLoadExpect({ during: { 'min-failures': 60, distinct: 1 } });
    expect(
      judgePhase('during', open.phases.during, split, 'X-Host', facts).map((r) => [r.name, r.ok]),
    ).toEqual([
      ['during: min-failures', true],
      ['during: distinct', true],
    ]);
    const capped = parseLoadExpect({ during: { 'min-failures': 60, 'max-failures': 100 } });
    expect(
      judgePhase('during', capped.phases.during, split, 'X-Host', facts).map((r) => [r.name, r.ok]),
    ).toEqual([
      ['during: max-failures', false],
      ['during: min-failures', true],
    ]);
  });
});

describe('stopTime', () => {
  const origin = 1_000_000;
  const mark = (startedAt: number, endedAt: number) => ({ name: 'x', startedAt, endedAt, fault: true });
  it('ends at the duration when the during: steps kept to the schedule', () => {
    expect(stopTime({ durationMs: 30_000 }, origin, [mark(origin + 5_000, origin + 5_300)])).toBe(
      origin + 30_000,
    );
    expect(stopTime({ durationMs: 30_000 }, origin, [])).toBe(origin + 30_000);
  });
  it('stretches to the last step end plus what the schedule left after it, 5 to 10 s', () => {
    expect(stopTime({ durationMs: 15_000 }, origin, [mark(origin + 5_000, origin + 14_000)])).toBe(
      origin + 24_000,
    );
    expect(stopTime({ durationMs: 15_000 }, origin, [mark(origin + 14_000, origin + 20_000)])).toBe(
      origin + 25_000,
    );
  });
});
