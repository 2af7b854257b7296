/**
 * Promise 1, atomic up: whatever stage fails, `up` exits 1 naming the node and the stage, and leaves
 * nothing behind (by label, by name, no new volume). A conflict found by the preflight means nothing
 * is created at all, and the message names the object in the way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab } from '../support/cli.js';
import {
  createdSomething,
  docker,
  dockerQuiet,
  downLabs,
  ENGINE,
  leftovers,
  linuxTopology,
  NOTHING_LEFT,
  removeTempDirs,
  tempDir,
  startUp,
  volumeNames,
  writeTopology,
} from './support.js';

const LABS = [
  'rel-at-create',
  'rel-at-setup',
  'rel-at-ready',
  'rel-at-overlap',
  'rel-at-clash',
  'rel-at-squat',
];
const FOREIGN_NETWORK = 'rel-foreign-overlap';
const FOREIGN_CONTAINER = 'lblab-rel-at-clash-a';
const SQUATTER = 'rel-at-squatter';

let dir: string;
let nodeImage: string;
let volumesBefore: Set<string>;

async function cleanUp(): Promise<void> {
  await downLabs(LABS);
  await dockerQuiet(['rm', '-f', FOREIGN_CONTAINER, SQUATTER]);
  await dockerQuiet(['network', 'rm', FOREIGN_NETWORK]);
}

beforeAll(async () => {
  await cleanUp();
  dir = await tempDir();
  // The node image lblab builds (the e2e suite before this one has built it).
  nodeImage =
    (await docker(['images', 'lblab/node', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n')[0] ?? '';
  expect(nodeImage, 'the lblab node image must exist (run the e2e suite or lblab images build)').toMatch(
    /^lblab\/node:/,
  );
  volumesBefore = await volumeNames();
}, 120_000);

afterAll(async () => {
  await cleanUp();
  await removeTempDirs();
}, 120_000);

/** Two good nodes and one that fails at the stage under test. */
async function upFailing(lab: string, subnet: string, failing: string[]) {
  const prefix = subnet.replace(/0\/24$/, '');
  const file = await writeTopology(
    dir,
    `${lab}.yml`,
    linuxTopology(lab, subnet, {
      a: { ip: `${prefix}10`, extra: ['exec: ["echo a"]'] },
      b: { ip: `${prefix}11` },
      bad: { ip: `${prefix}12`, extra: failing },
    }),
  );
  return lblab(['up', file, ...ENGINE, '--verbose'], { timeoutMs: 90_000 });
}

describe('a failure at any stage of up rolls everything back', () => {
  it('container create (an image that does not exist)', async () => {
    const result = await upFailing('rel-at-create', '10.241.1.0/24', ['image: lblab/does-not-exist:1']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(/^Error: bad: create: .*lblab\/does-not-exist:1/m);
    // The lab really was half-built before it was rolled back.
    expect(stderr).toMatch(/lblab:docker create network lblab-rel-at-create-lan \(\d+ ms\)/);
    expect(stderr).toMatch(/lblab:docker remove network/);
    expect(await leftovers('rel-at-create', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it("a setup command's non-zero exit", async () => {
    const result = await upFailing('rel-at-setup', '10.241.2.0/24', ['exec: ["exit 3"]']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(/^Error: bad: setup: .*exit 3/m);
    expect(stderr).toMatch(/lblab:docker start lblab-rel-at-setup-a \(\d+ ms\)/);
    // The hint must not send the user into a container that was just removed.
    expect(stderr).not.toMatch(/Try this: .*lblab exec/);
    expect(await leftovers('rel-at-setup', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it('a readiness timeout', async () => {
    const started = performance.now();
    const result = await upFailing('rel-at-ready', '10.241.3.0/24', [
      'ready: [{ tcp: "127.0.0.1:9", timeout: 2s }]',
    ]);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(/^Error: bad: readiness: TCP 127\.0\.0\.1:9 open not reached after 2 s/m);
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(await leftovers('rel-at-ready', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);
});

describe('--keep-on-failure: the one way to keep a failed lab, on purpose', () => {
  it('leaves the failed lab up to inspect, says how to remove it, and down removes it', async () => {
    const prefix = '10.241.4.';
    const file = await writeTopology(
      dir,
      'rel-at-keep.yml',
      linuxTopology('rel-at-keep', `${prefix}0/24`, {
        a: { ip: `${prefix}10` },
        bad: { ip: `${prefix}12`, extra: ['ready: [{ tcp: "127.0.0.1:9", timeout: 1s }]'] },
      }),
    );
    const result = await lblab(['up', file, ...ENGINE, '--keep-on-failure'], { timeoutMs: 90_000 });
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(/^Error: bad: readiness: /m);
    expect(stderr).toContain('lblab down --name rel-at-keep');
    const kept = await leftovers('rel-at-keep', volumesBefore);
    expect(kept.labelled.length).toBeGreaterThan(0);
    const inside = await lblab(['exec', '--name', 'rel-at-keep', 'bad', ...ENGINE, '--', 'hostname']);
    expect(String(inside.stdout).trim()).toBe('bad');
    await downLabs(['rel-at-keep']);
    expect(await leftovers('rel-at-keep', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 90_000);
});

describe('a conflict found by the preflight creates nothing at all', () => {
  it('a foreign, unlabelled network with an overlapping subnet', async () => {
    await docker(['network', 'create', '--subnet', '10.242.0.0/16', FOREIGN_NETWORK]);
    const file = await writeTopology(
      dir,
      'overlap.yml',
      linuxTopology('rel-at-overlap', '10.242.5.0/24', { a: { ip: '10.242.5.10' } }),
    );
    const result = await lblab(['up', file, ...ENGINE, '--verbose'], { timeoutMs: 60_000 });
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(
      /^Error: preflight: network "rel-foreign-overlap" already uses 10\.242\.0\.0\/16/m,
    );
    expect(createdSomething(stderr), stderr).toBe(false);
    expect(await leftovers('rel-at-overlap', volumesBefore)).toEqual(NOTHING_LEFT);
    // ... and the foreign network is untouched.
    expect(await docker(['network', 'inspect', FOREIGN_NETWORK, '--format', '{{json .Labels}}'])).toBe('{}');
  }, 60_000);

  it('a foreign container with the name of a lab node', async () => {
    const foreignId = await docker(['create', '--name', FOREIGN_CONTAINER, nodeImage, 'sleep', 'infinity']);
    const file = await writeTopology(
      dir,
      'clash.yml',
      linuxTopology('rel-at-clash', '10.241.6.0/24', {
        a: { ip: '10.241.6.10' },
        b: { ip: '10.241.6.11' },
      }),
    );
    const result = await lblab(['up', file, ...ENGINE, '--verbose'], { timeoutMs: 60_000 });
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(
      /^Error: preflight: container "lblab-rel-at-clash-a" already exists and is not lab rel-at-clash's/m,
    );
    expect(createdSomething(stderr), stderr).toBe(false);
    // Only the foreign container has the lab's prefix, and it is the same one as before.
    expect(await docker(['ps', '-aq', '--no-trunc', '--filter', `name=^${FOREIGN_CONTAINER}$`])).toBe(
      foreignId,
    );
    const left = await leftovers('rel-at-clash', volumesBefore);
    expect(left).toEqual({ ...NOTHING_LEFT, named: [FOREIGN_CONTAINER] });
  }, 60_000);
});

describe('a rollback that something outside the lab blocks', () => {
  it('says why up failed and what is left, and leaves the foreign container alone', async () => {
    const file = await writeTopology(
      dir,
      'squat.yml',
      linuxTopology('rel-at-squat', '10.241.7.0/24', {
        a: { ip: '10.241.7.10', extra: ['ready: [{ tcp: "127.0.0.1:9", timeout: 5s }]'] },
      }),
    );
    const up = startUp([file, ...ENGINE]);
    await up.waitFor('a: setup:');
    // Someone attaches a debugging container to the lab's network while up waits for readiness.
    await docker([
      'run',
      '-d',
      '--name',
      SQUATTER,
      '--network',
      'lblab-rel-at-squat-lan',
      nodeImage,
      'sleep',
      'infinity',
    ]);
    const result = await up.child;
    const stderr = up.stderr();
    expect(result.exitCode, stderr).toBe(1);
    // The original failure is not lost behind the rollback's.
    expect(stderr).toMatch(
      /^Error: teardown: rolling back after "a: readiness: TCP 127\.0\.0\.1:9 open not reached/m,
    );
    expect(stderr).toContain(
      `network lblab-rel-at-squat-lan is still used by ${SQUATTER}, not a container of the lab: ` +
        `disconnect it (docker network disconnect lblab-rel-at-squat-lan ${SQUATTER})`,
    );
    expect(stderr).toMatch(/^Try this: .*lblab down --name rel-at-squat/m);
    expect(await docker(['inspect', SQUATTER, '--format', '{{.State.Running}}'])).toBe('true');
    expect(await leftovers('rel-at-squat')).toEqual({
      ...NOTHING_LEFT,
      labelled: [expect.any(String)],
      named: ['lblab-rel-at-squat-lan'],
    });

    // Once the foreign container is gone, the hint's command finishes the job.
    await docker(['rm', '-f', SQUATTER]);
    const down = await lblab(['down', '--name', 'rel-at-squat', ...ENGINE]);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await leftovers('rel-at-squat', volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);
});
