/**
 * Promise 3, idempotent: `up` on an unchanged lab does nothing; on a changed topology it refuses and
 * says what to do; `--force` recreates. `down` works on a half-built lab, on a lab that is already gone
 * (quietly), and by `--name` once the topology file is deleted.
 */
import { rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab, lblabJson } from '../support/cli.js';
import {
  createdSomething,
  docker,
  downLabs,
  ENGINE,
  labContainers,
  leftovers,
  linuxTopology,
  NOTHING_LEFT,
  removeTempDirs,
  tempDir,
  volumeNames,
  writeTopology,
} from './support.js';

const LAB = 'rel-idem';
const GONE = 'rel-idem-gone';
const LABS = [LAB, GONE];

interface UpJson {
  lab: string;
  outcome: 'created' | 'unchanged';
}

let dir: string;
let file: string;
let volumesBefore: Set<string>;
const nodes = { a: { ip: '10.244.1.10' }, b: { ip: '10.244.1.11' } };

beforeAll(async () => {
  await downLabs(LABS);
  dir = await tempDir();
  file = await writeTopology(dir, 'idem.yml', linuxTopology(LAB, '10.244.1.0/24', nodes));
  volumesBefore = await volumeNames();
}, 120_000);

afterAll(async () => {
  await downLabs(LABS);
  await removeTempDirs();
}, 120_000);

describe('up is idempotent', () => {
  let firstIds: Record<string, string>;

  it('a second up on an unchanged lab does nothing', async () => {
    const first = await lblabJson<UpJson>(['up', file, ...ENGINE]);
    expect(first.result.exitCode, String(first.result.stderr)).toBe(0);
    expect(first.json.outcome).toBe('created');
    firstIds = await labContainers(LAB);
    expect(Object.keys(firstIds).sort()).toEqual(['a', 'b']);

    const second = await lblabJson<UpJson>(['up', file, ...ENGINE, '--verbose']);
    expect(second.result.exitCode, String(second.result.stderr)).toBe(0);
    expect(second.json.outcome).toBe('unchanged');
    expect(createdSomething(String(second.result.stderr))).toBe(false);
    expect(await labContainers(LAB)).toEqual(firstIds);

    const human = await lblab(['up', file, ...ENGINE]);
    expect(String(human.stdout)).toMatch(/lab rel-idem is already up and unchanged; nothing to do/);
  }, 60_000);

  it('a changed topology is refused, with down and --force in the message, and the lab is untouched', async () => {
    await writeFile(
      file,
      linuxTopology(LAB, '10.244.1.0/24', { ...nodes, b: { ip: '10.244.1.11', extra: ['env: { X: "2" }'] } }),
    );
    const result = await lblab(['up', file, ...ENGINE, '--verbose']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(/^Error: preflight: lab rel-idem is already up from a different topology$/m);
    expect(stderr).toMatch(/^Try this: .*lblab down .*idem\.yml.*--force/m);
    expect(createdSomething(stderr)).toBe(false);
    expect(await labContainers(LAB)).toEqual(firstIds);
  }, 60_000);

  it('--force recreates the lab from the new topology', async () => {
    const { result, json } = await lblabJson<UpJson>(['up', file, '--force', ...ENGINE]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(json.outcome).toBe('created');
    const ids = await labContainers(LAB);
    expect(Object.keys(ids).sort()).toEqual(['a', 'b']);
    expect(ids.a).not.toBe(firstIds.a);
    expect(ids.b).not.toBe(firstIds.b);
    const env = await lblab(['exec', file, 'b', ...ENGINE, '--', 'printenv', 'X']);
    expect(String(env.stdout).trim()).toBe('2');
  }, 60_000);

  it('up on a half-built lab refuses and points at down / --force', async () => {
    await docker(['rm', '-f', `lblab-${LAB}-a`]);
    const result = await lblab(['up', file, ...ENGINE]);
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toMatch(/lab rel-idem is already up but incomplete/);
    expect(String(result.stderr)).toMatch(/--force/);
  }, 60_000);
});

describe('down always gets the lab to nothing', () => {
  it('on a half-built lab (one container removed by hand)', async () => {
    // Left by the previous test: node a is gone, node b and the network remain.
    expect(Object.keys(await labContainers(LAB))).toEqual(['b']);
    const result = await lblab(['down', file, ...ENGINE]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toMatch(/lab rel-idem: removed 1 container\(s\) and 1 network\(s\)/);
    expect(await leftovers(LAB, volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it('on a lab that is already gone: quiet, exit 0', async () => {
    const result = await lblab(['down', file, ...ENGINE]);
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout)).toBe('lab rel-idem: nothing to remove');
    expect(String(result.stderr)).toBe('');
  }, 60_000);

  it('by --name after the topology file was deleted', async () => {
    const gone = await writeTopology(
      dir,
      'gone.yml',
      linuxTopology(GONE, '10.244.2.0/24', { a: { ip: '10.244.2.10' }, b: { ip: '10.244.2.11' } }),
    );
    const up = await lblab(['up', gone, ...ENGINE]);
    expect(up.exitCode, String(up.stderr)).toBe(0);
    await rm(gone);

    const byFile = await lblab(['down', gone, ...ENGINE]);
    expect(byFile.exitCode).toBe(1);
    expect(Object.keys(await labContainers(GONE)).sort()).toEqual(['a', 'b']);

    const byName = await lblab(['down', '--name', GONE, ...ENGINE]);
    expect(byName.exitCode, String(byName.stderr)).toBe(0);
    expect(String(byName.stdout)).toMatch(/removed 2 container\(s\) and 1 network\(s\)/);
    expect(await leftovers(GONE, volumesBefore)).toEqual(NOTHING_LEFT);
  }, 60_000);
});
