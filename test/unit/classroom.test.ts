import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numberedStudents, parseRoster, recordedPoolPlacement } from '../../src/classroom/class.js';
import {
  exerciseLabName,
  listExercises,
  loadExercise,
  maxPoints,
  type Exercise,
} from '../../src/classroom/exercise.js';
import { exerciseEngine } from '../../src/cli/exercise-flags.js';
import {
  classCsv,
  gradeOf,
  gradesJunit,
  renderClassTable,
  renderGrade,
  ungraded,
  type Grade,
} from '../../src/classroom/grade.js';
import { TopologyError } from '../../src/core/issue.js';
import type { StepResult, VerifyReport } from '../../src/verify/report.js';
import { parseVerifySteps } from '../../src/verify/steps.js';

const LAB = resolve('topologies/lvs-dr.yml');

describe('roster', () => {
  it('numbers students so they sort', () => {
    expect(numberedStudents(3)).toEqual(['s01', 's02', 's03']);
    expect(numberedStudents(120).at(-1)).toBe('s120');
  });

  it('reads one ID per line, skipping comments and blank lines', () => {
    expect(parseRoster('r.txt', '# class A\nalice\n\n  bob  # late\r\ns-07\n')).toEqual([
      'alice',
      'bob',
      's-07',
    ]);
  });

  it('names every bad line with its number and a fix', () => {
    let error: unknown;
    try {
      parseRoster('r.txt', 'alice\nAlice Smith\nalice\n');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TopologyError);
    const issues = (error as TopologyError).issues;
    expect(issues.map((i) => [i.line, i.message])).toEqual([
      [2, '"Alice Smith" is not a student ID lblab can name a lab after'],
      [3, 'student alice is listed twice (first on line 1)'],
    ]);
    expect(issues[0]!.fix).toContain('alice-smith');
    expect(() => parseRoster('r.txt', '# nobody\n')).toThrow(TopologyError);
  });
});

describe('exercise files', () => {
  let dir: string;
  const write = async (name: string, text: string) => {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'exercise.yml'), text);
    return join(dir, name);
  };
  const good = (lab = LAB) => `title: A real server answers ARP
level: beginner
lab: ${lab}
task: |
  Make the director see every request.
break:
  - exec: { node: web1, cmd: "true" }
checks:
  - name: the VIP answers
    points: 1
    hint: look at the client
    wait: { node: client, http: "http://10.78.0.100:8080/", timeout: 5s }
  - name: the director sees the requests
    points: 2
    hint: which MAC does the client have for the VIP?
    neighbor: { node: client, ip: 10.78.0.100, owner: lb }
solution:
  - exec: { node: web1, cmd: "true" }
`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lblab-exercises-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads break, checks (points, hints) and solution as steps on the lab', async () => {
    const exercise = await loadExercise(await write('arp', good()));
    expect(exercise.name).toBe('arp');
    expect(exercise.labFile).toBe(LAB);
    expect(exercise.checks.map((c) => [c.name, c.points, c.hint])).toEqual([
      ['the VIP answers', 1, 'look at the client'],
      ['the director sees the requests', 2, 'which MAC does the client have for the VIP?'],
    ]);
    expect(exercise.checks[1]!.path).toEqual(['checks', 1]);
    expect(maxPoints(exercise)).toBe(3);
    expect(exerciseLabName('arp', 'alice')).toBe('arp-alice');
  });

  it('points at the line of a check without points, an unknown node and points in a break', async () => {
    const text = good()
      .replace('    points: 2\n', '')
      .replace('node: client, ip', 'node: clint, ip')
      .replace('break:\n  - exec', 'break:\n  - points: 1\n    exec');
    const error = await loadExercise(await write('bad', text)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopologyError);
    const rendered = (error as TopologyError).message;
    // The schema speaks first: a check without points is found before the semantic pass runs.
    expect(rendered).toMatch(/exercise\.yml:\d+:\d+/);
    expect(rendered).toContain('points');
    const semantic = await loadExercise(
      await write('bad2', good().replace('node: client, ip', 'node: clint, ip')),
    ).catch((e: unknown) => e as TopologyError);
    const issue = (semantic as TopologyError).issues[0]!;
    expect(issue.message).toContain('unknown node "clint"');
    expect(issue.line).toBe(
      good()
        .split('\n')
        .findIndex((l) => l.includes('neighbor:')) + 1,
    );
    const inBreak = await loadExercise(
      await write('bad3', good().replace('break:\n  - exec', 'break:\n  - points: 1\n    exec')),
    ).catch((e: unknown) => e as TopologyError);
    expect((inBreak as TopologyError).issues[0]!.message).toContain('a break or solution step is not graded');
    expect((inBreak as TopologyError).issues[0]!.line).toBe(7);
  });

  it('says which lab file is missing, and refuses a folder name that cannot name a lab', async () => {
    const missing = await loadExercise(await write('nolab', good('nowhere.yml'))).catch(
      (e: unknown) => e as TopologyError,
    );
    expect((missing as TopologyError).issues[0]!.message).toMatch(/the lab .*nowhere\.yml does not exist/);
    expect((missing as TopologyError).issues[0]!.line).toBe(3);
    const long = await loadExercise(await write('a-name-much-too-long', good())).catch(
      (e: unknown) => e as TopologyError,
    );
    expect((long as TopologyError).issues[0]!.message).toContain('cannot name a lab');
  });

  it('lists the ones that load and reports the ones that do not', async () => {
    const { exercises, broken } = await listExercises(dir);
    expect(exercises.map((e) => [e.name, e.points, e.checks])).toEqual([['arp', 3, 2]]);
    expect(broken.map((b) => b.name).sort()).toEqual([
      'a-name-much-too-long',
      'bad',
      'bad2',
      'bad3',
      'nolab',
    ]);
  });
});

describe('grades', () => {
  const checks = parseVerifySteps(
    [
      { name: 'answers', points: 1, hint: 'h1', wait: { node: 'client', http: 'http://10.0.0.1/' } },
      { name: 'both', points: 3, hint: 'h2', 'http-tally': { node: 'client', url: 'http://10.0.0.1/' } },
      {
        name: 'load',
        points: 2,
        hint: 'h3',
        'http-load': {
          node: 'client',
          url: 'http://10.0.0.1/',
          rate: '10/s',
          duration: '5s',
          during: [{ at: '1s', stop: { node: 'web1' } }],
        },
      },
    ],
    'checks',
  );
  const result = (
    index: number,
    verdict: StepResult['verdict'],
    extra: Partial<StepResult> = {},
  ): StepResult => ({
    index,
    name: `step ${index}`,
    type: 'wait',
    node: 'client',
    verdict,
    durationMs: 100,
    summary: `summary ${index}`,
    expectations: [],
    evidence: [],
    ...extra,
  });
  const report = (steps: StepResult[]): VerifyReport => ({
    lab: 'dr-arp-alice',
    topologyFile: '/x.yml',
    startedAt: '2026-12-03T10:00:00.000Z',
    durationMs: 1234,
    ok: steps.every((s) => s.verdict === 'pass'),
    counts: { steps: steps.length, passed: 0, failed: 0, errors: 0 },
    steps,
  });
  const who = { exercise: 'dr-arp', student: 'alice', lab: 'dr-arp-alice' };

  it('scores the checks that passed, a traffic check only when its during: steps passed too', () => {
    const grade = gradeOf(
      who,
      checks,
      report([
        result(0, 'pass'),
        result(1, 'fail', {
          expectations: [{ name: 'distinct', ok: false, expected: '2 distinct', seen: '1: web1 100' }],
        }),
        result(2, 'pass'),
        result(3, 'error', { error: 'no such node', parent: 2 }),
      ]),
    );
    expect(grade.score).toBe(1);
    expect(grade.max).toBe(6);
    expect(grade.passed).toBe(false);
    expect(grade.checks.map((c) => [c.verdict, c.earned, c.hint])).toEqual([
      ['pass', 1, undefined],
      ['fail', 0, 'h2'],
      ['error', 0, 'h3'],
    ]);
    expect(grade.checks[1]!.summary).toBe('distinct: expected 2 distinct, seen 1: web1 100');
    const text = renderGrade(grade);
    expect(text.split('\n')[0]).toBe('dr-arp (student alice): 1/6 points');
    expect(text).toContain('hint: h2');
    expect(text).not.toContain('hint: h1');
  });

  it('gives full marks only when every check passed; the same report grades the same', () => {
    const all = report([
      result(0, 'pass'),
      result(1, 'pass'),
      result(2, 'pass'),
      result(3, 'pass', { parent: 2 }),
    ]);
    const grade = gradeOf(who, checks, all);
    expect([grade.score, grade.passed]).toEqual([6, true]);
    expect(gradeOf(who, checks, all)).toEqual(grade);
  });

  it('a lab that is gone scores 0 with every hint and the reason', () => {
    const grade = ungraded(who, checks, 'lab dr-arp-alice is not up');
    expect([grade.score, grade.max, grade.error]).toEqual([0, 6, 'lab dr-arp-alice is not up']);
    expect(grade.checks.every((c) => c.hint !== undefined && c.verdict === 'error')).toBe(true);
  });

  const classGrades = (): Grade[] => [
    gradeOf(
      { ...who },
      checks,
      report([result(0, 'pass'), result(1, 'pass'), result(2, 'pass'), result(3, 'pass', { parent: 2 })]),
    ),
    gradeOf(
      { exercise: 'dr-arp', student: 'bob', lab: 'dr-arp-bob' },
      checks,
      report([result(0, 'pass'), result(1, 'fail'), result(2, 'fail'), result(3, 'pass', { parent: 2 })]),
    ),
    ungraded(
      { exercise: 'dr-arp', student: 'carol', lab: 'dr-arp-carol' },
      checks,
      'lab dr-arp-carol is not up, "gone"',
    ),
  ];

  it('CSV: a row per student with each check, quoted where needed', () => {
    const rows = parseCsv(classCsv(classGrades()), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.student, r.score, r.max, r.answers, r.both, r.load])).toEqual([
      ['alice', '6', '6', '1', '3', '2'],
      ['bob', '1', '6', '1', '0', '0'],
      ['carol', '0', '6', '0', '0', '0'],
    ]);
    expect(rows[2]!.error).toBe('lab dr-arp-carol is not up, "gone"');
  });

  it('JUnit: one test suite per student, a failure per failed check with its hint', () => {
    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      gradesJunit('dr-arp', classGrades()),
    ) as {
      testsuites: {
        testsuite: {
          name: string;
          failures: string;
          errors: string;
          testcase: { failure?: { '#text': string } }[];
        }[];
      };
    };
    const suites = xml.testsuites.testsuite;
    expect(suites.map((s) => [s.name, s.failures, s.errors])).toEqual([
      ['alice', '0', '0'],
      ['bob', '2', '0'],
      ['carol', '0', '3'],
    ]);
    expect(suites[1]!.testcase[1]!.failure!['#text']).toContain('hint: h2');
  });

  it('the table has a row per student and a column per check', () => {
    const lines = renderClassTable(classGrades()).split('\n');
    expect(lines[0]).toMatch(/student\s+c1\s+c2\s+c3\s+score/);
    expect(lines[1]).toMatch(/alice\s+1\s+3\s+2\s+6\/6\s+full marks/);
    expect(lines[3]).toMatch(/carol\s+-\s+-\s+-\s+0\/6\s+lab dr-arp-carol is not up/);
  });
});

describe('the engine an exercise picks', () => {
  const withDirector = (engine?: 'ipvs' | 'nftables'): Exercise =>
    ({
      lab: {
        config: {
          name: 'x',
          topology: {
            networks: {},
            nodes: { lb: { kind: 'director', networks: {}, ...(engine && { engine }) } },
          },
        },
      },
    }) as unknown as Exercise;

  it('auto: the host unless the lab demands IPVS, and says why', () => {
    expect(exerciseEngine('auto', withDirector())).toEqual({
      choice: 'docker',
      why: "auto: the exercise's lab needs no IPVS, so the host engine (a class fits there)",
    });
    expect(exerciseEngine('auto', withDirector('ipvs'))).toEqual({
      choice: 'sandbox',
      why: "auto: the exercise's lab needs IPVS",
    });
  });

  it('an engine asked for is taken as it is, with its own reason', () => {
    expect(exerciseEngine('sandbox', withDirector())).toEqual({ choice: 'sandbox' });
    expect(exerciseEngine('docker', withDirector('ipvs'))).toEqual({ choice: 'docker' });
  });
});

describe('a student lab of a class spread over a pool', () => {
  it('is found on the member the class record placed it on, and only for a class with a pool', async () => {
    const state = await mkdtemp(join(tmpdir(), 'lblab-state-'));
    const saved = process.env.LBLAB_STATE_DIR;
    process.env.LBLAB_STATE_DIR = state;
    try {
      expect(await recordedPoolPlacement('dr-arp-s01')).toBeUndefined();
      await mkdir(join(state, 'classes'));
      const record = (exercise: string, extra: object) =>
        writeFile(
          join(state, 'classes', `${exercise}.json`),
          JSON.stringify({
            exercise,
            file: `/x/${exercise}`,
            students: ['s01', 's02'],
            createdAt: '',
            ...extra,
          }),
        );
      await record('dr-arp', {
        engine: 'pool',
        pool: '/etc/lblab/pool.yml',
        placement: { s01: 'host', s02: 'lab-2' },
      });
      await record('dr-vip', { engine: 'docker' });
      await writeFile(join(state, 'classes', 'notes.txt'), 'not a record');
      expect(await recordedPoolPlacement('dr-arp-s02')).toEqual({
        pool: '/etc/lblab/pool.yml',
        member: 'lab-2',
      });
      expect(await recordedPoolPlacement('dr-arp-s01')).toEqual({
        pool: '/etc/lblab/pool.yml',
        member: 'host',
      });
      expect(await recordedPoolPlacement('dr-arp-s03')).toBeUndefined();
      expect(await recordedPoolPlacement('dr-vip-s01')).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.LBLAB_STATE_DIR;
      else process.env.LBLAB_STATE_DIR = saved;
      await rm(state, { recursive: true, force: true });
    }
  });
});
