import { describe, expect, it } from 'vitest';
import {
  failureReason,
  formatTally,
  percentile,
  tallyRecords,
  type RequestRecord,
} from '../../src/verify/tally.js';

const ok = (header: string, ms = 5, source?: string): RequestRecord => ({
  status: 200,
  header,
  ms,
  ...(source !== undefined && { source }),
});

describe('tallyRecords', () => {
  it('counts values with shares of the answered requests, most frequent first', () => {
    const records = [
      ...Array.from({ length: 57 }, () => ok('server1')),
      ...Array.from({ length: 40 }, () => ok('server2')),
      { status: 0, ms: 2000, error: 'curl exit 28: timed out' },
      { status: 0, ms: 2000, error: 'curl exit 28: timed out' },
      { status: 503, ms: 3 },
    ];
    const tally = tallyRecords(records, 'X-Host');
    expect(tally).toMatchObject({ requests: 100, answered: 97, failures: 3, bySource: [] });
    expect(tally.values).toEqual([
      { value: 'server1', count: 57, share: 57 / 97 },
      { value: 'server2', count: 40, share: 40 / 97 },
    ]);
    expect(tally.failureReasons).toEqual([
      { reason: 'curl exit 28: timed out', count: 2 },
      { reason: 'HTTP 503', count: 1 },
    ]);
    expect(formatTally(tally)).toBe('server1 57 / server2 40 / failed 3');
  });

  it('orders ties by value and formats a clean tally without failures', () => {
    const tally = tallyRecords([ok('b'), ok('a'), ok('b'), ok('a')], 'X-Host');
    expect(tally.values.map((v) => v.value)).toEqual(['a', 'b']);
    expect(formatTally(tally)).toBe('a 2 / b 2');
    expect(formatTally(tallyRecords([], 'X-Host'))).toBe('no requests');
  });

  it('tallies per source, so stability can be judged', () => {
    const records = [
      ok('server1', 5, '10.0.0.1'),
      ok('server2', 5, '10.0.0.2'),
      ok('server1', 5, '10.0.0.1'),
      ok('server1', 5, '10.0.0.2'),
      { source: '10.0.0.3', status: 0, ms: 0, error: "curl exit 45: couldn't bind" },
    ];
    expect(tallyRecords(records, 'X-Host').bySource).toEqual([
      { source: '10.0.0.1', requests: 2, failures: 0, values: [{ value: 'server1', count: 2, share: 1 }] },
      {
        source: '10.0.0.2',
        requests: 2,
        failures: 0,
        values: [
          { value: 'server1', count: 1, share: 0.5 },
          { value: 'server2', count: 1, share: 0.5 },
        ],
      },
      { source: '10.0.0.3', requests: 1, failures: 1, values: [] },
    ]);
  });

  it('computes nearest-rank latency over the requests that got a response', () => {
    const records: RequestRecord[] = [
      ...Array.from({ length: 100 }, (_, i) => ok('s', i + 1)),
      { status: 0, ms: 2000, error: 'curl exit 28: timed out' },
    ];
    expect(tallyRecords(records, 'X-Host').latencyMs).toEqual({ p50: 50, p95: 95, max: 100 });
    expect(tallyRecords([{ status: 0, ms: 0, error: 'x' }], 'X-Host').latencyMs).toBeUndefined();
  });

  it('counts a response without the header, and a non-2xx/3xx status, as failures', () => {
    expect(failureReason({ status: 200, ms: 1 }, 'X-Host')).toBe('no X-Host header');
    expect(failureReason({ status: 200, header: '', ms: 1 }, 'X-Host')).toBe('no X-Host header');
    expect(failureReason({ status: 404, header: 'server1', ms: 1 }, 'X-Host')).toBe('HTTP 404');
    expect(failureReason({ status: 0, ms: 1 }, 'X-Host')).toBe('no response');
    expect(failureReason({ status: 302, header: 'server1', ms: 1 }, 'X-Host')).toBeUndefined();
  });
});

describe('percentile', () => {
  it('picks the nearest rank', () => {
    expect(percentile([3, 1, 2], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([1, 2], 0)).toBe(1);
    expect(() => percentile([], 0.5)).toThrow();
  });
});
