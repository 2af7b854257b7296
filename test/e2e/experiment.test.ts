/**
 * The article's experiment, for real, on the host engine: `up --verify` passes all three observations,
 * and `verify` keeps passing run after run (five in a row).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/verify/report.js';
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
  const wrongTopology = `${tmpdir()}/lblab-e2e-wrong-expectation.yml`;

  beforeAll(async () => {
    await lblab(['down', '--all', ...ENGINE]);
  }, 120_000);

  afterAll(async () => {
    await lblab(['down', '--all', ...ENGINE]);
    await rm(junit, { force: true });
    await rm(wrongTopology, { force: true });
  }, 120_000);

  it('up --verify passes the three observations and writes JUnit', async () => {
    const { result, json } = await lblabJson<{ verify: VerifyReport }>([
      'up',
      SEED_TOPOLOGY,
      '--verify',
      '--junit',
      junit,
      ...ENGINE,
    ]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(json.verify.ok).toBe(true);
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
