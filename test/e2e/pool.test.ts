/**
 * A class spread over a pool of two engines on this machine: the host engine and the sandbox guest's
 * engine (real IPVS). Four students of dr-arp: two labs on each (capacities 2 and 2), graded across
 * both (every grade says its engine; the broken labs score below full marks), `status --all --pool`
 * sees both engines, and `class down` leaves no lab container or network on either. Then one lab
 * across both over Docker Swarm: the seed lab with its directors in the guest (real IPVS) and the
 * router and servers on the host, one overlay between them, OSPF by unicast; `down --pool` leaves no
 * container, network, overlay or Swarm state on either engine, and a failure on one engine (or a
 * placement that cannot be) leaves nothing on both.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClassGradeResult } from '../../src/commands/class/grade.js';
import type { ClassUpResult } from '../../src/commands/class/up.js';
import type { StatusResult } from '../../src/commands/status.js';
import { canRunSandbox } from '../../src/sandbox/index.js';
import { lblab, lblabJson, PROJECT_ROOT } from '../support/cli.js';
import type { GraphResult } from '../../src/commands/graph.js';
import type { DownResult } from '../../src/commands/down.js';
import type { UpCommandResult } from '../../src/commands/up.js';
import type { VerifyReport } from '../../src/verify/report.js';
import { labFile } from '../support/experiments.js';

const prerequisites = await canRunSandbox();
const EXERCISE = 'dr-arp';
const scratch = mkdtempSync(path.join(tmpdir(), 'lblab-pool-'));
const pool = path.join(scratch, 'pool.yml');
writeFileSync(
  pool,
  [
    'engines:',
    '  - { name: host, endpoint: local, capacity: 2 }',
    '  - { name: guest, endpoint: sandbox, capacity: 2 }',
    '',
  ].join('\n'),
);

/** The lblab.lab labels of containers and networks on one engine (`-H` for the guest's). */
async function labObjects(host?: string): Promise<string[]> {
  const on = host ? ['-H', host] : [];
  const label = ['--format', '{{.Label "lblab.lab"}}'];
  const containers = await execa('docker', [...on, 'ps', '-a', ...label]);
  const networks = await execa('docker', [...on, 'network', 'ls', ...label]);
  return `${containers.stdout}\n${networks.stdout}`
    .split('\n')
    .filter((lab) => lab.startsWith(`${EXERCISE}-`));
}

afterAll(async () => {
  await lblab(['class', 'down', EXERCISE]);
  await lblab(['engine', 'stop']);
  rmSync(scratch, { recursive: true, force: true });
}, 300_000);

describe.skipIf(!prerequisites.ok)('a class over a pool of engines (host engine + sandbox guest)', () => {
  it('places 2 labs on each engine, grades all 4 across both, and class down leaves nothing on either', async () => {
    const up = await lblabJson<ClassUpResult>(['class', 'up', EXERCISE, '--students', '4', '--pool', pool], {
      timeoutMs: 900_000,
    });
    expect(up.result.exitCode, String(up.result.stderr)).toBe(0);
    expect(up.json.engine).toBe('pool');
    expect(up.json.students.map((s) => [s.student, s.engine, s.ok])).toEqual([
      ['s01', 'host', true],
      ['s02', 'guest', true],
      ['s03', 'host', true],
      ['s04', 'guest', true],
    ]);

    // Both engines hold labs: the guest's directors are on real IPVS, the host's on nftables.
    const status = await lblabJson<StatusResult>(['status', '--all', '--pool', pool]);
    expect(status.result.exitCode, String(status.result.stderr)).toBe(0);
    const lbs = status.json.nodes.filter((n) => n.lab.startsWith(`${EXERCISE}-`) && n.node === 'lb');
    expect(lbs.map((n) => [n.lab, n.engine, n.dataPlane]).sort()).toEqual([
      [`${EXERCISE}-s01`, 'host', 'nftables'],
      [`${EXERCISE}-s02`, 'guest', 'ipvs'],
      [`${EXERCISE}-s03`, 'host', 'nftables'],
      [`${EXERCISE}-s04`, 'guest', 'ipvs'],
    ]);

    // The roster remembers the pool: grade needs only the exercise.
    const out = path.join(scratch, 'grades');
    const grade = await lblabJson<ClassGradeResult>(['class', 'grade', EXERCISE, '--out', out], {
      timeoutMs: 900_000,
    });
    expect(grade.result.exitCode, String(grade.result.stderr)).toBe(0);
    expect(grade.json.grades.map((g) => [g.student, g.engine, g.error])).toEqual([
      ['s01', 'host', undefined],
      ['s02', 'guest', undefined],
      ['s03', 'host', undefined],
      ['s04', 'guest', undefined],
    ]);
    for (const g of grade.json.grades) {
      // Broken as started: the checks ran and found the break, on either engine.
      expect(g.score, JSON.stringify(g)).toBeLessThan(g.max);
      expect(g.checks.find((c) => c.name === 'the VIP answers from the client')?.verdict).toBe('pass');
    }
    const table = await lblab(['class', 'grade', EXERCISE, '--out', out]);
    expect(String(table.stdout)).toMatch(/^student +engine +c1/m);

    const guest = await lblabJson<{ dockerHost: string }>(['engine', 'status']);
    // Each engine holds its own students' labs (the guest's host-side nodes are the sandbox's, not host's).
    expect(new Set(await labObjects(guest.json.dockerHost))).toEqual(
      new Set([`${EXERCISE}-s02`, `${EXERCISE}-s04`]),
    );
    const down = await lblab(['class', 'down', EXERCISE]);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await labObjects()).toEqual([]);
    expect(await labObjects(guest.json.dockerHost)).toEqual([]);
    const after = await lblabJson<StatusResult>(['status', '--all', '--pool', pool]);
    expect(after.json.nodes.filter((n) => n.lab.startsWith(`${EXERCISE}-`))).toEqual([]);
  }, 1_500_000);
});

/** What Swarm leaves on an engine: its state, and the networks it makes (overlays, docker_gwbridge). */
async function swarmTraces(host?: string): Promise<{ state: string; networks: string[] }> {
  const on = host ? ['-H', host] : [];
  const state = await execa('docker', [...on, 'info', '--format', '{{.Swarm.LocalNodeState}}']);
  const networks = await execa('docker', [...on, 'network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
  return {
    state: state.stdout.trim(),
    networks: networks.stdout.split('\n').filter((line) => /overlay|docker_gwbridge/.test(line)),
  };
}

async function containersOn(host: string | undefined, lab: string): Promise<string[]> {
  const on = host ? ['-H', host] : [];
  const ps = await execa('docker', [
    ...on,
    'ps',
    '-a',
    '--filter',
    `label=lblab.lab=${lab}`,
    '--format',
    '{{.Names}}',
  ]);
  return ps.stdout.split('\n').filter(Boolean).sort();
}

describe.skipIf(!prerequisites.ok)('one lab across two engines over Docker Swarm', () => {
  const seed = labFile('ecmp-lvs-dr');
  const lab = 'ecmp-lvs-dr';
  let guestHost = '';
  let before: {
    host: Awaited<ReturnType<typeof swarmTraces>>;
    guest: Awaited<ReturnType<typeof swarmTraces>>;
  };

  /** Nothing of the lab and nothing of Swarm beyond what each engine had before. */
  async function expectNothingLeft(): Promise<void> {
    expect(await containersOn(undefined, lab)).toEqual([]);
    expect(await containersOn(guestHost, lab)).toEqual([]);
    expect(await swarmTraces()).toEqual(before.host);
    expect(await swarmTraces(guestHost)).toEqual(before.guest);
  }

  it('refuses a placement the pool cannot honour, at its line, before anything is made', async () => {
    const engine = await lblab(['engine', 'start'], { timeoutMs: 600_000 });
    expect(engine.exitCode, String(engine.stderr)).toBe(0);
    guestHost = (await lblabJson<{ dockerHost: string }>(['engine', 'status'])).json.dockerHost;
    before = { host: await swarmTraces(), guest: await swarmTraces(guestHost) };
    expect(before.host.state).toBe('inactive');
    const misplaced = path.join(scratch, 'misplaced.yml');
    writeFileSync(
      misplaced,
      readFileSync(seed, 'utf8').replace(/(\n {4}lb2:\n)/, '$1      placement: rack9\n'),
    );
    const up = await lblab(['up', misplaced, '--pool', pool]);
    expect(up.exitCode).toBe(1);
    expect(String(up.stderr)).toMatch(/misplaced\.yml:\d+:\d+/);
    expect(String(up.stderr)).toContain('node lb2 is placed on "rack9", which is not an engine of the pool');
    expect(String(up.stderr)).toContain('use one of: host, guest');
    await expectNothingLeft();
  }, 900_000);

  it('runs the seed experiment with the directors on real IPVS in the guest, the rest on the host', async () => {
    const up = await lblabJson<UpCommandResult>(['up', seed, '--pool', pool, '--verify'], {
      timeoutMs: 900_000,
    });
    try {
      expect(up.result.exitCode, String(up.result.stderr).slice(-3000)).toBe(0);
      expect(up.json.verify?.ok).toBe(true);
      expect(up.json.dataPlanes).toEqual({ lb1: 'ipvs', lb2: 'ipvs' });
      expect(Object.fromEntries(up.json.plan.nodes.map((n) => [n.name, n.placement]))).toEqual({
        router: 'host',
        lb1: 'guest',
        lb2: 'guest',
        server1: 'host',
        server2: 'host',
      });
      expect(await containersOn(undefined, lab)).toEqual([
        'lblab-ecmp-lvs-dr-router',
        'lblab-ecmp-lvs-dr-server1',
        'lblab-ecmp-lvs-dr-server2',
      ]);
      // The lab's directors, and the anchor that holds the overlay on the guest (removed by down).
      const onGuest = await containersOn(guestHost, lab);
      expect(onGuest.filter((name) => !name.includes('-anchor-'))).toEqual([
        'lblab-ecmp-lvs-dr-lb1',
        'lblab-ecmp-lvs-dr-lb2',
      ]);
      expect(onGuest.filter((name) => name.includes('-lan-anchor-'))).toHaveLength(1);
      const lan = await execa('docker', [
        'network',
        'inspect',
        'lblab-ecmp-lvs-dr-lan',
        '--format',
        '{{.Driver}}',
      ]);
      expect(lan.stdout.trim()).toBe('overlay');
      // OSPF across the overlay is unicast: the router is DR, Full with both directors.
      const neighbours = await lblab([
        'exec',
        seed,
        'router',
        '--engine',
        'docker',
        '--',
        'vtysh',
        '-c',
        'show ip ospf neighbor',
      ]);
      expect(String(neighbours.stdout).match(/Full\/DROther/g)).toHaveLength(2);
      // The lab as one afterwards: verify and exec by the pool file find its nodes on either engine.
      const again = await lblabJson<VerifyReport>(['verify', seed, '--pool', pool], { timeoutMs: 600_000 });
      expect(again.result.exitCode, String(again.result.stderr).slice(-3000)).toBe(0);
      expect(again.json.ok).toBe(true);
      const ipvs = await lblab(['exec', seed, 'lb1', '--pool', pool, '--', 'ipvsadm', '-Ln']);
      expect(String(ipvs.stdout)).toMatch(/TCP\s+172\.16\.253\.100:8080/);
      // A shell in a guest director, commands piped in, and the live picture of the lab as one.
      const shell = await execa('node', [`${PROJECT_ROOT}bin/run.js`, 'shell', seed, 'lb2', '--pool', pool], {
        input: 'ipvsadm -Ln\nhostname\n',
        reject: false,
        timeout: 120_000,
      });
      expect(shell.exitCode, String(shell.stderr)).toBe(0);
      expect(shell.stdout).toMatch(/TCP\s+172\.16\.253\.100:8080/);
      expect(shell.stdout).toContain('lb2');
      const live = await lblabJson<GraphResult>(['graph', seed, '--live', '--pool', pool, '--format', 'dot']);
      expect(live.result.exitCode, String(live.result.stderr)).toBe(0);
      expect(live.json.graph.nodes.map((n) => [n.name, n.state])).toEqual(
        ['lb1', 'lb2', 'router', 'server1', 'server2'].map((name) => [name, 'running']),
      );
      expect(live.json.graph.live?.routes).toEqual([
        { router: 'router', vip: '172.16.253.100', nexthops: 2 },
      ]);
      // DR: replies leave the real servers straight for the router; the guest's IPVS sends nothing back.
      const stats = up.json.verify?.steps.filter((step) => step.type === 'show') ?? [];
      expect(stats.length).toBeGreaterThan(0);
    } finally {
      const down = await lblabJson<DownResult>(['down', seed, '--pool', pool]);
      expect(down.result.exitCode, String(down.result.stderr)).toBe(0);
      expect(down.json.swarmLeft).toEqual(['guest', 'host']);
    }
    await expectNothingLeft();
  }, 1_200_000);

  it('all or nothing across engines: a node failing in the guest leaves nothing on either engine', async () => {
    const failing = path.join(scratch, 'failing.yml');
    writeFileSync(
      failing,
      readFileSync(seed, 'utf8').replace(/(\n {4}lb2:\n)/, '$1      exec: ["exit 3"]\n'),
    );
    const up = await lblab(['up', failing, '--pool', pool], { timeoutMs: 900_000 });
    expect(up.exitCode).toBe(1);
    expect(String(up.stderr)).toMatch(/lb2.*exit 3/);
    await expectNothingLeft();
  }, 900_000);
});
