import { describe, expect, it } from 'vitest';
import type { LoadRecord } from '../../src/verify/http-load-script.js';
import {
  buckets,
  latencyByValue,
  maxOutageMs,
  outages,
  phasesOf,
  faultRecovery,
  renderTimeline,
  splitPhases,
  type TimelineBucket,
  type TimelineMark,
} from '../../src/verify/timeline.js';

const T = 1_700_000_000_000;
const H = 'X-Director';

const ok = (seq: number, sentAt: number, header: string, ms = 2, source?: string): LoadRecord => ({
  seq,
  sentAt,
  ...(source !== undefined && { source }),
  status: 200,
  header,
  ms,
});
const failed = (seq: number, sentAt: number, error = 'timed out', ms = 500, source?: string): LoadRecord => ({
  seq,
  sentAt,
  ...(source !== undefined && { source }),
  status: 0,
  ms,
  error,
});
const mark = (name: string, startedAt: number, endedAt: number, fault = true): TimelineMark => ({
  name,
  startedAt,
  endedAt,
  fault,
});

describe('an ECMP director lost: one source of two fails for 4 s after the fault, then recovers', () => {
  // 10/s for 10 s from two sources round-robin. Source B's flows hashed to dir2, which is killed at
  // +3 s: its requests sent from +3 s to +7 s time out, then ECMP rehashes them to dir1.
  const A = '10.0.0.1';
  const B = '10.0.0.2';
  const records = Array.from({ length: 100 }, (_, seq): LoadRecord => {
    const at = T + seq * 100;
    if (seq % 2 === 0) return ok(seq, at, 'dir1', 2, A);
    if (at < T + 3000) return ok(seq, at, 'dir2', 3, B);
    if (at < T + 7000) return failed(seq, at, 'timed out', 500, B);
    return ok(seq, at, 'dir1', 4, B);
  });
  const marks = [mark('kill dir2', T + 3000, T + 3050), mark('tally', T + 500, T + 600, false)];

  it('finds the phases: a fault, nothing restoring it', () => {
    expect(phasesOf(records, marks)).toEqual({
      loadStart: T,
      faultAt: T + 3000,
      faultAppliedAt: T + 3050,
      loadEnd: T + 9900,
    });
  });

  it('finds one outage, on source B only, and times it', () => {
    expect(outages(records, H)).toEqual([{ source: B, start: T + 3100, end: T + 7100, failed: 20 }]);
    expect(maxOutageMs(records, H, T + 9900)).toBe(4000);
    expect(faultRecovery(records, H, T + 3000).recoveryMs).toBe(4100);
  });

  it('buckets it second by second', () => {
    const timeline = buckets(records, H, T);
    expect(timeline).toHaveLength(10);
    expect(timeline[2]).toEqual({
      second: 2,
      sent: 10,
      failed: 0,
      values: { dir1: 5, dir2: 5 },
      latencyMs: 2,
    });
    expect(timeline[4]).toEqual({ second: 4, sent: 10, failed: 5, values: { dir1: 5 }, latencyMs: 2 });
    expect(timeline[8]).toEqual({ second: 8, sent: 10, failed: 0, values: { dir1: 10 }, latencyMs: 2 });
  });

  it('gives the latency of each path', () => {
    expect(latencyByValue(records, H)).toEqual({
      dir1: { p50: 2, p95: 4, max: 4, count: 65 },
      dir2: { p50: 3, p95: 3, max: 3, count: 15 },
    });
  });

  it('draws it', () => {
    expect(renderTimeline(buckets(records, H, T), marks, T)).toEqual([
      'dir1    ▄▄▄▄▄▄▄███',
      'dir2    ▄▄▄·······',
      'failed  ···▄▄▄▄···',
      'faults     ^        kill dir2 @3s',
    ]);
  });
});

describe('outages', () => {
  it('groups all requests together when none has a source, and leaves an unended one open', () => {
    const records = [
      ok(0, T, 'web1'),
      failed(1, T + 100, 'connection refused', 1),
      failed(2, T + 200, 'connection refused', 1),
      ok(3, T + 300, 'web1'),
      { ...ok(4, T + 400, 'web1'), status: 503 },
      failed(5, T + 500),
    ];
    expect(outages(records, H)).toEqual([
      { start: T + 100, end: T + 300, failed: 2 },
      { start: T + 400, failed: 2 },
    ]);
    expect(maxOutageMs(records, H, T + 2000)).toBe(1600);
    expect(faultRecovery(records, H, T + 350).recoveryMs).toBeUndefined();
  });

  it('counts a request answered without the header as failed', () => {
    const records = [
      ok(0, T, 'web1'),
      { seq: 1, sentAt: T + 100, status: 200, ms: 1 },
      ok(2, T + 200, 'web1'),
    ];
    expect(outages(records, H)).toEqual([{ start: T + 100, end: T + 200, failed: 1 }]);
  });

  it('is empty, and 0 long, without failures', () => {
    const records = [ok(0, T, 'web1'), ok(1, T + 100, 'web2')];
    expect(outages(records, H)).toEqual([]);
    expect(maxOutageMs(records, H, T + 100)).toBe(0);
    expect(faultRecovery(records, H, T + 50).recoveryMs).toBe(0);
  });
});

describe('recoveryMs', () => {
  const faultAt = T + 3000;

  it('ignores outages that ended before the fault, counts one in flight when it struck', () => {
    const records = [
      ok(0, T, 'web1'),
      failed(1, T + 500, 'connection refused', 1), // long before the fault
      ok(2, T + 1000, 'web1'),
      failed(3, T + 2700, 'connection refused', 5), // over at +2705, before the allowance
      ok(4, T + 2800, 'web1'),
      failed(5, T + 2900, 'timed out', 500), // still waiting at the fault
      ok(6, T + 3100, 'web1'),
      failed(7, T + 3200, 'connection reset', 1),
      failed(8, T + 3400, 'connection reset', 1),
      ok(9, T + 3600, 'web1'),
    ];
    expect(faultRecovery(records, H, faultAt).recoveryMs).toBe(600);
    expect(maxOutageMs(records, H, T + 3600)).toBe(500);
  });

  it('is 0 when only outages before the fault failed, and waits for every source', () => {
    expect(faultRecovery([failed(0, T + 100, 'x', 1), ok(1, T + 200, 'web1')], H, faultAt).recoveryMs).toBe(
      0,
    );
    const twoSources = [
      failed(0, T + 3100, 'timed out', 500, 'a'),
      failed(1, T + 3200, 'timed out', 500, 'b'),
      ok(2, T + 3300, 'web1', 2, 'a'),
    ];
    expect(faultRecovery(twoSources, H, faultAt).recoveryMs).toBeUndefined();
    expect(faultRecovery([...twoSources, ok(3, T + 5000, 'web1', 2, 'b')], H, faultAt).recoveryMs).toBe(2000);
  });

  it('leaves outages that began once the restore step was at work to the restore', () => {
    const records = [
      failed(0, T + 3100, 'connection refused', 1),
      ok(1, T + 3500, 'web2'),
      failed(2, T + 9000, 'timed out', 500), // the daemon coming back
      ok(3, T + 9600, 'web1'),
    ];
    // Without a restore step the failure at +9000, 5.5 s of answers later, is a stray, not the fault's.
    expect(faultRecovery(records, H, faultAt)).toEqual({ recoveryMs: 500, laterFailures: 1 });
    expect(faultRecovery(records, H, faultAt, T + 8000)).toEqual({ recoveryMs: 500, laterFailures: 0 });
    // Never recovered before the restore: still not recovered, whatever the restore did.
    const stuck = [failed(0, T + 3100, 'connection refused', 1), failed(1, T + 8500, 'x', 1)];
    expect(faultRecovery(stuck, H, faultAt, T + 8000).recoveryMs).toBeUndefined();
  });
});

describe('faultRecovery on a recorded log: keepalived takes a dead real server out', () => {
  // The shape of a sandbox CI run (failover-realserver.yml): 20 requests/s, nginx on web1 killed at
  // 4.9 s, every other request refused until keepalived's check took web1 out at ~8.05 s; then
  // single timeouts on web2 seconds later while the loaded guest paused. Restored at 18 s.
  const start = T;
  const fault = start + 4900;
  const strays = [9600, 9850, 11050, 11650, 11900, 12250, 12800, 12900, 13400];
  const records: LoadRecord[] = [];
  for (let seq = 0; seq < 600; seq += 1) {
    const at = seq * 50;
    const refused = at >= 5100 && at <= 8050 && seq % 2 === 0;
    if (refused) records.push(failed(seq, start + at, 'connection refused', 1));
    else if (strays.includes(at)) records.push(failed(seq, start + at, 'timed out', 2000));
    else records.push(ok(seq, start + at, at >= 5100 && at < 18000 ? 'web2' : seq % 2 ? 'web1' : 'web2'));
  }

  it('ends recovery where the refusals end, and counts the later timeouts apart', () => {
    expect(faultRecovery(records, H, fault, start + 18000)).toEqual({ recoveryMs: 3150, laterFailures: 9 });
    // Every failure is still a failure: the outages list and max-failures see all of them.
    expect(outages(records, H)).toHaveLength(30 + 9);
  });

  it('keeps a pattern whose failures come closer than a settled second together', () => {
    // A failure every 800 ms until +8 s: one outage pattern however sparse, so recovery waits for its end.
    const sparse = records.map((record) => {
      const at = record.sentAt - start;
      return at > 5000 && at <= 8000 && at % 800 === 0
        ? failed(record.seq, record.sentAt, 'timed out', 2000)
        : ok(record.seq, record.sentAt, 'web2');
    });
    expect(faultRecovery(sparse, H, fault)).toEqual({ recoveryMs: 8050 - 4900, laterFailures: 0 });
  });

  it('scales the settled stretch with the request interval at a slow rate', () => {
    // One request per second, every other refused: 2 s between failures is still the fault's pattern.
    const slow = Array.from({ length: 20 }, (_, seq) =>
      seq >= 5 && seq <= 11 && seq % 2 === 1
        ? failed(seq, start + seq * 1000, 'connection refused', 1)
        : ok(seq, start + seq * 1000, 'web2'),
    );
    expect(faultRecovery(slow, H, start + 4900)).toEqual({ recoveryMs: 12000 - 4900, laterFailures: 0 });
  });
});

describe('phases', () => {
  const records = [
    ok(0, T, 'w'),
    ok(1, T + 999, 'w'),
    ok(2, T + 1000, 'w'),
    ok(3, T + 2999, 'w'),
    ok(4, T + 3000, 'w'),
    ok(5, T + 4000, 'w'),
  ];
  const seqs = (split: Record<string, LoadRecord[]>) =>
    Object.fromEntries(Object.entries(split).map(([phase, rs]) => [phase, rs.map((r) => r.seq)]));

  it('splits at the fault steps, leaving out requests sent while one was at work', () => {
    const marks = [
      mark('stop web1', T + 1000, T + 1500),
      mark('show', T + 1200, T + 1300, false),
      mark('start web1', T + 2500, T + 3000),
    ];
    const phases = phasesOf(records, marks);
    expect(phases).toEqual({
      loadStart: T,
      faultAt: T + 1000,
      faultAppliedAt: T + 1500,
      restoreBeganAt: T + 2500,
      restoredAt: T + 3000,
      loadEnd: T + 4000,
    });
    // 2 (T+1000) was sent while web1 was being stopped, 3 (T+2999) while it was being started.
    expect(seqs(splitPhases(records, phases))).toEqual({ before: [0, 1], during: [], after: [4, 5] });
    const instant = phasesOf(records, [
      mark('stop web1', T + 1000, T + 1000),
      mark('start web1', T + 3000, T + 3000),
    ]);
    expect(seqs(splitPhases(records, instant))).toEqual({ before: [0, 1], during: [2, 3], after: [4, 5] });
  });

  it('runs "during" to the end when one fault step alone broke it', () => {
    const phases = phasesOf(records, [mark('drain web1', T + 1000, T + 1000)]);
    expect(phases.restoredAt).toBeUndefined();
    expect(seqs(splitPhases(records, phases))).toEqual({ before: [0, 1], during: [2, 3, 4, 5], after: [] });
  });

  it('puts everything before when nothing was a fault', () => {
    const phases = phasesOf(records, [mark('show', T + 1000, T + 1100, false)]);
    expect(phases).toEqual({ loadStart: T, loadEnd: T + 4000 });
    expect(seqs(splitPhases(records, phases))).toEqual({ before: [0, 1, 2, 3, 4, 5], during: [], after: [] });
  });
});

describe('buckets', () => {
  const records = [
    ok(0, T, 'web1', 4),
    ok(1, T + 500, 'web2', 8),
    failed(2, T + 2500),
    ok(3, T + 4999, 'web1', 3),
  ];

  it('keeps the empty seconds, through the last request', () => {
    expect(buckets(records, H, T)).toEqual([
      { second: 0, sent: 2, failed: 0, values: { web1: 1, web2: 1 }, latencyMs: 4 },
      { second: 1, sent: 0, failed: 0, values: {} },
      { second: 2, sent: 1, failed: 1, values: {} },
      { second: 3, sent: 0, failed: 0, values: {} },
      { second: 4, sent: 1, failed: 0, values: { web1: 1 }, latencyMs: 3 },
    ]);
  });

  it('takes another interval', () => {
    expect(buckets(records, H, T, 2500).map((b) => [b.second, b.sent])).toEqual([
      [0, 2],
      [2.5, 2],
    ]);
  });

  it('is empty without requests', () => {
    expect(buckets([], H, T)).toEqual([]);
    expect(renderTimeline([], [], T)).toEqual([]);
  });
});

describe('renderTimeline', () => {
  const bucket = (second: number, values: Record<string, number>, failed = 0): TimelineBucket => ({
    second,
    sent: failed + Object.values(values).reduce((a, b) => a + b, 0),
    failed,
    values,
  });

  it('draws a row per value, most answers first, then failures and the faults', () => {
    const timeline = [
      bucket(0, { web2: 2, web1: 2 }),
      bucket(1, { web1: 2, web2: 2 }),
      bucket(2, { web1: 2 }, 2),
      bucket(3, { web1: 4 }),
      bucket(4, {}),
      bucket(5, { web1: 1, web2: 2 }),
    ];
    const marks = [
      mark('stop web2', T + 2300, T + 2400),
      mark('show', T + 3000, T + 3100, false),
      mark('start web2', T + 5000, T + 5500),
    ];
    expect(renderTimeline(timeline, marks, T)).toEqual([
      'web1    ▄▄▄█·▂',
      'web2    ▄▄···▄',
      'failed  ··▄···',
      'faults    ^  ^  stop web2 @2.3s, start web2 @5s',
    ]);
  });

  it('merges seconds to stay within 120 columns, and says so', () => {
    const timeline = Array.from({ length: 250 }, (_, s) => bucket(s, { web1: 1 }, s === 249 ? 3 : 0));
    const lines = renderTimeline(timeline, [mark('kill', T + 1_000_000, T + 1_000_001)], T);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`web1    ${'█'.repeat(83)}▃`);
    expect(lines[1]).toBe(`failed  ${'·'.repeat(83)}█`);
    // A mark beyond the traffic is pinned to its last column.
    expect(lines[2]).toBe(`faults  ${' '.repeat(83)}^  kill @1000s`);
    expect(lines[3]).toBe('1 column = 3 s');
  });

  it('draws only the failed row when nothing answered', () => {
    expect(renderTimeline([bucket(0, {}, 5), bucket(1, {}, 0)], [], T)).toEqual(['failed  █·']);
  });
});
