/**
 * The article's experiment, for real, on the host engine: `up --verify` passes all three observations,
 * and `verify` keeps passing run after run (five in a row).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { TopologyConfig } from '../../src/core/topology.js';
import type { VerifyReport } from '../../src/verify/report.js';
import type { Page } from 'puppeteer-core';
import { inBrowser } from '../support/browser.js';
import { lblab, lblabJson, SEED_TOPOLOGY } from '../support/cli.js';

const ENGINE = ['--engine', 'docker'];
const OBSERVATIONS = [
  'policy 0, one source lands on one server',
  'policy 1 splits over both servers',
  'policy 0, several sources split and each source is stable',
];

function observationsOf(report: VerifyReport) {
  return OBSERVATIONS.map((name) => report.steps.find((step) => step.name === name));
}

describe('the ECMP experiment on the host engine', () => {
  const junit = `${tmpdir()}/lblab-e2e-verify.xml`;
  const html = `${tmpdir()}/lblab-e2e-verify.html`;
  const graphSvg = `${tmpdir()}/lblab-e2e-graph.svg`;
  const liveHtml = `${tmpdir()}/lblab-e2e-graph-live.html`;
  let firstReport: VerifyReport | undefined;
  const wrongTopology = `${tmpdir()}/lblab-e2e-wrong-expectation.yml`;

  beforeAll(async () => {
    await lblab(['down', '--all', ...ENGINE]);
  }, 120_000);

  afterAll(async () => {
    await lblab(['down', '--all', ...ENGINE]);
    for (const file of [junit, html, graphSvg, liveHtml]) await rm(file, { force: true });
    await rm(wrongTopology, { force: true });
  }, 120_000);

  it('up --verify passes the three observations and writes JUnit', async () => {
    const { result, json } = await lblabJson<{ verify: VerifyReport }>([
      'up',
      SEED_TOPOLOGY,
      '--verify',
      '--junit',
      junit,
      '--html',
      html,
      ...ENGINE,
    ]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(json.verify.ok).toBe(true);
    firstReport = json.verify;
    const [one, split, sources] = observationsOf(json.verify);
    expect(one?.tally?.values).toHaveLength(1);
    expect(one?.tally?.values[0]?.count).toBe(100);
    expect(split?.tally?.values.map((v) => v.value).sort()).toEqual(['server1', 'server2']);
    expect(Math.min(...(split?.tally?.values.map((v) => v.share) ?? [0]))).toBeGreaterThanOrEqual(0.25);
    expect(sources?.tally?.values).toHaveLength(2);
    for (const source of sources?.tally?.bySource ?? []) expect(source.values).toHaveLength(1);

    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<testsuite [^>]*tests="13"[^>]*failures="0"/);
    expect(xml.match(/<testcase /g)).toHaveLength(13);
  }, 300_000);

  it('the graph and the HTML report in a browser: every node, network and step, a bar per tallied value', async () => {
    const topology = parseYaml(await readFile(SEED_TOPOLOGY, 'utf8')) as TopologyConfig;
    const nodes = Object.keys(topology.topology.nodes).sort();
    const networks = Object.keys(topology.topology.networks).sort();
    // An arrow per real server of each director's virtual services.
    const lvs = Object.values(topology.topology.nodes)
      .flatMap((node) => node.services ?? [])
      .reduce((sum, service) => sum + service['real-servers'].length, 0);
    const idsIn = async (page: Page) => ({
      nodes: (await page.$$eval('g.lab-node', (gs) => gs.map((g) => g.id.replace(/^node-/, '')))).sort(),
      networks: (await page.$$eval('g.lab-network', (gs) => gs.map((g) => g.id.replace(/^net-/, '')))).sort(),
      running: (await page.$$('g.lab-node.state-running')).length,
      ecmp: (await page.$$('g.ecmp-edge')).length,
      lvs: (await page.$$('g.lvs-edge')).length,
      // Drawn, not just present: Chromium laid every node out with a size.
      sized: await page.$$eval('g.lab-node', (gs) => gs.every((g) => g.getBoundingClientRect().width > 10)),
    });

    // The picture of the file, and of the running lab (both directors' nexthops on the router).
    expect((await lblab(['graph', SEED_TOPOLOGY, '-o', graphSvg])).exitCode).toBe(0);
    const still = await inBrowser(graphSvg, 'seed-lab-graph.png', idsIn);
    expect(still.result).toMatchObject({ nodes, networks, running: 0, ecmp: 0, lvs, sized: true });
    expect(still.fetched).toEqual([]);
    const live = await lblab(['graph', SEED_TOPOLOGY, '--live', '-o', liveHtml, ...ENGINE]);
    expect(live.exitCode, String(live.stderr)).toBe(0);
    const drawn = await inBrowser(liveHtml, 'seed-lab-graph-live.png', idsIn);
    expect(drawn.result).toMatchObject({ nodes, networks, running: nodes.length, ecmp: 2, sized: true });
    expect(drawn.fetched).toEqual([]);

    // The report of the first run: its picture, a row per step, and each tally's bars.
    const report = firstReport!;
    expect(report).toBeDefined();
    const page = await inBrowser(html, 'seed-lab-report.png', async (p) => ({
      graph: await idsIn(p),
      rows: await p.$$eval('tr.step-row', (rows) =>
        rows.map((row) => ({ text: row.textContent ?? '', verdict: row.getAttribute('data-verdict') })),
      ),
      charts: await p.$$eval('figure[data-chart="tally"]', (figures) =>
        figures.map((figure) => ({
          step: Number(figure.getAttribute('data-step')),
          bars: [...figure.querySelectorAll('g.bar')].map((bar) => [
            bar.getAttribute('data-value'),
            Number(bar.getAttribute('data-count')),
            // A bar of a non-zero count is visible.
            Math.round(bar.querySelector('rect')!.getBoundingClientRect().width) > 0,
          ]),
        })),
      ),
      // Per source: one row, a segment per value that source saw.
      sources: await p.$$eval('figure[data-chart="tally-sources"] rect.bar', (rects) =>
        rects.map((rect) => ({
          step: Number(rect.closest('figure')!.getAttribute('data-step')),
          source: rect.getAttribute('data-source'),
          value: rect.getAttribute('data-value'),
          count: Number(rect.getAttribute('data-count')),
          visible: rect.getBoundingClientRect().width > 0,
        })),
      ),
    }));
    expect(page.fetched).toEqual([]);
    expect(page.result.graph).toMatchObject({ nodes, networks, running: nodes.length });
    expect(page.result.rows).toHaveLength(report.steps.length);
    report.steps.forEach((step, i) => {
      expect(page.result.rows[i]!.text).toContain(step.name);
      expect(page.result.rows[i]!.verdict).toBe(step.verdict);
    });
    const tallied = report.steps.filter((step) => step.tally);
    expect(tallied.length).toBeGreaterThanOrEqual(3);
    for (const step of tallied) {
      const overall = page.result.charts.find((c) => c.step === step.index + 1);
      expect(overall?.bars).toEqual(step.tally!.values.map((v) => [v.value, v.count, true]));
      const segments = page.result.sources.filter((s) => s.step === step.index + 1);
      expect(segments).toEqual(
        step.tally!.bySource.flatMap((source) =>
          source.values.map((v) => ({
            step: step.index + 1,
            source: source.source,
            value: v.value,
            count: v.count,
            visible: true,
          })),
        ),
      );
    }
    expect(page.result.sources.length).toBeGreaterThanOrEqual(24);
  }, 180_000);

  it('passes five runs in a row', async () => {
    // A source already on lo (say, from an interrupted run) is "unchanged", not an error, in this
    // kernel's own wording ("Address already assigned").
    const add = await lblab([
      'exec',
      SEED_TOPOLOGY,
      'router',
      ...ENGINE,
      '--',
      'ip',
      'addr',
      'add',
      '172.16.253.11/32',
      'dev',
      'lo',
    ]);
    expect(add.exitCode).toBe(0);
    for (let run = 1; run <= 5; run += 1) {
      const { result, json } = await lblabJson<VerifyReport>(['verify', SEED_TOPOLOGY, ...ENGINE]);
      expect(result.exitCode, `run ${run}: ${String(result.stderr)}`).toBe(0);
      expect(observationsOf(json).map((step) => step?.verdict)).toEqual(['pass', 'pass', 'pass']);
      if (run === 1) {
        expect(json.steps.find((step) => step.type === 'addresses')?.summary).toBe(
          'added 23 on lo, 1 unchanged',
        );
      }
    }
  }, 300_000);

  it('exits 1 and says what was expected and seen when an expectation does not hold', async () => {
    // The same lab, but claiming policy 1 keeps one server: that must fail, with the evidence.
    const seed = await readFile(SEED_TOPOLOGY, 'utf8');
    const wrong = seed.replace(
      'expect: { distinct: 2, min-share: 0.25, only: [server1, server2], max-failures: 0 }',
      'expect: { distinct: 1, max-failures: 0 }',
    );
    expect(wrong).not.toBe(seed);
    await writeFile(wrongTopology, wrong);
    const { result, json } = await lblabJson<VerifyReport>(['verify', wrongTopology, ...ENGINE]);
    expect(result.exitCode).toBe(1);
    expect(json.ok).toBe(false);
    const failed = json.steps.filter((step) => step.verdict !== 'pass');
    expect(failed.map((step) => step.name)).toEqual(['policy 1 splits over both servers']);
    const distinct = failed[0]?.expectations.find((e) => !e.ok);
    expect(distinct?.expected).toMatch(/1/);
    expect(distinct?.seen).toMatch(/2/);
  }, 120_000);
});
