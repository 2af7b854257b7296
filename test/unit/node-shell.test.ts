/**
 * `lblab shell`'s parts that need no engine: the docker CLI's arguments, finding the node's
 * container, and handing over to the CLI (a stand-in `docker` script that records what it got).
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import {
  DEFAULT_SHELL,
  dockerExecArgs,
  resolveLab,
  runDockerCli,
  runningNodeContainer,
} from '../../src/cli/node-shell.js';
import { fakeEngine, FakeRuntime } from '../support/fake-runtime.js';

const PATH = process.env.PATH;
const dirs: string[] = [];

afterEach(async () => {
  process.env.PATH = PATH;
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('dockerExecArgs', () => {
  it('asks for a terminal only when stdin is one, so commands can be piped in', () => {
    expect(dockerExecArgs('lblab-x-a', [], true)).toEqual(['exec', '-it', 'lblab-x-a', ...DEFAULT_SHELL]);
    expect(dockerExecArgs('lblab-x-a', [], false)).toEqual(['exec', '-i', 'lblab-x-a', ...DEFAULT_SHELL]);
  });

  it('runs the command given instead of the shell', () => {
    expect(dockerExecArgs('lblab-x-a', ['vtysh', '-c', 'show ip route'], true)).toEqual([
      'exec',
      '-it',
      'lblab-x-a',
      'vtysh',
      '-c',
      'show ip route',
    ]);
  });
});

describe('resolveLab', () => {
  it('takes --name before the file', async () => {
    expect(await resolveLab({ file: '' }, { name: 'copy-b' })).toBe('copy-b');
    expect(await resolveLab({ file: 'no-such-file.yml' }, { name: 'copy-b' })).toBe('copy-b');
  });

  it("takes an exercise's name for FILE: the student's lab, or the exercise's own without --student", async () => {
    expect(await resolveLab({ file: 'dr-arp' }, { student: 'alice' })).toBe('dr-arp-alice');
    expect(await resolveLab({ file: 'dr-arp' }, {})).toBe('dr-arp');
    await expect(resolveLab({ file: 'dr-arp' }, { student: 'Alice Smith' })).rejects.toThrow(
      /cannot name a lab/,
    );
  });

  it("reads the lab's name from the topology file", async () => {
    expect(await resolveLab({ file: 'topologies/ecmp-lvs-dr.yml' }, {})).toBe('ecmp-lvs-dr');
  });
});

describe('runningNodeContainer', () => {
  async function labWith(state: 'running' | 'exited') {
    const runtime = new FakeRuntime();
    const labels = { 'lblab.lab': 'x', 'lblab.node': 'a', 'lblab.kind': 'linux' };
    const id = await runtime.createContainer({
      name: 'lblab-x-a',
      hostname: 'a',
      image: 'lblab/node:test',
      labels,
      env: {},
      capAdd: [],
      sysctls: {},
      writableNetSysctls: true,
      interfaces: [],
      binds: [],
      cmd: ['sleep', 'infinity'],
      files: [],
    });
    if (state === 'running') await runtime.startContainer(id);
    else await runtime.stopContainer(id);
    return fakeEngine(runtime);
  }

  it("finds the node's container", async () => {
    expect(await runningNodeContainer(await labWith('running'), 'x', 'a')).toBe('lblab-x-a');
  });

  it('names the nodes there are when the node is not one of them', async () => {
    const error = await runningNodeContainer(await labWith('running'), 'x', 'b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).message).toBe('preflight: lab x has no node b');
    expect((error as LabError).hint).toBe('its nodes: a');
  });

  it('says when the node is stopped', async () => {
    await expect(runningNodeContainer(await labWith('exited'), 'x', 'a')).rejects.toThrow(
      'node a of lab x is exited, not running',
    );
  });
});

describe('runDockerCli', () => {
  it("runs the docker CLI against the node's engine and returns its exit code", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lblab-shell-'));
    dirs.push(dir);
    const record = join(dir, 'called');
    await writeFile(
      join(dir, 'docker'),
      `#!/bin/sh\nprintf '%s\\n' "$DOCKER_HOST" "$@" > '${record}'\nexit 7\n`,
    );
    await chmod(join(dir, 'docker'), 0o755);
    process.env.PATH = dir;
    const exitCode = await runDockerCli(['exec', '-i', 'lblab-x-a', 'true'], 'tcp://198.51.100.2:2375');
    expect(exitCode).toBe(7);
    expect((await readFile(record, 'utf8')).split('\n')).toEqual([
      'tcp://198.51.100.2:2375',
      'exec',
      '-i',
      'lblab-x-a',
      'true',
      '',
    ]);
  });

  it('says how to get the docker CLI when there is none', async () => {
    process.env.PATH = '/nonexistent';
    const error = await runDockerCli(['exec', '-i', 'x', 'true'], 'unix:///var/run/docker.sock').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).message).toMatch(/no `docker` on PATH/);
    expect((error as LabError).hint).toMatch(/apt-get install docker.io/);
  });
});
