import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/util/clock.js';
import { sandboxPaths, type SandboxPaths } from '../../src/sandbox/sandbox-paths.js';
import { withSandboxLock } from '../../src/sandbox/state-lock.js';

/** A clock whose sleeps only move time forward. */
function fakeClock(): Clock {
  let now = 0;
  return { now: () => now, sleep: async (ms) => void (now += ms) };
}

describe('withSandboxLock', () => {
  let dir: string;
  let paths: SandboxPaths;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lblab-lock-'));
    paths = sandboxPaths(dir);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('holds the lock with its own pid while the action runs, and releases it after a failure too', async () => {
    const held = await withSandboxLock(paths, () => readFile(paths.lockFile, 'utf8'));
    expect(held.trim()).toBe(String(process.pid));
    await expect(withSandboxLock(paths, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(readFile(paths.lockFile)).rejects.toThrow(/ENOENT/);
  });

  it('takes over a lock whose owner is gone', async () => {
    await writeFile(paths.lockFile, '999999999\n');
    await expect(withSandboxLock(paths, async () => 'ran')).resolves.toBe('ran');
  });

  it('waits for a live owner, then gives up naming it', async () => {
    // Our parent is alive for the whole test.
    await writeFile(paths.lockFile, `${process.ppid}\n`);
    const waits: string[] = [];
    const attempt = withSandboxLock(paths, async () => 'ran', {
      timeoutMs: 2_000,
      clock: fakeClock(),
      onWait: (line) => waits.push(line),
    });
    await expect(attempt).rejects.toThrow(new RegExp(`pid ${process.ppid}`));
    expect(waits).toHaveLength(1);
  });
});
