import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/util/clock.js';
import { withPidLock } from '../../src/util/pid-lock.js';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(path.join(tmpdir(), 'lblab-lock-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

/** A clock whose sleeps only advance time, so waiting out a timeout costs nothing. */
function fakeClock(): Clock {
  let now = 0;
  return { now: () => now, sleep: async (ms) => void (now += ms) };
}

const options = { timeoutMs: 1_000, busy: (owner: number) => new Error(`busy: ${owner}`) };

describe('withPidLock', () => {
  it('holds the lock (its pid in the file) while the action runs, and releases it after', async () => {
    const file = path.join(dir, 'labs', 'seed.lock');
    const seen = await withPidLock(
      file,
      async (lock) => ({ lock, content: await readFile(file, 'utf8') }),
      options,
    );
    expect(seen).toEqual({ lock: { ownerDied: false }, content: `${process.pid}\n` });
    await expect(readFile(file)).rejects.toThrow();
  });

  it('takes over a lock whose owner is gone and says the owner died mid-work', async () => {
    const file = path.join(dir, 'seed.lock');
    // Pid 2^22 + 1 is above Linux's pid_max: no such process.
    await writeFile(file, '4194305\n');
    const lock = await withPidLock(file, async (held) => held, options);
    expect(lock.ownerDied).toBe(true);
  });

  it('waits for a live owner and, at the timeout, fails with the owner named', async () => {
    const file = path.join(dir, 'seed.lock');
    await writeFile(file, '1\n'); // init: always alive
    const waited: number[] = [];
    const error = await withPidLock(file, async () => 'ran', {
      ...options,
      clock: fakeClock(),
      onWait: (owner) => waited.push(owner),
    }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('busy: 1');
    expect(waited).toEqual([1]);
    expect(await readFile(file, 'utf8')).toBe('1\n');
  });

  it('releases the lock when the action throws', async () => {
    const file = path.join(dir, 'seed.lock');
    await expect(withPidLock(file, async () => Promise.reject(new Error('boom')), options)).rejects.toThrow(
      'boom',
    );
    await expect(readFile(file)).rejects.toThrow();
  });
});
