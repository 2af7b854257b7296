import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { limitPerKey } from '../../src/classroom/class.js';
import { placeStudents } from '../../src/classroom/placement.js';
import { renderClassTable, type Grade } from '../../src/classroom/grade.js';
import { TopologyError } from '../../src/core/issue.js';
import { LabError } from '../../src/core/errors.js';
import { loadPool } from '../../src/lab/engine-pool.js';
import { dockerClientFor } from '../../src/runtime/engine.js';

const labOf = (student: string) => `dr-arp-${student}`;

describe('placing a class on a pool of engines', () => {
  it('spreads labs to the engine with the most free places, ties to the first listed', () => {
    const placement = placeStudents(['s01', 's02', 's03', 's04'], labOf, [
      { name: 'host', capacity: 2, labs: [] },
      { name: 'guest', capacity: 2, labs: [] },
    ]);
    expect(placement).toEqual({ s01: 'host', s02: 'guest', s03: 'host', s04: 'guest' });
  });

  it('counts every lab already on an engine against its capacity, and keeps a running lab where it is', () => {
    const placement = placeStudents(['s01', 's02', 's03'], labOf, [
      { name: 'host', capacity: 4, labs: ['other-lab', 'seed', 'dr-arp-s02'] },
      { name: 'rack2', capacity: 3, labs: [] },
    ]);
    // s02's lab runs on host: it stays. host then has 1 free, rack2 3: s01 and s03 go to rack2.
    expect(placement).toEqual({ s01: 'rack2', s02: 'host', s03: 'rack2' });
  });

  it('skips an engine that cannot run the exercise, and refuses a class that does not fit, before anything starts', () => {
    const engines = [
      { name: 'host', capacity: 10, labs: [], unfit: 'the exercise needs IPVS and this kernel has none' },
      { name: 'guest', capacity: 2, labs: ['x'] },
    ];
    expect(placeStudents(['s01'], labOf, engines)).toEqual({ s01: 'guest' });
    let error: unknown;
    try {
      placeStudents(['s01', 's02'], labOf, engines);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).message).toBe(
      'preflight: 2 labs to bring up, but the pool has room for 1 (host: unfit, the exercise needs IPVS and this kernel has none; guest: 1 of 2 free)',
    );
    expect((error as LabError).hint).toMatch(/raise a capacity/);
  });
});

describe('pool files', () => {
  async function poolFile(text: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'lblab-pool-'));
    const file = join(dir, 'pool.yml');
    await writeFile(file, text);
    return file;
  }

  it('loads engines in order, TLS paths relative to the file', async () => {
    const file = await poolFile(
      [
        'engines:',
        '  - { name: host, endpoint: local, capacity: 2 }',
        '  - { name: guest, endpoint: sandbox, capacity: 2 }',
        '  - name: rack2',
        '    endpoint: tcp://10.0.0.5:2376',
        '    capacity: 30',
        '    tls: { ca: certs/ca.pem, cert: certs/cert.pem, key: certs/key.pem }',
      ].join('\n'),
    );
    const pool = await loadPool(file);
    expect(pool.members.map((m) => [m.name, m.endpoint, m.capacity])).toEqual([
      ['host', 'local', 2],
      ['guest', 'sandbox', 2],
      ['rack2', 'tcp://10.0.0.5:2376', 30],
    ]);
    expect(pool.members[2]!.tls?.ca).toBe(join(file, '..', 'certs', 'ca.pem'));
  });

  it('points at the line of each mistake with a fix', async () => {
    const file = await poolFile(
      [
        'engines:',
        '  - { name: host, endpoint: local, capacity: 2 }',
        '  - { name: host, endpoint: sandbox, capacity: 2 }',
        '  - { name: again, endpoint: "unix:///var/run/docker.sock", capacity: 2 }',
        '  - { name: ssh1, endpoint: "ssh://t@rack", capacity: 2, tls: { ca: a, cert: b, key: c } }',
      ].join('\n'),
    );
    const error = await loadPool(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopologyError);
    const issues = (error as TopologyError).issues.map((i) => [i.line, i.message, i.fix]);
    expect(issues).toEqual([
      [3, 'engine name "host" is used twice (first by engine 1)', 'give every engine its own name'],
      [
        4,
        'engine again is the same engine as host (unix:///var/run/docker.sock)',
        'list each engine once and give it the capacity of both',
      ],
      [
        5,
        'tls: is for tcp:// engines; ssh1 is ssh://t@rack',
        'remove tls:, or use a tcp://host:2376 endpoint',
      ],
    ]);
  });

  it('checks the schema: an unknown endpoint and a missing capacity, located', async () => {
    const file = await poolFile(['engines:', '  - name: host', '    endpoint: http://x', ''].join('\n'));
    const error = (await loadPool(file).catch((e: unknown) => e)) as TopologyError;
    expect(error).toBeInstanceOf(TopologyError);
    const byLine = Object.fromEntries(error.issues.map((i) => [i.line, i.message]));
    expect(byLine[2]).toBe('missing required key "capacity"');
    expect(byLine[3]).toMatch(/"http:\/\/x" is not valid/);
  });
});

describe('engine endpoints', () => {
  const modem = (endpoint: string, tls?: Parameters<typeof dockerClientFor>[2]) =>
    (dockerClientFor(endpoint, undefined, tls) as unknown as { modem: Record<string, unknown> }).modem;

  it('tcp:// is plain HTTP on 2375, HTTPS with the TLS files on 2376', () => {
    expect(modem('tcp://10.0.0.5')).toMatchObject({ host: '10.0.0.5', port: 2375, protocol: 'http' });
    const tls = { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') };
    expect(modem('tcp://10.0.0.5', tls)).toMatchObject({ port: 2376, protocol: 'https', ca: tls.ca });
  });

  it('ssh:// reaches the far socket as the user given', () => {
    expect(modem('ssh://teacher@rack3:2222')).toMatchObject({
      protocol: 'ssh',
      host: 'rack3',
      port: 2222,
      username: 'teacher',
    });
  });
});

describe('the class table of a pool', () => {
  const grade = (student: string, engine?: string): Grade => ({
    exercise: 'dr-arp',
    student,
    lab: labOf(student),
    ...(engine && { engine }),
    score: 1,
    max: 1,
    passed: true,
    checks: [{ name: 'c', points: 1, earned: 1, verdict: 'pass', summary: '', durationMs: 1 }],
    startedAt: '2026-12-03T00:00:00.000Z',
    durationMs: 1,
  });

  it('has an engine column only when the class is spread', () => {
    expect(renderClassTable([grade('s01')]).split('\n')[0]).not.toMatch(/engine/);
    const lines = renderClassTable([grade('s01', 'host'), grade('s02', 'guest')]).split('\n');
    expect(lines[0]).toMatch(/^student +engine +c1/);
    expect(lines[2]).toMatch(/^s02 +guest /);
  });
});

describe('--parallel on a pool', () => {
  it('counts per engine: a slow engine full of labs does not hold back another', async () => {
    const limitOf = limitPerKey<string>(2);
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const order: string[] = [];
    const task = (engine: string, ms: number, name: string) =>
      limitOf(engine)(async () => {
        running.set(engine, (running.get(engine) ?? 0) + 1);
        most.set(engine, Math.max(most.get(engine) ?? 0, running.get(engine)!));
        await new Promise((resolve) => setTimeout(resolve, ms));
        running.set(engine, running.get(engine)! - 1);
        order.push(name);
      });
    // Three slow labs on the guest, two quick ones on the host queued after them.
    await Promise.all([
      task('guest', 60, 'g1'),
      task('guest', 60, 'g2'),
      task('guest', 60, 'g3'),
      task('host', 5, 'h1'),
      task('host', 5, 'h2'),
    ]);
    expect(Object.fromEntries(most)).toEqual({ guest: 2, host: 2 });
    // The host's labs finish while the guest's first two still run; g3 waited for a guest place.
    expect(order.slice(0, 2).sort()).toEqual(['h1', 'h2']);
    expect(order.at(-1)).toBe('g3');
  });
});
