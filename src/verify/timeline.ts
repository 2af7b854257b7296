/**
 * Pure maths over an http-load step's request log: which phase each request fell in (before the
 * fault, during it, after it was mended), the runs of failed requests, how long until the traffic
 * recovered, and a per-second view of it all for the report and the terminal.
 */
import type { LoadRecord } from './http-load-script.js';
import { failureReason, percentile } from './tally.js';

/** A step that ran while the load was running, times in epoch ms like LoadRecord.sentAt. */
export interface TimelineMark {
  name: string;
  startedAt: number;
  endedAt: number;
  fault: boolean;
}

export interface Phases {
  loadStart: number;
  /** When the first fault step started. */
  faultAt?: number;
  /** When it ended: the fault is in place from here. */
  faultAppliedAt?: number;
  /** When the last fault step started, when there were at least two (one breaking, one mending). */
  restoreBeganAt?: number;
  /** When it ended. */
  restoredAt?: number;
  loadEnd: number;
}

/** A run of consecutive failed requests (of one source, when there are sources). */
export interface Outage {
  source?: string;
  /** sentAt of its first failed request. */
  start: number;
  /** sentAt of the next request that succeeded; absent: none did. */
  end?: number;
  failed: number;
}

export interface TimelineBucket {
  /** Start of the interval, offset from loadStart in seconds. */
  second: number;
  sent: number;
  failed: number;
  /** Answered requests per header value. */
  values: Record<string, number>;
  /** Median latency of the answered requests in the interval. */
  latencyMs?: number;
}

/**
 * How much earlier than the fault step's start an outage may begin and still count as the fault's:
 * the fault time is the runner's clock, the requests' the node's.
 */
export const FAULT_ALLOWANCE_MS = 200;

export function phasesOf(records: LoadRecord[], marks: TimelineMark[]): Phases {
  const faults = marks.filter((mark) => mark.fault).sort((a, b) => a.startedAt - b.startedAt);
  // A request the parser could not place in time (NaN) says nothing about when the load ran.
  const sent = records.map((record) => record.sentAt).filter(Number.isFinite);
  // No request at all (the exec failed): the marks are all there is to place the phases on.
  const loadStart = sent.length > 0 ? Math.min(...sent) : (marks[0]?.startedAt ?? 0);
  const loadEnd = sent.length > 0 ? Math.max(...sent) : loadStart;
  const first = faults[0];
  const last = faults.at(-1);
  return {
    loadStart,
    ...(first && { faultAt: first.startedAt, faultAppliedAt: first.endedAt }),
    // One fault step alone (a kill, a drain) leaves the lab broken: nothing restored it.
    ...(last && faults.length >= 2 && { restoreBeganAt: last.startedAt, restoredAt: last.endedAt }),
    loadEnd,
  };
}

/**
 * By sentAt: before < faultAt; during from faultAppliedAt to restoreBeganAt; after from restoredAt.
 * A request sent while a fault step was still at work belongs to no phase: it may have met the lab
 * either way. No fault: all before.
 */
export function splitPhases(
  records: LoadRecord[],
  phases: Phases,
): { before: LoadRecord[]; during: LoadRecord[]; after: LoadRecord[] } {
  const split = { before: [] as LoadRecord[], during: [] as LoadRecord[], after: [] as LoadRecord[] };
  const { faultAt, faultAppliedAt = faultAt, restoreBeganAt, restoredAt = restoreBeganAt } = phases;
  for (const record of records) {
    const t = record.sentAt;
    if (faultAt === undefined || t < faultAt) split.before.push(record);
    else if (faultAppliedAt !== undefined && t < faultAppliedAt) continue;
    else if (restoreBeganAt === undefined || t < restoreBeganAt) split.during.push(record);
    else if (restoredAt !== undefined && t >= restoredAt) split.after.push(record);
  }
  return split;
}

/** An outage with its first failed request, which recoveryMs needs to tell whether the fault caused it. */
interface Run extends Outage {
  first: LoadRecord;
}

function runs(records: LoadRecord[], header: string): Run[] {
  // Per source: with ECMP, one source's flows can break while another's keep working.
  const groups = new Map<string | undefined, LoadRecord[]>();
  for (const record of records) {
    const group = groups.get(record.source);
    if (group) group.push(record);
    else groups.set(record.source, [record]);
  }
  const found: Run[] = [];
  for (const [source, group] of groups) {
    let current: Run | undefined;
    for (const record of [...group].sort((a, b) => a.seq - b.seq)) {
      if (failureReason(record, header) === undefined) {
        if (current) found.push({ ...current, end: record.sentAt });
        current = undefined;
      } else if (current) {
        current.failed += 1;
      } else {
        current = { ...(source !== undefined && { source }), start: record.sentAt, failed: 1, first: record };
      }
    }
    if (current) found.push(current);
  }
  return found.sort((a, b) => a.start - b.start);
}

/** Runs of failed requests, per source (all together when no request has one), by start. */
export function outages(records: LoadRecord[], header: string): Outage[] {
  return runs(records, header).map(({ first: _first, ...outage }) => outage);
}

/** The longest outage in ms (one that never ended lasts until loadEnd); 0 without failures. */
export function maxOutageMs(records: LoadRecord[], header: string, loadEnd: number): number {
  const lengths = runs(records, header).map((outage) => (outage.end ?? loadEnd) - outage.start);
  return Math.max(0, ...lengths);
}

/**
 * How long the traffic must run without a single failure before the fault's failures count as
 * over: a second, or five request intervals at a slow rate. Failures after such a quiet stretch are
 * not the fault's pattern (every other request refused, or one source's flows timing out) but
 * strays, e.g. a loaded sandbox guest pausing for a moment seconds after keepalived had mended it.
 */
export const SETTLED_MS = 1000;
const SETTLED_INTERVALS = 5;

function settledMs(records: LoadRecord[]): number {
  const sent = records
    .map((record) => record.sentAt)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const gaps = sent.slice(1).map((at, i) => at - sent[i]!);
  return gaps.length === 0 ? SETTLED_MS : Math.max(SETTLED_MS, SETTLED_INTERVALS * percentile(gaps, 0.5));
}

export interface FaultRecovery {
  /** From faultAt to the end of the fault's failures; 0 when it caused none, undefined when they never ended. */
  recoveryMs: number | undefined;
  /** Failed requests after the fault's failures had settled (before any restore): not in recoveryMs. */
  laterFailures: number;
}

/**
 * The fault's failures and when they ended. An outage counts as the fault's when its first failed
 * request was still in flight at the fault (within the allowance): one that failed before that
 * cannot be its. That also takes in a request sent just before the fault and broken by it mid-way.
 * One that began once the restore step was at work (restoreBeganAt) is the restore's: a daemon
 * coming back on a slow engine may drop a few requests, which says nothing about how fast the fault
 * was got round. The fault's failures are the outages from the first of these on, each beginning
 * within a settled stretch (settledMs) of the ones before it; what fails after such a stretch of
 * answered requests is counted apart (laterFailures), not as a late end of the fault.
 */
export function faultRecovery(
  records: LoadRecord[],
  header: string,
  faultAt: number,
  restoreBeganAt = Infinity,
  allowanceMs = FAULT_ALLOWANCE_MS,
): FaultRecovery {
  const caused = runs(records, header).filter(
    (run) => run.first.sentAt + run.first.ms >= faultAt - allowanceMs && run.first.sentAt < restoreBeganAt,
  );
  if (caused.length === 0) return { recoveryMs: 0, laterFailures: 0 };
  const quietMs = settledMs(records);
  let end = -Infinity;
  let laterFailures = 0;
  for (const run of caused) {
    if (end !== -Infinity && run.start > end + quietMs) laterFailures += run.failed;
    else if (run.end === undefined) return { recoveryMs: undefined, laterFailures: 0 };
    else end = Math.max(end, run.end);
  }
  return { recoveryMs: Math.max(0, end - faultAt), laterFailures };
}

/** One bucket per interval from loadStart through the last request, empty ones included. */
export function buckets(
  records: LoadRecord[],
  header: string,
  loadStart: number,
  bucketMs = 1000,
): TimelineBucket[] {
  const filled: (TimelineBucket & { latencies: number[] })[] = [];
  for (const record of records) {
    // Before loadStart (phasesOf never puts one there) or unplaceable (NaN): not on this timeline.
    if (!(record.sentAt >= loadStart)) continue;
    const index = Math.floor((record.sentAt - loadStart) / bucketMs);
    for (let i = filled.length; i <= index; i += 1) {
      filled.push({ second: (i * bucketMs) / 1000, sent: 0, failed: 0, values: {}, latencies: [] });
    }
    const bucket = filled[index]!;
    bucket.sent += 1;
    if (failureReason(record, header) !== undefined) {
      bucket.failed += 1;
      continue;
    }
    const value = record.header ?? '';
    bucket.values[value] = (bucket.values[value] ?? 0) + 1;
    bucket.latencies.push(record.ms);
  }
  return filled.map(({ latencies, ...bucket }) => ({
    ...bucket,
    ...(latencies.length > 0 && { latencyMs: percentile(latencies, 0.5) }),
  }));
}

/** Nearest-rank latency of the answered requests per header value: the path each took. */
export function latencyByValue(
  records: LoadRecord[],
  header: string,
): Record<string, { p50: number; p95: number; max: number; count: number }> {
  const byValue = new Map<string, number[]>();
  for (const record of records) {
    if (failureReason(record, header) !== undefined) continue;
    const value = record.header ?? '';
    const latencies = byValue.get(value);
    if (latencies) latencies.push(record.ms);
    else byValue.set(value, [record.ms]);
  }
  const result: Record<string, { p50: number; p95: number; max: number; count: number }> = {};
  for (const [value, latencies] of [...byValue].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    result[value] = {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      max: Math.max(...latencies),
      count: latencies.length,
    };
  }
  return result;
}

const MAX_COLUMNS = 120;
const MAX_LABEL = 24;
const RAMP = ' ▁▂▃▄▅▆▇█';

/**
 * A text timeline, one column per bucket (merged when there are more than 120, and the scale said):
 * a row per header value, most answers first, a `failed` row, and a `faults` row with `^` where each
 * fault step started, their names after it. Heights share one scale: the busiest cell.
 */
export function renderTimeline(
  buckets: TimelineBucket[],
  marks: TimelineMark[],
  loadStart: number,
): string[] {
  const first = buckets[0];
  if (!first) return [];
  const bucketMs = buckets[1] ? Math.round((buckets[1].second - first.second) * 1000) : 1000;
  const merge = Math.ceil(buckets.length / MAX_COLUMNS);
  const columnMs = bucketMs * merge;
  const columns: { failed: number; values: Map<string, number> }[] = [];
  const totals = new Map<string, number>();
  buckets.forEach((bucket, index) => {
    const column = (columns[Math.floor(index / merge)] ??= { failed: 0, values: new Map() });
    column.failed += bucket.failed;
    for (const [value, count] of Object.entries(bucket.values)) {
      column.values.set(value, (column.values.get(value) ?? 0) + count);
      totals.set(value, (totals.get(value) ?? 0) + count);
    }
  });
  const names = [...totals].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)).map(([v]) => v);
  const rows: [string, number[]][] = [
    ...names.map((name): [string, number[]] => [name, columns.map((c) => c.values.get(name) ?? 0)]),
    ['failed', columns.map((c) => c.failed)],
  ];
  const max = Math.max(1, ...rows.flatMap(([, counts]) => counts));
  const cell = (count: number) => (count === 0 ? '·' : RAMP[Math.max(1, Math.ceil((count / max) * 8))]);
  const faults = marks.filter((mark) => mark.fault).sort((a, b) => a.startedAt - b.startedAt);
  const labels = rows.map(([label]) =>
    label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label,
  );
  const width = Math.max(...labels.map((label) => label.length), faults.length > 0 ? 'faults'.length : 0);
  const lines = rows.map(([, counts], i) => `${labels[i]!.padEnd(width)}  ${counts.map(cell).join('')}`);
  if (faults.length > 0) {
    const row = Array.from({ length: columns.length }, () => ' ');
    for (const mark of faults) {
      const at = Math.floor((mark.startedAt - loadStart) / columnMs);
      row[Math.min(Math.max(at, 0), columns.length - 1)] = '^';
    }
    const named = faults.map((mark) => `${mark.name} @${seconds(mark.startedAt - loadStart)}s`);
    lines.push(`${'faults'.padEnd(width)}  ${row.join('')}  ${named.join(', ')}`);
  }
  if (columnMs !== 1000) lines.push(`1 column = ${seconds(columnMs)} s`);
  return lines;
}

/** 2000 -> `2`, 2345 -> `2.3`. */
function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
