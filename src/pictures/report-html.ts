/**
 * `verify --html`: the experiment as one self-contained page: the lab's picture, a row per step with
 * its verdict, each tally as bars per header value (and per source), each failover timeline as a time
 * chart, and the evidence folded under its step.
 */
import { timelineFigures } from '../verify/render-report.js';
import type { LoadTimeline, StepResult, VerifyReport } from '../verify/report.js';
import type { TallySummary } from '../verify/tally.js';
import { barChart, sourcesChart, timelineChart } from './charts.js';
import { coloursFor, escapeAttr, escapeHtml, htmlPage, inlineSvg } from './html.js';

export interface HtmlReportOptions {
  /** The lab's topology graph as SVG (pictures/svg.ts); left out when it could not be drawn. */
  graphSvg?: string;
}

/** The id of a step's section, for links from the table (and for tests). */
export function stepAnchor(index: number): string {
  return `step-${index + 1}`;
}

export function renderHtmlReport(report: VerifyReport, options: HtmlReportOptions = {}): string {
  const colours = coloursFor(report.steps.flatMap(valuesOf));
  const { counts } = report;
  const verdict = report.ok ? 'pass' : 'fail';
  const body = [
    `<h1>Lab ${escapeHtml(report.lab)} <span class="verdict verdict-${verdict}" id="overall">${report.ok ? 'PASS' : 'FAIL'}</span></h1>`,
    `<div class="meta">${escapeHtml(report.topologyFile)} · started ${escapeHtml(report.startedAt)} · ` +
      `${counts.steps} steps: ${counts.passed} passed, ${counts.failed} failed, ${counts.errors} errors in ${seconds(report.durationMs)}</div>`,
    ...(report.warnings ?? []).map((w) => `<p class="warning">warning: ${escapeHtml(w)}</p>`),
    options.graphSvg
      ? `<h2>The lab</h2><div class="graph" id="graph">${inlineSvg(options.graphSvg)}</div>`
      : '',
    '<h2>Steps</h2>',
    stepTable(report.steps),
    ...report.steps.map((step) => stepSection(step, colours)),
    undoneSection(report),
  ];
  return htmlPage(`lblab verify: ${report.lab}`, body.filter((part) => part !== '').join('\n'));
}

function valuesOf(step: StepResult): string[] {
  return [
    ...(step.tally?.values.map((v) => v.value) ?? []),
    ...Object.keys(step.timeline?.latencyByValue ?? {}),
    ...(step.timeline?.buckets.flatMap((b) => Object.keys(b.values)) ?? []),
  ];
}

function verdictBadge(verdict: StepResult['verdict']): string {
  return `<span class="verdict verdict-${verdict}">${verdict.toUpperCase()}</span>`;
}

function stepTable(steps: StepResult[]): string {
  const rows = steps.map(
    (step) =>
      `<tr class="step-row" data-step="${step.index + 1}" data-verdict="${step.verdict}">` +
      `<td class="num">${step.index + 1}</td>` +
      `<td><a href="#${stepAnchor(step.index)}">${step.parent !== undefined ? '↳ ' : ''}${escapeHtml(step.name)}</a></td>` +
      `<td>${escapeHtml(step.type)}</td><td>${escapeHtml(step.node)}</td><td>${verdictBadge(step.verdict)}</td>` +
      `<td>${escapeHtml(step.summary)}</td><td class="num">${seconds(step.durationMs)}</td></tr>`,
  );
  return (
    '<table id="steps"><thead><tr><th class="num">#</th><th>step</th><th>type</th><th>node</th><th>verdict</th><th>result</th><th class="num">time</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function stepSection(step: StepResult, colours: Map<string, string>): string {
  const parts = [
    `<section class="step${step.parent !== undefined ? ' child' : ''}" id="${stepAnchor(step.index)}" data-verdict="${step.verdict}">`,
    `<div class="step-head"><span class="num">${step.index + 1}.</span><span class="name">${escapeHtml(step.name)}</span>` +
      `<span class="node">on ${escapeHtml(step.node)}</span>${verdictBadge(step.verdict)}<span class="time">${seconds(step.durationMs)}</span></div>`,
    `<div class="summary">${escapeHtml(step.summary)}</div>`,
  ];
  if (step.error !== undefined) parts.push(`<p class="error">error: ${escapeHtml(step.error)}</p>`);
  if (step.expectations.length > 0) {
    const items = step.expectations.map(
      (e) =>
        `<li class="${e.ok ? 'ok' : 'bad'}">${e.ok ? '✓' : '✗'} <b>${escapeHtml(e.name)}</b>: expected ${escapeHtml(e.expected)}, seen ${escapeHtml(e.seen)}` +
        (e.hint !== undefined && !e.ok ? `<div class="hint">hint: ${escapeHtml(e.hint)}</div>` : '') +
        '</li>',
    );
    parts.push(`<ul class="expectations">${items.join('')}</ul>`);
  }
  if (step.tally) parts.push(tallyCharts(step, step.tally, colours));
  if (step.timeline) parts.push(timelineSection(step, step.timeline, colours));
  if (step.evidence.length > 0) {
    const evidence = step.evidence.map((e) => {
      const output = [e.stdout.trimEnd(), e.stderr.trimEnd()].filter((t) => t !== '').join('\n');
      const exit = e.exitCode === 0 ? '' : ` (exit ${e.exitCode})`;
      return `<div class="evidence-item"><code>${escapeHtml(e.label)}: ${escapeHtml(e.command)}${exit}</code><pre>${escapeHtml(output === '' ? '(no output)' : output)}</pre></div>`;
    });
    // Folded: evidence is long, and read only when a verdict needs explaining.
    parts.push(
      `<details class="evidence"${step.verdict === 'pass' ? '' : ' open'}><summary>evidence (${step.evidence.length})</summary>${evidence.join('')}</details>`,
    );
  }
  parts.push('</section>');
  return parts.join('\n');
}

function tallyCharts(step: StepResult, tally: TallySummary, colours: Map<string, string>): string {
  const failures = tally.failures > 0 ? `, ${tally.failures} failed` : '';
  const charts = [
    barChart(
      `all requests: ${tally.answered} answered of ${tally.requests}${failures}`,
      tally.values.map((v) => ({ label: v.value, count: v.count, colour: colours.get(v.value)! })),
      { 'data-step': String(step.index + 1), 'data-chart': 'tally' },
    ),
    ...(tally.bySource.length === 0
      ? []
      : [
          sourcesChart(
            `per source: ${tally.bySource.length} sources`,
            tally.bySource.map((source) => ({
              source: source.source,
              requests: source.requests,
              failures: source.failures,
              segments: source.values.map((v) => ({ value: v.value, count: v.count })),
            })),
            new Map([...colours].filter(([value]) => tally.values.some((v) => v.value === value))),
            { 'data-step': String(step.index + 1), 'data-chart': 'tally-sources' },
          ),
        ]),
  ];
  return `<div class="charts">${charts.join('')}</div>`;
}

function timelineSection(step: StepResult, timeline: LoadTimeline, colours: Map<string, string>): string {
  const values = new Map(
    [...colours].filter(([value]) => timeline.buckets.some((b) => (b.values[value] ?? 0) > 0)),
  );
  const figures = timelineFigures(timeline);
  const latency = Object.entries(timeline.latencyByValue)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(
      ([value, l]) =>
        `<tr data-value="${escapeAttr(value)}"><td>${escapeHtml(value)}</td><td class="num">${l.count}</td>` +
        `<td class="num">${l.p50.toFixed(1)}</td><td class="num">${l.p95.toFixed(1)}</td><td class="num">${l.max.toFixed(1)}</td></tr>`,
    );
  return [
    timelineChart(
      'requests per second: answered per path, failures in red, faults shaded',
      timeline,
      values,
      {
        'data-step': String(step.index + 1),
        'data-chart': 'timeline',
      },
    ),
    `<p class="figures">${escapeHtml(figures.join(', '))}</p>`,
    latency.length > 0
      ? '<table class="latency"><thead><tr><th>path</th><th class="num">answered</th><th class="num">p50 ms</th><th class="num">p95 ms</th><th class="num">max ms</th></tr></thead>' +
        `<tbody>${latency.join('')}</tbody></table>`
      : '',
  ].join('\n');
}

function undoneSection(report: VerifyReport): string {
  if (!report.undone || report.undone.length === 0) return '';
  const items = report.undone.map(
    (u) =>
      `<li class="${u.ok ? 'ok' : 'bad'}">${escapeHtml(u.what)}${u.ok ? '' : `: FAILED ${escapeHtml(u.error ?? '')}`}</li>`,
  );
  return `<h2>Faults undone</h2><ul class="expectations" id="undone">${items.join('')}</ul>`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
