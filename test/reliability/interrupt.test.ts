/**
 * Promise 2, interrupt: a signal in the middle of `up` rolls the lab back and exits 128 + signal
 * (SIGINT 130, SIGTERM 143, SIGHUP 129: the terminal closing must not strand a half-built lab). A second
 * signal leaves at once and says exactly how to clean up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab } from '../support/cli.js';
import {
  downLabs,
  ENGINE,
  labContainers,
  leftovers,
  linuxTopology,
  NOTHING_LEFT,
  removeTempDirs,
  startUp,
  tempDir,
  volumeNames,
  writeTopology,
} from './support.js';

const LABS = [
  'rel-int-create',
  'rel-int-term',
  'rel-int-ready',
  'rel-int-hup',
  'rel-int-twice',
  'rel-int-file',
];

let dir: string;
let volumesBefore: Set<string>;

beforeAll(async () => {
  await downLabs(LABS);
  dir = await tempDir();
  volumesBefore = await volumeNames();
}, 120_000);

afterAll(async () => {
  await downLabs(LABS);
  await removeTempDirs();
}, 120_000);

/** Four nodes whose readiness holds `up` for up to 60 s (nothing listens on port 9). */
async function slowTopology(lab: string, third: number): Promise<string> {
  const nodes = Object.fromEntries(
    ['a', 'b', 'c', 'd'].map((name, index) => [
      name,
      { ip: `10.243.${third}.${10 + index}`, extra: ['ready: [{ tcp: "127.0.0.1:9", timeout: 60s }]'] },
    ]),
  );
  return writeTopology(dir, `${lab}.yml`, linuxTopology(lab, `10.243.${third}.0/24`, nodes));
}

describe('a signal during up', () => {
  it('SIGINT while containers are being created: exit 130, nothing left', async () => {
    const file = await slowTopology('rel-int-create', 1);
    const up = startUp([file, ...ENGINE]);
    await up.waitFor('create:');
    up.child.kill('SIGINT');
    const result = await up.child;
    expect(result.exitCode, up.stderr()).toBe(130);
    expect(up.stderr()).toMatch(/^Error: interrupted by SIGINT; everything this run created was removed$/m);
    // Said once, not once per node that was still being worked on.
    expect(up.stderr().match(/interrupted by SIGINT/g)).toHaveLength(1);
    expect(await leftovers('rel-int-create', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it('SIGTERM while containers are being created: exit 143, nothing left', async () => {
    const file = await slowTopology('rel-int-term', 2);
    const up = startUp([file, ...ENGINE]);
    await up.waitFor('create:');
    up.child.kill('SIGTERM');
    const result = await up.child;
    expect(result.exitCode, up.stderr()).toBe(143);
    expect(up.stderr()).toMatch(/^Error: interrupted by SIGTERM/m);
    expect(await leftovers('rel-int-term', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it('SIGINT while waiting for readiness (every container running): exit 130, nothing left', async () => {
    const file = await slowTopology('rel-int-ready', 3);
    const up = startUp([file, ...ENGINE, '--verbose']);
    // --verbose logs each readiness probe: once d's has run, every node is in the readiness stage.
    await up.waitFor('lblab:docker exec lblab-rel-int-ready-d: bash -c');
    // The whole lab exists at this point: the rollback has real work to do.
    expect(Object.keys(await labContainers('rel-int-ready')).sort()).toEqual(['a', 'b', 'c', 'd']);
    const interrupted = performance.now();
    up.child.kill('SIGINT');
    const result = await up.child;
    expect(result.exitCode, up.stderr()).toBe(130);
    // Long before the 60 s readiness timeout, and said once, not once per readiness check.
    expect(performance.now() - interrupted).toBeLessThan(15_000);
    expect(up.stderr().match(/interrupted by SIGINT/g), up.stderr()).toHaveLength(1);
    expect(await leftovers('rel-int-ready', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it('SIGHUP (the terminal went away): exit 129, nothing left', async () => {
    const file = await slowTopology('rel-int-hup', 4);
    const up = startUp([file, ...ENGINE]);
    await up.waitFor('create:');
    up.child.kill('SIGHUP');
    const result = await up.child;
    expect(result.signal, up.stderr()).toBeUndefined();
    expect(result.exitCode, up.stderr()).toBe(129);
    expect(await leftovers('rel-int-hup', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it('a second SIGINT exits at once with the command that cleans up', async () => {
    // Under --name, `lblab down FILE` would name the file's lab, not this one: the hint must carry the name.
    const file = await slowTopology('rel-int-file', 5);
    const up = startUp([file, '--name', 'rel-int-twice', ...ENGINE]);
    await up.waitFor('create:');
    up.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = performance.now();
    up.child.kill('SIGINT');
    const result = await up.child;
    const exitedAfter = performance.now() - second;
    expect(result.exitCode, up.stderr()).toBe(130);
    expect(up.stderr()).toMatch(
      /^interrupted twice: leaving at once; clean up with: lblab down --name rel-int-twice$/m,
    );
    expect(up.stderr()).not.toMatch(/everything this run created was removed/);
    expect(exitedAfter).toBeLessThan(1_000);

    // The hint works.
    const down = await lblab(['down', '--name', 'rel-int-twice', ...ENGINE]);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await leftovers('rel-int-twice', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);
});
