/**
 * `lblab shell`: a terminal in a lab node. The docker CLI runs it (raw mode, window size, Ctrl-C
 * reaching the node's shell), against the engine that holds the node's container.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { LabError } from '../core/errors.js';
import type { Engine } from '../runtime/engine.js';
import { logDocker } from '../util/log.js';
import { findOnPath } from '../util/path-lookup.js';
import { existsSync } from 'node:fs';
import { EXERCISE_NAME, exerciseLabName } from '../classroom/exercise.js';
import { checkStudent } from './exercise-flags.js';
import { labNameFor } from './lab-name.js';

/** bash where the image has it (lblab's node image does), else sh; exec keeps one process on the terminal. */
export const DEFAULT_SHELL = [
  'sh',
  '-c',
  'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi',
];

/**
 * The lab a shell is wanted in, from the command's positional file and its flags. The positional may
 * also be an exercise's name (`lblab shell dr-arp web1 --student alice`): a word that is not a file.
 */
export async function resolveLab(
  args: { file?: string },
  flags: { name?: string; student?: string },
): Promise<string> {
  const file = args.file || undefined;
  if (
    !flags.name &&
    file &&
    (flags.student !== undefined || (EXERCISE_NAME.test(file) && !existsSync(file)))
  ) {
    return exerciseLabName(file.replace(/\/+$/, '').split('/').pop()!, checkStudent(flags.student));
  }
  return labNameFor(file, flags.name);
}

/** The running container of `node` in `lab`, or an error that says what to do. */
export async function runningNodeContainer(engine: Engine, lab: string, node: string): Promise<string> {
  const { labStatus } = await import('../lab/lab.js');
  const nodes = await labStatus(engine, lab);
  const target = nodes.find((status) => status.node === node);
  if (!target)
    throw new LabError('preflight', `lab ${lab} has no node ${node}`, {
      hint: `its nodes: ${nodes.map((status) => status.node).join(', ')}`,
    });
  if (target.state !== 'running')
    throw new LabError('preflight', `node ${node} of lab ${lab} is ${target.state}, not running`, {
      hint: 'bring the lab up again with `lblab up FILE`',
    });
  return target.container;
}

/** `docker exec` arguments: a terminal only when stdin is one, so commands can be piped in. */
export function dockerExecArgs(container: string, command: string[], stdinIsTerminal: boolean): string[] {
  return [
    'exec',
    stdinIsTerminal ? '-it' : '-i',
    container,
    ...(command.length > 0 ? command : DEFAULT_SHELL),
  ];
}

/** Runs the docker CLI on this terminal against `endpoint`; resolves to its exit code. */
export async function runDockerCli(args: string[], endpoint: string): Promise<number> {
  const docker = await findOnPath('docker');
  if (!docker)
    throw new LabError(
      'engine',
      'lblab shell needs the docker command-line client, and there is no `docker` on PATH',
      {
        hint: 'install it (Debian: apt-get install docker.io or docker-ce-cli), or run one command at a time with `lblab exec FILE NODE -- CMD`',
      },
    );
  logDocker('DOCKER_HOST=%s docker %s', endpoint, args.join(' '));
  const child = spawn(docker, args, { stdio: 'inherit', env: { ...process.env, DOCKER_HOST: endpoint } });
  // Ctrl-C without a terminal reaches the docker CLI too (same process group): wait for it to end.
  // A signal meant for lblab alone is passed on, so the shell does not outlive it.
  const ignoreInterrupt = () => {};
  const passOn = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignoreInterrupt);
  process.on('SIGTERM', passOn);
  process.on('SIGHUP', passOn);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    process.off('SIGINT', ignoreInterrupt);
    process.off('SIGTERM', passOn);
    process.off('SIGHUP', passOn);
  }
}
