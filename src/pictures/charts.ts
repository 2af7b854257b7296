/**
 * Charts as inline SVG (a few rectangles each, so no chart library or script in the page): a bar per
 * tallied value, and the traffic of a failover experiment second by second. Every bar carries its
 * value and count in data- attributes, so a test (or a reader's devtools) finds them in the DOM.
 */
import type { LoadTimeline } from '../verify/report.js';
import { escapeAttr, escapeHtml, FAILURE_COLOUR } from './html.js';

export interface Bar {
  label: string;
  count: number;
  colour: string;
}

/**
 * A chart as a <figure>: its caption, the SVG of `kind` (a class) and an optional legend under it;
 * `attrs` (data- attributes) on the figure say what it charts.
 */
function chartFigure(
  kind: string,
  title: string,
  size: { width: number; height: number },
  body: string,
  attrs: Record<string, string>,
  legend?: string,
): string {
  const extra = Object.entries(attrs)
    .map(([name, value]) => ` ${name}="${escapeAttr(value)}"`)
    .join('');
  const { width, height } = size;
  return (
    `<figure class="chart"${extra}><figcaption>${escapeHtml(title)}</figcaption>` +
    `<svg class="${kind}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeAttr(title)}">` +
    body +
    `</svg>${legend === undefined ? '' : `<div class="legend">${legend}</div>`}</figure>`
  );
}

/** A swatch and name per value, then failures' red when the chart draws any. */
function legendOf(colours: Map<string, string>, failed: boolean): string {
  return [...colours, ...(failed ? [['failed', FAILURE_COLOUR] as const] : [])]
    .map(([value, colour]) => `<span><i style="background:${colour}"></i>${escapeHtml(value)}</span>`)
    .join('');
}

const BAR_HEIGHT = 22;
const BAR_GAP = 6;
const LABEL_WIDTH = 110;
const BAR_AREA = 240;
const COUNT_WIDTH = 96;

/** Horizontal bars, one per entry, longest = the largest count; the count and share at its end. */
export function barChart(title: string, bars: Bar[], attrs: Record<string, string> = {}): string {
  const total = bars.reduce((sum, bar) => sum + bar.count, 0);
  const max = Math.max(1, ...bars.map((bar) => bar.count));
  const width = LABEL_WIDTH + BAR_AREA + COUNT_WIDTH;
  const height = Math.max(1, bars.length) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP;
  const rows = bars.map((bar, i) => {
    const y = BAR_GAP + i * (BAR_HEIGHT + BAR_GAP);
    const length = Math.max(bar.count > 0 ? 2 : 0, Math.round((bar.count / max) * BAR_AREA));
    const share = total > 0 ? ` (${Math.round((bar.count / total) * 100)} %)` : '';
    return (
      `<g class="bar" data-value="${escapeAttr(bar.label)}" data-count="${bar.count}">` +
      `<title>${escapeHtml(`${bar.label}: ${bar.count}${share}`)}</title>` +
      `<text x="${LABEL_WIDTH - 6}" y="${y + 15}" text-anchor="end" font-size="12">${escapeHtml(bar.label)}</text>` +
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${length}" height="${BAR_HEIGHT}" fill="${bar.colour}"/>` +
      `<text x="${LABEL_WIDTH + length + 6}" y="${y + 15}" font-size="12">${bar.count}${share}</text>` +
      `</g>`
    );
  });
  return chartFigure('bar-chart', title, { width, height }, rows.join(''), attrs);
}

export interface SourceRow {
  source: string;
  requests: number;
  failures: number;
  /** Answered requests per header value. */
  segments: { value: string; count: number }[];
}

const ROW_HEIGHT = 16;
const SOURCE_LABEL_WIDTH = 130;

/**
 * Where each source's requests went: a row per source, one bar split into a segment per header
 * value (ECMP with hash policy 0 gives each source one colour; policy 1 mixes them), failures in red.
 */
export function sourcesChart(
  title: string,
  rows: SourceRow[],
  colours: Map<string, string>,
  attrs: Record<string, string> = {},
): string {
  const max = Math.max(1, ...rows.map((row) => row.requests));
  // Room for the row's text after the bar: "server1 84 / server2 27 / failed 1".
  const width = SOURCE_LABEL_WIDTH + BAR_AREA + 250;
  const height = Math.max(1, rows.length) * (ROW_HEIGHT + 3) + 3;
  const parts = rows.map((row, i) => {
    const y = 3 + i * (ROW_HEIGHT + 3);
    let x = SOURCE_LABEL_WIDTH;
    const segments = [
      ...row.segments.map((s) => ({ ...s, colour: colours.get(s.value) ?? '#888' })),
      ...(row.failures > 0 ? [{ value: 'failed', count: row.failures, colour: FAILURE_COLOUR }] : []),
    ].map((segment) => {
      const length = Math.max(segment.count > 0 ? 2 : 0, Math.round((segment.count / max) * BAR_AREA));
      const rect =
        `<rect class="bar" data-source="${escapeAttr(row.source)}" data-value="${escapeAttr(segment.value)}" data-count="${segment.count}" ` +
        `x="${x}" y="${y}" width="${length}" height="${ROW_HEIGHT}" fill="${segment.colour}">` +
        `<title>${escapeHtml(`${row.source}: ${segment.value} ${segment.count}`)}</title></rect>`;
      x += length;
      return rect;
    });
    const text = [
      ...row.segments.map((s) => `${s.value} ${s.count}`),
      ...(row.failures > 0 ? [`failed ${row.failures}`] : []),
    ].join(' / ');
    return (
      `<g class="source-row" data-source="${escapeAttr(row.source)}">` +
      `<text x="${SOURCE_LABEL_WIDTH - 6}" y="${y + 12}" text-anchor="end" font-size="11">${escapeHtml(row.source)}</text>` +
      segments.join('') +
      `<text x="${x + 5}" y="${y + 12}" font-size="11">${escapeHtml(text)}</text></g>`
    );
  });
  const failed = rows.some((row) => row.failures > 0);
  const legend = legendOf(colours, failed);
  return chartFigure('sources-chart', title, { width, height }, parts.join(''), attrs, legend);
}

const PLOT_HEIGHT = 160;
const AXIS_LEFT = 40;
const AXIS_BOTTOM = 24;
const TOP = 18;

/**
 * Requests per second as stacked columns: answered per header value (the path each took), failures
 * on top in red; the fault steps as shaded bands with their names, so the outage sits under its cause.
 */
export function timelineChart(
  title: string,
  timeline: LoadTimeline,
  colours: Map<string, string>,
  attrs: Record<string, string> = {},
): string {
  const seconds = timeline.buckets.length;
  const column = seconds > 60 ? 8 : 14;
  const width = AXIS_LEFT + Math.max(1, seconds) * column + 10;
  const height = TOP + PLOT_HEIGHT + AXIS_BOTTOM;
  const peak = Math.max(1, ...timeline.buckets.map((b) => b.sent));
  const scale = PLOT_HEIGHT / peak;
  const x = (second: number): number => AXIS_LEFT + second * column;
  const parts: string[] = [];
  for (const mark of timeline.marks) {
    const from = x(mark.atS);
    const to = Math.max(from + 2, x(mark.endS));
    parts.push(
      `<g class="mark${mark.fault ? ' fault' : ''}" data-name="${escapeAttr(mark.name)}" data-at="${mark.atS}">` +
        `<rect x="${from}" y="${TOP}" width="${to - from}" height="${PLOT_HEIGHT}" fill="${mark.fault ? '#f5b7b1' : '#d6eaf8'}" opacity="0.6"/>` +
        `<text x="${from + 2}" y="${TOP - 5}" font-size="10">${escapeHtml(mark.name)}</text></g>`,
    );
  }
  const values = [...colours.keys()];
  for (const bucket of timeline.buckets) {
    let top = TOP + PLOT_HEIGHT;
    const segments: [string, number, string][] = values
      .map((value): [string, number, string] => [value, bucket.values[value] ?? 0, colours.get(value)!])
      .concat([['failed', bucket.failed, FAILURE_COLOUR]]);
    for (const [value, count, colour] of segments) {
      if (count === 0) continue;
      const h = count * scale;
      top -= h;
      parts.push(
        `<rect class="t-bar" data-second="${bucket.second}" data-value="${escapeAttr(value)}" data-count="${count}" ` +
          `x="${x(bucket.second) + 1}" y="${top.toFixed(1)}" width="${column - 2}" height="${h.toFixed(1)}" fill="${colour}">` +
          `<title>${escapeHtml(`${bucket.second} s: ${value} ${count}`)}</title></rect>`,
      );
    }
  }
  // Axes: requests per second on the left, seconds along the bottom every 5 s.
  parts.push(
    `<line x1="${AXIS_LEFT}" y1="${TOP + PLOT_HEIGHT}" x2="${width - 5}" y2="${TOP + PLOT_HEIGHT}" stroke="#555"/>`,
    `<line x1="${AXIS_LEFT}" y1="${TOP}" x2="${AXIS_LEFT}" y2="${TOP + PLOT_HEIGHT}" stroke="#555"/>`,
    `<text x="${AXIS_LEFT - 4}" y="${TOP + 4}" font-size="10" text-anchor="end">${peak}/s</text>`,
    `<text x="${AXIS_LEFT - 4}" y="${TOP + PLOT_HEIGHT}" font-size="10" text-anchor="end">0</text>`,
  );
  for (let second = 0; second < seconds; second += 5) {
    parts.push(`<text x="${x(second)}" y="${TOP + PLOT_HEIGHT + 14}" font-size="10">${second}s</text>`);
  }
  const legend = legendOf(colours, true);
  return chartFigure('timeline-chart', title, { width, height }, parts.join(''), attrs, legend);
}
