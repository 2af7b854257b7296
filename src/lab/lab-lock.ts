/**
 * One `up` or `down` of a lab at a time, across processes: a second one waits for the first, so it
 * never sees (or reports as unchanged) a lab that is half built or half removed.
 */
import path from 'node:path';
import { LabError } from '../core/errors.js';
import { lblabStateDir } from '../sandbox/sandbox-paths.js';
import { withPidLock } from '../util/pid-lock.js';

/** As long as a slow `up` of the seed lab on the sandbox, with room to spare. */
const LAB_LOCK_TIMEOUT_MS = 15 * 60_000;

export function labLockFile(lab: string): string {
  return path.join(lblabStateDir(), 'labs', `${lab}.lock`);
}

/**
 * Runs `action` holding lab `lab`'s lock. `ownerDied`: the last holder was killed mid-work, so what
 * it left may be incomplete whatever it looks like.
 */
export async function withLabLock<T>(
  lab: string,
  action: (lock: { ownerDied: boolean }) => Promise<T>,
  onWait: (line: string) => void,
): Promise<T> {
  return withPidLock(labLockFile(lab), action, {
    timeoutMs: LAB_LOCK_TIMEOUT_MS,
    onWait: (owner) => onWait(`waiting for lblab process ${owner}, which is bringing lab ${lab} up or down`),
    busy: (owner) =>
      new LabError('preflight', `lblab process ${owner} is still bringing lab ${lab} up or down`, {
        hint: `wait for it to finish, or stop it (kill ${owner}); then run this again`,
      }),
  });
}
