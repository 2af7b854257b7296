/**
 * The failover experiments, for real: traffic over time while a director stops (OSPF timers fast and
 * article), a real server's nginx dies behind keepalived and behind plain ipvsadm, a real server is
 * drained, and a director's link is slowed. On the host engine (nftables stand-ins) and on the
 * sandbox's real IPVS with keepalived.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { canRunSandbox } from '../../src/sandbox/index.js';
import type { StepResult } from '../../src/verify/report.js';
import { inBrowser } from '../support/browser.js';
import { lblab } from '../support/cli.js';
import { labFile, LONG, upAndVerify, withLabDown, type UpJson } from '../support/experiments.js';

const prerequisites = await canRunSandbox();
const scratch = mkdtempSync(path.join(tmpdir(), 'lblab-failover-'));
/** The director-loss lab with the course's timers (hello 1 s, dead 4 s). */
const articleTimers = path.join(scratch, 'failover-director-article.yml');
const director = readFileSync(labFile('failover-director'), 'utf8');
expect(director).toContain('\n    ospf-timers: auto\n');
writeFileSync(articleTimers, director.replace('\n    ospf-timers: auto\n', '\n    ospf-timers: article\n'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function loadStep(json: UpJson): StepResult {
  const step = json.verify.steps.find((s) => s.type === 'http-load');
  expect(step?.timeline, JSON.stringify(json.verify.steps.map((s) => s.name))).toBeDefined();
  return step as StepResult;
}

/** Exp. 1: failures only on the sources hashed to lb1, bounded, recovered, and both directors again after. */
function expectDirectorLoss(json: UpJson): number {
  const timeline = loadStep(json).timeline!;
  expect(timeline.failed).toBeGreaterThan(0);
  expect(timeline.recoveryMs).not.toBeNull();
  const failing = new Set(timeline.outages.map((o) => o.source));
  // Hash policy 0: a source that failed kept failing only until the nexthop went; the others never did.
  expect(failing.size).toBeGreaterThan(0);
  expect(failing.size).toBeLessThan(8);
  // The last full seconds (the very last one may hold a few requests only): both paths, no failure.
  const full = timeline.buckets.filter((b) => b.sent >= timeline.ratePerSecond * 0.8);
  const last = full.slice(-5);
  expect(last, JSON.stringify(timeline.buckets.slice(-8))).toHaveLength(5);
  for (const bucket of last) {
    expect(Object.keys(bucket.values).sort(), JSON.stringify(bucket)).toEqual(['server1', 'server2']);
    expect(bucket.failed).toBe(0);
  }
  return timeline.maxOutageMs;
}

/**
 * The HTML report's time chart in Chromium: per second a column segment per path that answered and
 * one for failures, matching the report's buckets, with the fault steps drawn as marks.
 */
async function expectTimelineInBrowser(html: string, step: StepResult): Promise<void> {
  const timeline = step.timeline!;
  const expected = timeline.buckets
    .flatMap((b) => [
      ...Object.entries(b.values).map(([value, count]) => `${b.second}:${value}:${count}`),
      ...(b.failed > 0 ? [`${b.second}:failed:${b.failed}`] : []),
    ])
    .sort();
  const { result, fetched } = await inBrowser(html, 'failover-director-report.png', async (page) => ({
    segments: await page.$$eval(
      `figure[data-chart="timeline"][data-step="${step.index + 1}"] rect.t-bar`,
      (rects) =>
        rects.map(
          (r) =>
            `${r.getAttribute('data-second')}:${r.getAttribute('data-value')}:${r.getAttribute('data-count')}`,
        ),
    ),
    faults: await page.$$eval('figure[data-chart="timeline"] g.mark.fault', (marks) =>
      marks.map((m) => m.getAttribute('data-name')),
    ),
  }));
  expect(fetched).toEqual([]);
  expect(result.segments.sort()).toEqual(expected);
  expect(result.segments.some((s) => s.includes(':failed:'))).toBe(true);
  expect(result.faults).toEqual(timeline.marks.filter((m) => m.fault).map((m) => m.name));
}

describe('failover experiments on the host engine', () => {
  const engine = 'docker';
  const outages: Record<string, number> = {};

  it(
    'a director lost under ECMP: the outage follows the OSPF dead interval (fast, then article timers)',
    async () => {
      for (const [timers, file] of [
        ['fast', labFile('failover-director')],
        ['article', articleTimers],
      ] as const) {
        await withLabDown(file, engine, async () => {
          const html = path.join(scratch, `director-${timers}.html`);
          const json = await upAndVerify(file, engine, ['--html', html]);
          outages[timers] = expectDirectorLoss(json);
          if (timers === 'fast') await expectTimelineInBrowser(html, loadStep(json));
        });
      }
      // Dead 4 s against dead 1 s: the article's outage is the longer one, by well over a second.
      expect(outages.article! - outages.fast!, JSON.stringify(outages)).toBeGreaterThan(1_500);
    },
    LONG,
  );

  it(
    'a drained real server: no request lost, new connections avoid it, its slots given back after',
    () =>
      withLabDown(labFile('drain'), engine, async () => {
        const json = await upAndVerify(labFile('drain'), engine);
        expect(json.verify.undone).toEqual([{ what: 'web1 back in 10.79.0.100:8080 on lb', ok: true }]);
        const last = loadStep(json).timeline!.buckets.slice(-3);
        expect(last.every((b) => b.values.web1 === undefined && b.failed === 0)).toBe(true);
      }),
    LONG,
  );

  it(
    'a degraded link: 200 ms on lb1 shows in the latency through it (netem, or the delay line without it)',
    () =>
      withLabDown(labFile('degraded-link'), engine, async () => {
        const json = await upAndVerify(labFile('degraded-link'), engine);
        const timeline = loadStep(json).timeline!;
        expect(timeline.latencyByValue.server1!.max).toBeGreaterThan(150);
        const impair = json.verify.steps.find((s) => s.type === 'impair' && s.name.includes('delay'))!;
        // This host's kernel may or may not have sch_netem; either way is named in the result.
        expect(impair.summary).toMatch(/^eth0: (netem delay 200ms|delay 200ms \(delay line in user space)/);
        // Nothing of the impairment is left on lb1: no redirect, no tap, no process, no state file.
        const lb1 = 'lblab-degraded-link-lb1';
        const left = await execa('docker', [
          'exec',
          lb1,
          'sh',
          '-c',
          'tc qdisc show dev eth0; tc filter show dev eth0 egress; ip -o link show; ls /run; pgrep -f "lblab [d]elay line" || true',
        ]);
        expect(left.stdout).not.toMatch(/netem|clsact|mirred|lbdelay|lblab-delay/);
        expect(left.stdout.split('\n').filter((line) => /^\d+$/.test(line))).toEqual([]);
      }),
    LONG,
  );
});

describe.skipIf(!prerequisites.ok)('failover experiments on real IPVS (sandbox)', () => {
  const engine = 'sandbox';
  afterAll(() => lblab(['engine', 'stop']), 300_000);

  it(
    'a director lost under ECMP: bounded by the dead interval, then both directors again',
    () =>
      withLabDown(labFile('failover-director'), engine, async () => {
        expectDirectorLoss(await upAndVerify(labFile('failover-director'), engine));
      }),
    LONG,
  );

  it(
    'a real server dies: keepalived takes it out within its check times; without health checks the failures go on',
    async () => {
      await withLabDown(labFile('failover-realserver'), engine, async () => {
        const timeline = loadStep(await upAndVerify(labFile('failover-realserver'), engine)).timeline!;
        expect(timeline.recoveryMs).toBeLessThanOrEqual(8_000);
      });
      await withLabDown(labFile('failover-realserver-ipvsadm'), engine, async () => {
        const timeline = loadStep(
          await upAndVerify(labFile('failover-realserver-ipvsadm'), engine),
        ).timeline!;
        // Failing until nginx itself came back (13 s after the kill), past keepalived's 8 s bound.
        expect(timeline.recoveryMs).toBeGreaterThan(11_000);
      });
    },
    LONG,
  );

  it(
    'a drained real server: no request lost',
    () =>
      withLabDown(labFile('drain'), engine, async () => {
        await upAndVerify(labFile('drain'), engine);
      }),
    LONG,
  );

  it(
    'a degraded link: 200 ms on lb1 shows in the latency through it',
    () =>
      withLabDown(labFile('degraded-link'), engine, async () => {
        const timeline = loadStep(await upAndVerify(labFile('degraded-link'), engine)).timeline!;
        expect(timeline.latencyByValue.server1!.max).toBeGreaterThan(150);
      }),
    LONG,
  );
});
