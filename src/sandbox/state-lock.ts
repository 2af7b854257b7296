/**
 * One lblab process at a time starts or stops the sandbox (or claims a lab link): two concurrent
 * `engine start`s would otherwise both build the root or both boot a guest on the same tap.
 */
import type { Clock } from '../util/clock.js';
import { withPidLock } from '../util/pid-lock.js';
import type { SandboxPaths } from './sandbox-paths.js';

export interface SandboxLockOptions {
  /** Long enough for another process to build the root and boot. */
  timeoutMs?: number;
  onWait?: (line: string) => void;
  clock?: Clock;
}

const DEFAULT_LOCK_TIMEOUT_MS = 5 * 60_000;

export async function withSandboxLock<T>(
  paths: SandboxPaths,
  action: () => Promise<T>,
  options: SandboxLockOptions = {},
): Promise<T> {
  return withPidLock(paths.lockFile, action, {
    timeoutMs: options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    clock: options.clock,
    onWait: (owner) =>
      options.onWait?.(`Waiting for lblab process ${owner}, which is starting or stopping the sandbox`),
    busy: (owner) =>
      new Error(
        `another lblab process (pid ${owner}) is still starting or stopping the sandbox; lock ${paths.lockFile}`,
      ),
  });
}
