/**
 * Helpers for the reliability suite: small topologies in temp directories, leftover checks by label and
 * by name, and `up` runs that can be interrupted at a chosen moment. Every command targets the host
 * engine only (`--engine docker`), so a lab in the sandbox engine is never touched.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerObjectsLabelled, dockerObjectsNamed, lblab, PROJECT_ROOT } from '../support/cli.js';

export const ENGINE = ['--engine', 'docker'] as const;

/** A linux node: `networks: { lan: ip }` plus whatever else the test adds (exec, ready, image, binds). */
export interface LinuxNode {
  ip: string;
  extra?: string[];
}

/** YAML for a one-network lab of linux nodes (the quickest kind to create). */
export function linuxTopology(lab: string, subnet: string, nodes: Record<string, LinuxNode>): string {
  const lines = [`name: ${lab}`, 'topology:', '  networks:', `    lan: { subnet: ${subnet} }`, '  nodes:'];
  for (const [name, node] of Object.entries(nodes)) {
    lines.push(`    ${name}:`, '      kind: linux', `      networks: { lan: ${node.ip} }`);
    for (const line of node.extra ?? []) lines.push(`      ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A fresh directory under the OS temp dir; removed by `removeTempDirs`. */
const tempDirs: string[] = [];
export async function tempDir(prefix = 'lblab-rel-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

export async function writeTopology(dir: string, file: string, yaml: string): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, yaml);
  return path;
}

export async function docker(args: string[]): Promise<string> {
  return (await execa('docker', args)).stdout.trim();
}

/** `docker ...` that may fail (removing something that may be gone). */
export async function dockerQuiet(args: string[]): Promise<void> {
  await execa('docker', args, { reject: false });
}

export async function volumeNames(): Promise<Set<string>> {
  return new Set((await docker(['volume', 'ls', '-q'])).split('\n').filter(Boolean));
}

/**
 * Everything a lab could have left: containers, networks and volumes carrying its label, containers
 * and networks whose name starts with its prefix, and volumes that appeared since `volumesBefore`.
 */
export async function leftovers(
  lab: string,
  volumesBefore?: Set<string>,
): Promise<{ labelled: string[]; named: string[]; newVolumes: string[] }> {
  const labelled = await dockerObjectsLabelled(`lblab.lab=${lab}`);
  const named = await dockerObjectsNamed(`lblab-${lab}-`);
  const newVolumes = volumesBefore ? [...(await volumeNames())].filter((v) => !volumesBefore.has(v)) : [];
  return {
    labelled: [...labelled.containers, ...labelled.networks, ...labelled.volumes],
    named: [...named.containers, ...named.networks],
    newVolumes,
  };
}

export const NOTHING_LEFT = { labelled: [], named: [], newVolumes: [] };

/** Container IDs of a lab, by node name. */
export async function labContainers(lab: string): Promise<Record<string, string>> {
  const out = await docker([
    'ps',
    '-a',
    '--filter',
    `label=lblab.lab=${lab}`,
    '--format',
    '{{.ID}} {{.Label "lblab.node"}}',
  ]);
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id = '', node = ''] = line.split(' ');
        return [node, id];
      }),
  );
}

/** Removes the given labs from the host engine by name (never `--all`: other labs may be running). */
export async function downLabs(labs: string[]): Promise<void> {
  for (const lab of labs) await lblab(['down', '--name', lab, ...ENGINE], { timeoutMs: 60_000 });
}

/** A Docker-call line of `--verbose` / `DEBUG=lblab*`, e.g. `lblab:docker create container x (12 ms)`. */
export function dockerCalls(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes('lblab:docker '));
}

/** True if the output shows a Docker object being created. */
export function createdSomething(stderr: string): boolean {
  return dockerCalls(stderr).some((line) => /lblab:docker (create|connect|start) /.test(line));
}

export interface RunningUp {
  child: ResultPromise<{ reject: false; forceKillAfterDelay: false; timeout: number }>;
  stderr: () => string;
  /** Resolves once stderr contains `text`; rejects if the process ends first. */
  waitFor: (text: string) => Promise<void>;
}

/** Starts `lblab up ...` as a child process (no shell in between), reading its stderr as it comes. */
export function startUp(args: string[]): RunningUp {
  return startCommand('up', args);
}

/** Any lblab command, started in the background, whose stderr the test can wait on. */
export function startCommand(command: string, args: string[]): RunningUp {
  const child = execa('node', [`${PROJECT_ROOT}bin/run.js`, command, ...args], {
    cwd: PROJECT_ROOT,
    reject: false,
    // execa would send SIGKILL 5 s after a SIGTERM; the point is to see what lblab does with it.
    forceKillAfterDelay: false,
    timeout: 120_000,
  });
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const waiter of waiters.splice(0)) {
      if (stderr.includes(waiter.text)) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  const ended = child.then(() => undefined);
  return {
    child,
    stderr: () => stderr,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void ended.then(() => reject(new Error(`${command} ended before printing "${text}":\n${stderr}`)));
      }),
  };
}
