/**
 * A lock file holding its owner's pid, for work that two lblab processes must not do at once. A lock
 * whose owner is gone is taken over, and the action is told so: the owner died mid-work.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from './clock.js';
import { pollUntil } from './poll.js';

export interface PidLockOptions {
  timeoutMs: number;
  /** Called once, when the lock is held by another live process and this one starts waiting. */
  onWait?: (owner: number) => void;
  /** The error when the owner still holds it at the timeout. */
  busy: (owner: number) => Error;
  clock?: Clock;
}

const LOCK_POLL_MS = 250;

export async function withPidLock<T>(
  file: string,
  action: (lock: { ownerDied: boolean }) => Promise<T>,
  options: PidLockOptions,
): Promise<T> {
  await mkdir(path.dirname(file), { recursive: true });
  let ownerDied = false;
  let announced = false;
  await pollUntil(
    async () => {
      for (;;) {
        if (await tryTakeLock(file)) return { ok: true, seen: 'taken', owner: undefined };
        const owner = await lockOwner(file);
        if (owner !== undefined && isAlive(owner)) return { ok: false, seen: `held by ${owner}`, owner };
        // Its owner is gone: take it over at once.
        ownerDied ||= owner !== undefined;
        await rm(file, { force: true });
      }
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: LOCK_POLL_MS,
      clock: options.clock,
      onTimeout: (_seen, last) => options.busy(last.owner ?? 0),
      onWait: (last) => {
        if (!announced && last.owner !== undefined) options.onWait?.(last.owner);
        announced = true;
      },
    },
  );
  try {
    return await action({ ownerDied });
  } finally {
    await rm(file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it just is not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryTakeLock(file: string): Promise<boolean> {
  try {
    await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function lockOwner(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
