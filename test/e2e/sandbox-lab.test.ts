/**
 * The article's lab on real IPVS, the way a user gets it on a kernel without IPVS: `--engine auto`
 * picks the sandbox (a UML guest whose kernel has ip_vs), keepalived and plain ipvsadm directors both
 * pass the experiment, and `down` + `engine stop` leave no container, UML process or tap behind.
 */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunSandbox, findSandboxProcesses, sandboxPaths } from '../../src/sandbox/index.js';
import { processIsLive } from '../../src/sandbox/process-watch.js';
import type { VerifyReport } from '../../src/verify/report.js';
import { dockerObjectsLabelled, lblab, lblabJson, PROJECT_ROOT, SEED_TOPOLOGY } from '../support/cli.js';

const IPVSADM_TOPOLOGY = `${PROJECT_ROOT}topologies/ecmp-lvs-dr-ipvsadm.yml`;
const paths = sandboxPaths();
const prerequisites = await canRunSandbox();
const hostHasIpvs = (await execa('sh', ['-c', 'test -e /proc/net/ip_vs'], { reject: false })).exitCode === 0;

interface UpJson {
  engine: string;
  dataPlanes: Record<string, string>;
  verify: VerifyReport;
}

/** The seed lab's containers on the host engine, by name. */
async function hostContainers(): Promise<string[]> {
  const ps = await execa('docker', [
    'ps',
    '-a',
    '--filter',
    'label=lblab.lab=ecmp-lvs-dr',
    '--format',
    '{{.Names}}',
  ]);
  return ps.stdout.split('\n').filter(Boolean).sort();
}

async function directorStats(topology: string, node: string): Promise<string> {
  const result = await lblab([
    'exec',
    topology,
    node,
    '--engine',
    'sandbox',
    '--',
    'ipvsadm',
    '-Ln',
    '--stats',
  ]);
  expect(result.exitCode).toBe(0);
  return String(result.stdout);
}

describe.skipIf(!prerequisites.ok)('the seed lab on real IPVS in the sandbox engine', () => {
  // Only the sandbox's labs are touched (a failing down just means the sandbox is not running).
  beforeAll(async () => {
    await lblab(['down', '--all', '--engine', 'sandbox']);
  }, 300_000);

  afterAll(async () => {
    await lblab(['down', '--all', '--engine', 'sandbox']);
    await lblab(['engine', 'stop']);
  }, 300_000);

  // Runs first: the next test's `up` is then the "next up works" half of this one.
  it(
    'a guest that dies mid-up ends up with a clear error and leaves no tap, pid file, endpoint or node',
    async () => {
      const up = execa('node', [`${PROJECT_ROOT}bin/run.js`, 'up', SEED_TOPOLOGY, '--engine', 'sandbox'], {
        cwd: PROJECT_ROOT,
        reject: false,
        timeout: 15 * 60_000,
      });
      // Kill the guest once a director is being created in it: the middle of `up`, not its start.
      let killed: number | undefined;
      up.stderr?.on('data', (chunk: Buffer) => {
        if (killed === undefined && /^lb1: create:/m.test(chunk.toString())) {
          killed = Number(readFileSync(paths.pidFile, 'utf8').trim());
          process.kill(killed, 'SIGKILL');
        }
      });
      const result = await up;
      expect(killed, String(result.stderr).slice(-2000)).toBeGreaterThan(0);
      expect(result.exitCode).toBe(1);
      expect(String(result.stderr)).toContain(
        `the sandbox guest stopped while lab ecmp-lvs-dr was being built (its UML process pid ${killed} is gone)`,
      );
      expect(String(result.stderr)).toContain('Try this: run `lblab up');

      expect(processIsLive(killed!)).toBe(false);
      expect(await findSandboxProcesses(paths.rootDir)).toEqual([]);
      for (const tap of ['lblab-sandbox', 'lblab-sandbox1', 'lblab-sandbox8']) {
        const link = await execa('ip', ['link', 'show', tap], { reject: false });
        expect(link.exitCode, tap).not.toBe(0);
      }
      await expect(access(paths.pidFile)).rejects.toThrow();
      await expect(access(paths.endpointFile)).rejects.toThrow();
      const left = await dockerObjectsLabelled('lblab.lab=ecmp-lvs-dr');
      expect(left.containers).toEqual([]);
      expect(left.networks).toEqual([]);
      const { json: status } = await lblabJson<{ running: boolean }>(['engine', 'status']);
      expect(status.running).toBe(false);
    },
    20 * 60_000,
  );

  it.skipIf(hostHasIpvs)(
    'auto picks the sandbox (and starts a new guest after the one that died); keepalived directors pass the experiment on IPVS',
    async () => {
      const { result, json } = await lblabJson<UpJson>(['up', SEED_TOPOLOGY, '--verify'], {
        timeoutMs: 20 * 60_000,
      });
      expect(result.exitCode, String(result.stderr).slice(-3000)).toBe(0);
      expect(json.engine).toBe('sandbox');
      expect(json.dataPlanes).toEqual({ lb1: 'ipvs', lb2: 'ipvs' });
      expect(json.verify.ok).toBe(true);

      // Split: the directors run in the guest, everything else on the host engine, one L2 segment.
      expect(await hostContainers()).toEqual([
        'lblab-ecmp-lvs-dr-router',
        'lblab-ecmp-lvs-dr-server1',
        'lblab-ecmp-lvs-dr-server2',
      ]);
      const guest = await lblabJson<{ dockerHost: string }>(['engine', 'status']);
      const inGuest = await execa('docker', ['-H', guest.json.dockerHost, 'ps', '--format', '{{.Names}}']);
      expect(inGuest.stdout.split('\n').sort()).toEqual(['lblab-ecmp-lvs-dr-lb1', 'lblab-ecmp-lvs-dr-lb2']);

      // The virtual service, its real server, and counters that moved during the experiment.
      const stats = await directorStats(SEED_TOPOLOGY, 'lb1');
      expect(stats).toMatch(/TCP\s+172\.16\.253\.100:8080\s+[1-9]\d*/);
      expect(stats).toMatch(/->\s+172\.16\.253\.130:8080\s+[1-9]\d*/);
      const keepalived = await lblab([
        'exec',
        SEED_TOPOLOGY,
        'lb1',
        '--engine',
        'sandbox',
        '--',
        'pgrep',
        '-x',
        'keepalived',
      ]);
      expect(keepalived.exitCode).toBe(0);
      expect((await lblab(['down', SEED_TOPOLOGY, '--engine', 'sandbox'])).exitCode).toBe(0);
    },
    20 * 60_000,
  );

  it(
    'ipvsadm directors (engine: ipvs) pass the experiment on the sandbox',
    async () => {
      const { result, json } = await lblabJson<UpJson>(
        ['up', IPVSADM_TOPOLOGY, '--verify', '--engine', 'sandbox'],
        {
          timeoutMs: 20 * 60_000,
        },
      );
      expect(result.exitCode, String(result.stderr).slice(-3000)).toBe(0);
      expect(json.dataPlanes).toEqual({ lb1: 'ipvs', lb2: 'ipvs' });
      expect(json.verify.ok).toBe(true);
      const stats = await directorStats(IPVSADM_TOPOLOGY, 'lb2');
      expect(stats).toMatch(/->\s+172\.16\.253\.134:8080\s+[1-9]\d*/);
    },
    20 * 60_000,
  );

  it('down and engine stop leave no container, UML process, tap or running state behind', async () => {
    expect((await lblab(['down', '--all', '--engine', 'sandbox'])).exitCode).toBe(0);
    const { json: status } = await lblabJson<{ dockerHost?: string; pid?: number }>(['engine', 'status']);
    const pid = status.pid;
    const stop = await lblab(['engine', 'stop']);
    expect(stop.exitCode, String(stop.stderr)).toBe(0);

    expect(await findSandboxProcesses(paths.rootDir)).toEqual([]);
    if (pid) expect(processIsLive(pid)).toBe(false);
    for (const tap of ['lblab-sandbox', 'lblab-sandbox1', 'lblab-sandbox8']) {
      const link = await execa('ip', ['link', 'show', tap], { reject: false });
      expect(link.exitCode, tap).not.toBe(0);
    }
    expect(await hostContainers()).toEqual([]);
    await expect(access(paths.pidFile)).rejects.toThrow();
    await expect(access(paths.endpointFile)).rejects.toThrow();
    const { json: after } = await lblabJson<{ running: boolean }>(['engine', 'status']);
    expect(after.running).toBe(false);
  }, 300_000);
});
