/** Pure tally maths over the per-request records of a tally step (http-tally, udp-tally). */

/** One request as the tally script saw it. */
export interface RequestRecord {
  /** The source address it was sent from (curl --interface), when the step lists sources. */
  source?: string;
  /** HTTP status; 0 when no response arrived (curl prints 000); absent for a UDP exchange. */
  status?: number;
  /** The tallied response header's (or reply line's) value; absent or empty when the answer had none. */
  header?: string;
  /** Total time in milliseconds. */
  ms: number;
  /** Why the request failed at the transport level (curl's exit code and message). */
  error?: string;
}

export interface ValueCount {
  value: string;
  count: number;
  /** count / answered (0 when nothing answered). */
  share: number;
}

export interface SourceTally {
  source: string;
  requests: number;
  failures: number;
  /** Header values this source saw, most frequent first. */
  values: ValueCount[];
}

export interface LatencySummary {
  /** Nearest-rank percentiles over the requests that got an answer (an HTTP response, a UDP reply). */
  p50: number;
  p95: number;
  max: number;
}

export interface TallySummary {
  requests: number;
  /** Requests answered (HTTP 2xx/3xx, or a UDP reply) with the header: the ones tallied. */
  answered: number;
  /** requests - answered. */
  failures: number;
  /** Failure reason -> count, most frequent first. */
  failureReasons: { reason: string; count: number }[];
  /** Header values, most frequent first (ties by value). */
  values: ValueCount[];
  /** One entry per source, in first-seen order; empty when no request named a source. */
  bySource: SourceTally[];
  /** Absent when no request got an HTTP response. */
  latencyMs?: LatencySummary;
}

/** Why a record does not count, or undefined when it does. */
export function failureReason(record: RequestRecord, header: string): string | undefined {
  if (record.error !== undefined) return record.error;
  if (record.status !== undefined) {
    if (record.status === 0) return 'no response';
    if (record.status >= 400 || record.status < 200) return `HTTP ${record.status}`;
  }
  if (!record.header) return `no ${header} header`;
  return undefined;
}

export function tallyRecords(records: RequestRecord[], header: string): TallySummary {
  const counts = new Map<string, number>();
  const reasons = new Map<string, number>();
  const sources = new Map<string, { requests: number; failures: number; counts: Map<string, number> }>();
  for (const record of records) {
    const reason = failureReason(record, header);
    let source = record.source === undefined ? undefined : sources.get(record.source);
    if (record.source !== undefined && !source) {
      source = { requests: 0, failures: 0, counts: new Map() };
      sources.set(record.source, source);
    }
    if (source) source.requests += 1;
    if (reason !== undefined) {
      increment(reasons, reason);
      if (source) source.failures += 1;
      continue;
    }
    const value = record.header ?? '';
    increment(counts, value);
    if (source) increment(source.counts, value);
  }
  const answered = records.length - sum(reasons.values());
  const latencies = records.filter(gotAnswer).map((r) => r.ms);
  return {
    requests: records.length,
    answered,
    failures: records.length - answered,
    failureReasons: sortedCounts(reasons).map(([reason, count]) => ({ reason, count })),
    values: valueCounts(counts),
    bySource: [...sources].map(([source, s]) => ({
      source,
      requests: s.requests,
      failures: s.failures,
      values: valueCounts(s.counts),
    })),
    ...(latencies.length > 0 && { latencyMs: latencySummary(latencies) }),
  };
}

/** An HTTP response of any status, or a UDP reply. */
function gotAnswer(record: RequestRecord): boolean {
  return record.status === undefined ? record.error === undefined : record.status > 0;
}

/** Nearest-rank percentile: the smallest value with at least q of the values at or below it. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

function latencySummary(values: number[]): LatencySummary {
  return { p50: percentile(values, 0.5), p95: percentile(values, 0.95), max: Math.max(...values) };
}

/** `server1 57 / server2 43`, plus ` / failed 3` when requests failed. */
export function formatTally(tally: TallySummary): string {
  const parts = tally.values.map((v) => `${v.value} ${v.count}`);
  if (tally.failures > 0) parts.push(`failed ${tally.failures}`);
  return parts.length > 0 ? parts.join(' / ') : 'no requests';
}

function valueCounts(counts: Map<string, number>): ValueCount[] {
  const total = sum(counts.values());
  return sortedCounts(counts).map(([value, count]) => ({
    value,
    count,
    share: total > 0 ? count / total : 0,
  }));
}

function sortedCounts(counts: Map<string, number>): [string, number][] {
  return [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
