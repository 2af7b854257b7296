/**
 * A class spread over a pool of two engines on this machine: the host engine and the sandbox guest's
 * engine (real IPVS). Four students of dr-arp: two labs on each (capacities 2 and 2), graded across
 * both (every grade says its engine; the broken labs score below full marks), `status --all --pool`
 * sees both engines, and `class down` leaves no lab container or network on either.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClassGradeResult } from '../../src/commands/class/grade.js';
import type { ClassUpResult } from '../../src/commands/class/up.js';
import type { StatusResult } from '../../src/commands/status.js';
import { canRunSandbox } from '../../src/sandbox/index.js';
import { lblab, lblabJson } from '../support/cli.js';

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
