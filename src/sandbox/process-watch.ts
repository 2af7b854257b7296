/**
 * Notices a process that is gone. A Docker API call to a guest whose UML process died mid-call never
 * returns (the TCP peer vanished without a reset), so `up` watches the guest's pid and cuts its
 * connections the moment it goes.
 */
import { readFileSync } from 'node:fs';

/** Whether pid runs (a zombie waiting to be reaped runs nothing). */
export function processIsLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Calls onGone once, when pid stops running; returns the function that stops watching. */
export function watchProcess(pid: number, onGone: () => void, intervalMs = 500): () => void {
  const timer = setInterval(() => {
    if (processIsLive(pid)) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  // Watching never keeps lblab running by itself.
  timer.unref();
  return () => clearInterval(timer);
}
