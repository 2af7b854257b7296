import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestKernelFacts } from '../../src/sandbox/kernel-facts.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lblab-facts-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the sandbox guest's kernel facts, kept across processes", () => {
  const guest = { pid: 4242, startedAt: '2026-12-03T18:00:00.000Z' };

  it('are recalled for the same guest and image, by a memo made afresh (another process)', async () => {
    const file = path.join(dir, 'a.json');
    expect(await guestKernelFacts(guest, file).recall('lblab/node:1')).toBeUndefined();
    await guestKernelFacts(guest, file).remember('lblab/node:1', { ipvs: true });
    expect(await guestKernelFacts(guest, file).recall('lblab/node:1')).toEqual({ ipvs: true });
  });

  it('are forgotten when the guest restarted (another pid or start time) or the image changed', async () => {
    const file = path.join(dir, 'b.json');
    await guestKernelFacts(guest, file).remember('lblab/node:1', { ipvs: true });
    expect(await guestKernelFacts({ ...guest, pid: 4243 }, file).recall('lblab/node:1')).toBeUndefined();
    expect(
      await guestKernelFacts({ ...guest, startedAt: '2026-12-03T19:00:00.000Z' }, file).recall(
        'lblab/node:1',
      ),
    ).toBeUndefined();
    expect(await guestKernelFacts(guest, file).recall('lblab/node:2')).toBeUndefined();
  });

  it('a damaged file is no fact: probe again', async () => {
    const file = path.join(dir, 'c.json');
    await writeFile(file, '{"guest": ');
    expect(await guestKernelFacts(guest, file).recall('lblab/node:1')).toBeUndefined();
    await guestKernelFacts(guest, file).remember('lblab/node:1', { ipvs: true });
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
      image: 'lblab/node:1',
      facts: { ipvs: true },
    });
  });
});
