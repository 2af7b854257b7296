/**
 * One lblab process at a time starts or stops the sandbox: two concurrent `engine start`s would
 * otherwise both build the root or both boot a guest on the same tap. The lock is a file holding
 * the owner's pid; a lock whose owner is gone is taken over.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { realClock, type Clock } from '../apply/readiness.js';
import { processArgs } from './uml-process.js';
import type { SandboxPaths } from './sandbox-paths.js';

export interface SandboxLockOptions {
  /** Long enough for another process to build the root and boot. */
  timeoutMs?: number;
  onWait?: (line: string) => void;
  clock?: Clock;
}

const DEFAULT_LOCK_TIMEOUT_MS = 5 * 60_000;
const LOCK_POLL_MS = 250;

export async function withSandboxLock<T>(
  paths: SandboxPaths,
  action: () => Promise<T>,
  options: SandboxLockOptions = {},
): Promise<T> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + (options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  let announced = false;
  for (;;) {
    if (await tryTakeLock(paths.lockFile)) break;
    const owner = await lockOwner(paths.lockFile);
    if (owner === undefined || (await processArgs(owner)).length === 0) {
      await rm(paths.lockFile, { force: true });
      continue;
    }
    if (clock.now() >= deadline) {
      throw new Error(
        `another lblab process (pid ${owner}) is still starting or stopping the sandbox; lock ${paths.lockFile}`,
      );
    }
    if (!announced)
      options.onWait?.(`Waiting for lblab process ${owner}, which is starting or stopping the sandbox`);
    announced = true;
    await clock.sleep(LOCK_POLL_MS);
  }
  try {
    return await action();
  } finally {
    await rm(paths.lockFile, { force: true });
  }
}

async function tryTakeLock(lockFile: string): Promise<boolean> {
  try {
    await writeFile(lockFile, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function lockOwner(lockFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(lockFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
