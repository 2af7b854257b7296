/** The HTML report and the class page: built from reports shaped like real runs, read back as text. */
import { describe, expect, it } from 'vitest';
import { renderClassHtml, type Grade } from '../../src/classroom/grade.js';
import { barChart, timelineChart } from '../../src/pictures/charts.js';
import { coloursFor, inlineSvg } from '../../src/pictures/html.js';
import { renderHtmlReport } from '../../src/pictures/report-html.js';
import type { LoadTimeline, StepResult, VerifyReport } from '../../src/verify/report.js';

const count = (html: string, pattern: RegExp) => (html.match(pattern) ?? []).length;

function step(index: number, extra: Partial<StepResult>): StepResult {
  return {
    index,
    name: `step ${index + 1}`,
    type: 'http-tally',
    node: 'router',
    verdict: 'pass',
    durationMs: 1200,
    summary: 'ok',
    expectations: [],
    evidence: [],
    ...extra,
  };
}

const timeline: LoadTimeline = {
  startedAt: '2026-12-03T10:00:00.000Z',
  ratePerSecond: 10,
  sent: 40,
  failed: 5,
  buckets: [
    { second: 0, sent: 10, failed: 0, values: { server1: 5, server2: 5 } },
    { second: 1, sent: 10, failed: 5, values: { server2: 5 } },
    { second: 2, sent: 10, failed: 0, values: { server2: 10 } },
    { second: 3, sent: 10, failed: 0, values: { server1: 4, server2: 6 } },
  ],
  marks: [{ name: 'stop lb1', atS: 1, endS: 1.5, fault: true }],
  faultAtS: 1,
  outages: [{ source: '10.0.0.2', startS: 1, endS: 2, failed: 5 }],
  maxOutageMs: 1000,
  recoveryMs: 1100,
  latencyByValue: {
    server1: { p50: 1, p95: 2, max: 3, count: 9 },
    server2: { p50: 1, p95: 2, max: 4, count: 26 },
  },
};

const report: VerifyReport = {
  lab: 'ecmp-lvs-dr',
  topologyFile: 'topologies/ecmp-lvs-dr.yml',
  startedAt: '2026-12-03T10:00:00.000Z',
  durationMs: 9000,
  ok: false,
  counts: { steps: 3, passed: 2, failed: 1, errors: 0 },
  steps: [
    step(0, {
      name: 'policy 0, several sources <split>',
      tally: {
        requests: 100,
        answered: 100,
        failures: 0,
        failureReasons: [],
        values: [
          { value: 'server1', count: 60, share: 0.6 },
          { value: 'server2', count: 40, share: 0.4 },
        ],
        bySource: [
          {
            source: '10.0.0.2',
            requests: 50,
            failures: 0,
            values: [{ value: 'server1', count: 50, share: 1 }],
          },
          {
            source: '10.0.0.3',
            requests: 50,
            failures: 0,
            values: [{ value: 'server2', count: 50, share: 1 }],
          },
        ],
      },
      expectations: [{ name: 'distinct', ok: true, expected: '2', seen: '2' }],
    }),
    step(1, {
      type: 'http-load',
      verdict: 'fail',
      timeline,
      expectations: [
        { name: 'max-outage', ok: false, expected: '≤ 0.5s', seen: '1.0s', hint: 'dead interval' },
      ],
      evidence: [{ label: 'routes', command: 'ip route', exitCode: 0, stdout: 'a & b\n', stderr: '' }],
    }),
    step(2, { type: 'daemon', parent: 1, name: 'stop lb1' }),
  ],
  undone: [{ what: 'start lb1', ok: true }],
};

describe('verify --html', () => {
  const html = renderHtmlReport(report, {
    graphSvg: '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg id="g"></svg>\n',
  });

  it('is one page that fetches nothing', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect(html).toContain("default-src 'none'");
  });

  it('has the lab picture inline, without its XML prologue', () => {
    expect(html).toContain('<div class="graph" id="graph"><svg id="g"></svg></div>');
    expect(html).not.toContain('<?xml');
  });

  it('has a row and a section per step, with verdicts and escaped names', () => {
    expect(count(html, /<tr class="step-row"/g)).toBe(3);
    expect(count(html, /<section class="step/g)).toBe(3);
    expect(html).toContain('policy 0, several sources &lt;split&gt;');
    expect(html).toContain('data-step="2" data-verdict="fail"');
    expect(html).toContain('<section class="step child" id="step-3"');
    expect(html).toContain('hint: dead interval');
  });

  it('draws one bar per tallied value, and per source a row split by value', () => {
    const charts = html.split('<figure class="chart"').slice(1);
    const tally = charts.filter((c) => c.includes('data-chart="tally"'));
    expect(tally).toHaveLength(1);
    expect(count(tally[0]!, /<g class="bar"/g)).toBe(2);
    const sources = charts.filter((c) => c.includes('data-chart="tally-sources"'));
    expect(sources).toHaveLength(1);
    expect(count(sources[0]!, /<g class="source-row"/g)).toBe(2);
    expect(sources[0]).toContain('data-source="10.0.0.2" data-value="server1" data-count="50"');
    expect(sources[0]).toContain('data-source="10.0.0.3" data-value="server2" data-count="50"');
  });

  it('draws the timeline with a column segment per value and second, failures and the fault', () => {
    const chart = html.split('<figure class="chart"').find((c) => c.includes('data-chart="timeline"'))!;
    // Answered segments 2 + 1 + 1 + 2 (a value per second that had it), failed 1.
    expect(count(chart, /class="t-bar"/g)).toBe(7);
    expect(count(chart, /data-value="failed"/g)).toBe(1);
    expect(chart).toContain('class="mark fault" data-name="stop lb1"');
    expect(html).toContain('recovered 1.1s after the fault');
  });

  it('folds evidence, open where the step failed', () => {
    expect(html).toContain('<details class="evidence" open><summary>evidence (1)</summary>');
    expect(html).toContain('a &amp; b');
  });

  it('is the same for the same report', () => {
    expect(renderHtmlReport(report)).toBe(renderHtmlReport(report));
  });
});

describe('charts', () => {
  it('scale bars to the largest count and keep a zero bar empty', () => {
    const svg = barChart('t', [
      { label: 'a', count: 10, colour: '#000' },
      { label: 'b', count: 5, colour: '#000' },
      { label: 'c', count: 0, colour: '#000' },
    ]);
    const widths = [...svg.matchAll(/<rect [^>]*width="(\d+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([240, 120, 0]);
  });

  it('give each value one colour everywhere', () => {
    const colours = coloursFor(['server2', 'server1', 'server2']);
    expect([...colours.keys()]).toEqual(['server1', 'server2']);
    expect(colours.get('server1')).not.toBe(colours.get('server2'));
  });

  it('stack a second to its sent count at full height', () => {
    const svg = timelineChart('t', timeline, coloursFor(['server1', 'server2']));
    expect(svg).toContain('10/s');
    expect(inlineSvg(svg)).toMatch(/^<svg class="timeline-chart"/);
  });
});

describe('class grade --html', () => {
  const grade = (student: string, earned: number[], error?: string): Grade => ({
    exercise: 'dr-arp',
    student,
    lab: `dr-arp-${student}`,
    score: earned.reduce((a, b) => a + b, 0),
    max: 3,
    passed: earned.every((e, i) => e === [1, 2][i]),
    checks: earned.map((e, i) => ({
      name: `check ${i + 1}`,
      points: [1, 2][i]!,
      earned: e,
      verdict: e > 0 ? ('pass' as const) : ('fail' as const),
      summary: 's',
      hint: 'look at arp_ignore',
      durationMs: 10,
    })),
    ...(error ? { error } : {}),
    startedAt: '2026-12-03T10:00:00.000Z',
    durationMs: 100,
  });

  it('has a row per student and a column per check', () => {
    const html = renderClassHtml('dr-arp', [
      grade('alice', [1, 2]),
      grade('bob', [0, 2]),
      grade('carol', [0, 0], 'lab is gone'),
    ]);
    expect(count(html, /<tr class="student"/g)).toBe(3);
    expect(count(html, /<th class="num check"/g)).toBe(2);
    expect(count(html, /<td class="num cell-/g)).toBe(6);
    expect(html).toContain('data-student="bob" data-score="2"');
    expect(html).toContain('(hint: look at arp_ignore)');
    expect(html).toContain('lab is gone');
    expect(html).toContain('3 students, 1 at full marks');
  });
});
