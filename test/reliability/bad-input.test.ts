/**
 * Promise 6, bad input end to end (the corpus of hostile topologies is test/unit/hostile-corpus.test.ts):
 * a lab name that is shell text, in the file or in --name, is refused by `up` with exit 1, one error
 * line and no stack trace, before any Docker object exists; and nothing ever runs it.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerObjectsNamed, lblab } from '../support/cli.js';
import {
  createdSomething,
  ENGINE,
  linuxTopology,
  removeTempDirs,
  tempDir,
  writeTopology,
} from './support.js';

const PWNED = '/tmp/lblab-pwned';
const HOSTILE = `a;touch ${PWNED}`;

let dir: string;

beforeAll(async () => {
  await rm(PWNED, { force: true });
  dir = await tempDir();
});

afterAll(async () => {
  await rm(PWNED, { force: true });
  await removeTempDirs();
});

async function nothingNamedHostile(): Promise<void> {
  expect(await dockerObjectsNamed('touch')).toEqual({ containers: [], networks: [] });
  expect(existsSync(PWNED)).toBe(false);
}

describe('a hostile lab name never reaches Docker or a shell', () => {
  it('name: in the topology file', async () => {
    const yaml = linuxTopology('placeholder', '10.247.1.0/24', {
      a: { ip: '10.247.1.10', extra: ['exec: ["echo harmless text is fine"]'] },
    }).replace('name: placeholder', `name: ${JSON.stringify(HOSTILE)}`);
    const file = await writeTopology(dir, 'hostile.yml', yaml);
    const result = await lblab(['up', file, ...ENGINE, '--verbose']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(/hostile\.yml:1:7: name/);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(createdSomething(stderr), stderr).toBe(false);
    await nothingNamedHostile();
  }, 60_000);

  it('--name on the command line', async () => {
    const file = await writeTopology(
      dir,
      'fine.yml',
      linuxTopology('rel-bad-fine', '10.247.2.0/24', { a: { ip: '10.247.2.10' } }),
    );
    const result = await lblab(['up', file, '--name', HOSTILE, ...ENGINE, '--verbose']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(
      /^Error: preflight: --name "a;touch \/tmp\/lblab-pwned" is not a valid lab name$/m,
    );
    expect(stderr).not.toMatch(/^\s+at /m);
    // Refused before the first Docker call, not by Docker half-way through.
    expect(createdSomething(stderr), stderr).toBe(false);
    await nothingNamedHostile();
  }, 60_000);
});
