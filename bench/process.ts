/** Running a command and keeping what it printed and when: shared by the bench scripts. */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const LBLAB = join(REPO, 'bin', 'run.js');

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
  /** Epoch milliseconds just before spawn and at exit: the same clock as `date +%s.%N`. */
  startedAt: number;
  endedAt: number;
  /** Wall time from spawn to exit on the monotonic clock, in seconds (for short commands). */
  seconds: number;
}

export function run(command: string, args: string[]): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const startedAt = Date.now();
    const started = performance.now();
    const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolvePromise({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        startedAt,
        endedAt: Date.now(),
        seconds: (performance.now() - started) / 1000,
      }),
    );
  });
}

/** run, failing with the command's last lines when it exits non-zero. */
export async function runOk(command: string, args: string[]): Promise<Finished> {
  const result = await run(command, args);
  if (result.code !== 0) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n  ');
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code}:\n  ${tail}`);
  }
  return result;
}
