/**
 * Finding and ending UML processes. Every process of a UML guest (the kernel and one host process
 * per guest address space) carries the kernel's command line, so `rootflags=<root dir>` identifies
 * one sandbox's processes without trusting a pid file alone: pids get reused.
 */
import { readdir, readFile } from 'node:fs/promises';

/** A process's argv; empty for a process that is gone or a zombie (its cmdline reads empty). */
export async function processArgs(pid: number): Promise<string[]> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((arg) => arg.length > 0);
  } catch {
    return [];
  }
}

function rootArg(rootDir: string): string {
  return `rootflags=${rootDir}`;
}

export async function isSandboxProcess(pid: number, rootDir: string): Promise<boolean> {
  return (await processArgs(pid)).includes(rootArg(rootDir));
}

/** Every live process of the guest booted from `rootDir`, the kernel first if it is there. */
export async function findSandboxProcesses(rootDir: string): Promise<number[]> {
  return findProcesses((args) => args.includes(rootArg(rootDir)));
}

/** Live UML processes attached to `tap`, whichever state directory they belong to. */
export async function findTapUsers(tap: string): Promise<number[]> {
  return findProcesses((args) =>
    args.some((arg) => arg.startsWith('vec0:') && arg.split(/[:,]/).includes(`ifname=${tap}`)),
  );
}

async function findProcesses(matches: (args: string[]) => boolean): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const found: number[] = [];
  for (const pid of pids.sort((a, b) => a - b)) {
    if (pid !== process.pid && matches(await processArgs(pid))) found.push(pid);
  }
  return found;
}

/** Signals a whole process group; one that no longer exists is not an error. */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
