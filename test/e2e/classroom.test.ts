/**
 * Classroom exercises, for real on the host engine: every shipped exercise is started (its lab up and
 * broken), checked (a score below full, the failing checks' hints, the same score twice), solved the
 * way a student would fix it in a shell, and checked again (full marks). Then a class of five: up side
 * by side, two students solve it, one student's lab is deleted and another's broken further, the class
 * is graded (CSV, JSON and JUnit parsed) and torn down with nothing left.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { execa } from 'execa';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExerciseListResult } from '../../src/commands/exercise/list.js';
import type { Grade } from '../../src/classroom/grade.js';
import type { StartResult } from '../../src/classroom/session.js';
import type { ClassUpResult } from '../../src/commands/class/up.js';
import type { ClassGradeResult } from '../../src/commands/class/grade.js';
import { inBrowser } from '../support/browser.js';
import { lblab, lblabJson } from '../support/cli.js';

const ENGINE = ['--engine', 'docker'];
const STUDENT = 'e2e';

/** Which checks (1-based) fail while the lab is broken as the exercise starts it. */
const FAILING_WHEN_BROKEN: Record<string, number[]> = {
  'dr-arp': [1, 3, 4, 5],
  'dr-vip': [2],
  'ecmp-hash': [3],
  'nat-gateway': [2, 3, 4],
  'ospf-advertise': [3, 4],
  'ospf-timers': [2, 3],
};

async function labsNamed(prefix: string): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-a', '--format', '{{.Label "lblab.lab"}}']);
  return [...new Set(stdout.split('\n').filter((lab) => lab.startsWith(prefix)))];
}

describe('every shipped exercise can be started, graded and solved', () => {
  let names: string[] = [];

  beforeAll(async () => {
    const { result, json } = await lblabJson<ExerciseListResult>(['exercise', 'list']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    names = json.exercises.map((e) => e.name);
  });

  it('ships at least six exercises, each with its broken-state checks known here', () => {
    expect(names.length).toBeGreaterThanOrEqual(6);
    expect(names.sort()).toEqual(Object.keys(FAILING_WHEN_BROKEN).sort());
  });

  for (const name of Object.keys(FAILING_WHEN_BROKEN)) {
    it(`${name}: start → check (not full marks, hints) → solve → check (full marks)`, async () => {
      const who = ['--student', STUDENT];
      try {
        const start = await lblabJson<StartResult>(['exercise', 'start', name, ...who, ...ENGINE]);
        // With --json the error is the JSON on stdout; stderr has what went before it.
        expect(start.result.exitCode, `${String(start.result.stdout)}\n${String(start.result.stderr)}`).toBe(
          0,
        );
        expect(start.json.outcome).toBe('started');
        expect(start.json.lab).toBe(`${name}-${STUDENT}`);

        const broken = await lblabJson<Grade>(['exercise', 'check', name, ...who]);
        expect(broken.result.exitCode, JSON.stringify(broken.json, null, 1)).toBe(1);
        const failing = broken.json.checks.flatMap((check, i) => (check.verdict === 'pass' ? [] : [i + 1]));
        expect(failing, JSON.stringify(broken.json.checks, null, 1)).toEqual(FAILING_WHEN_BROKEN[name]);
        expect(broken.json.score).toBeGreaterThan(0);
        expect(broken.json.score).toBeLessThan(broken.json.max);
        for (const check of broken.json.checks.filter((c) => c.verdict !== 'pass')) {
          expect(check.hint, check.name).toBeTruthy();
        }
        // The human report shows each failing check's hint.
        const text = await lblab(['exercise', 'check', name, ...who]);
        expect(text.exitCode).toBe(1);
        expect(String(text.stdout)).toContain(
          `${name} (student ${STUDENT}): ${broken.json.score}/${broken.json.max} points`,
        );
        for (const check of broken.json.checks.filter((c) => c.verdict !== 'pass')) {
          expect(String(text.stdout)).toContain(`hint: ${check.hint}`);
        }

        const solve = await lblab(['exercise', 'solve', name, ...who]);
        expect(solve.exitCode, `${String(solve.stdout)}\n${String(solve.stderr)}`).toBe(0);

        const solved = await lblabJson<Grade>(['exercise', 'check', name, ...who]);
        expect(
          solved.json.checks.filter((c) => c.verdict !== 'pass'),
          JSON.stringify(solved.json, null, 1),
        ).toEqual([]);
        expect(solved.result.exitCode).toBe(0);
        expect(solved.json.score).toBe(solved.json.max);
      } finally {
        await lblab(['exercise', 'stop', name, ...who]);
      }
      expect(await labsNamed(`${name}-${STUDENT}`)).toEqual([]);
    }, 300_000);
  }
});

describe('a class of five on one host', () => {
  const EXERCISE = 'dr-vip';
  const STUDENTS = ['alice', 'bob', 'carol', 'dave', 'erin'];
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lblab-class-'));
    await writeFile(join(dir, 'roster.txt'), `# e2e class\n${STUDENTS.join('\n')}\n`);
  });

  afterAll(async () => {
    await lblab(['class', 'down', EXERCISE]);
    for (const lab of await labsNamed(`${EXERCISE}-`)) await lblab(['down', '--name', lab]);
    await rm(dir, { recursive: true, force: true });
  });

  it('comes up side by side, is graded per student (CSV, JSON, JUnit) and leaves nothing behind', async () => {
    const up = await lblabJson<ClassUpResult>(
      ['class', 'up', EXERCISE, '--students', join(dir, 'roster.txt'), '--parallel', '5', ...ENGINE],
      { timeoutMs: 600_000 },
    );
    expect(up.result.exitCode, String(up.result.stderr)).toBe(0);
    expect(up.json.students.map((s) => [s.student, s.ok])).toEqual(STUDENTS.map((s) => [s, true]));
    expect((await labsNamed(`${EXERCISE}-`)).sort()).toEqual(STUDENTS.map((s) => `${EXERCISE}-${s}`));

    for (const student of ['alice', 'bob']) {
      const solve = await lblab(['exercise', 'solve', EXERCISE, '--student', student]);
      expect(solve.exitCode, String(solve.stderr)).toBe(0);
    }
    // carol deletes her lab; dave's web2 dies. Neither may change anyone else's grade.
    expect((await lblab(['exercise', 'stop', EXERCISE, '--student', 'carol'])).exitCode).toBe(0);
    await execa('docker', ['stop', '-t', '1', `lblab-${EXERCISE}-dave-web2`]);

    const out = join(dir, 'grades');
    const page = join(out, 'class.html');
    const graded = await lblabJson<ClassGradeResult>(
      ['class', 'grade', EXERCISE, '--out', out, '--html', page],
      {
        timeoutMs: 300_000,
      },
    );
    expect(graded.result.exitCode, String(graded.result.stderr)).toBe(0);
    const byStudent = new Map(graded.json.grades.map((g) => [g.student, g]));
    expect([...byStudent.keys()]).toEqual(STUDENTS);
    const max = byStudent.get('alice')!.max;
    expect(byStudent.get('alice')!.score).toBe(max);
    expect(byStudent.get('bob')!.score).toBe(max);
    expect(byStudent.get('carol')!.score).toBe(0);
    expect(byStudent.get('carol')!.error).toMatch(/not up/);
    const erin = byStudent.get('erin')!;
    expect(erin.score).toBeGreaterThan(0);
    expect(erin.score).toBeLessThan(max);
    expect(byStudent.get('dave')!.score).toBeLessThanOrEqual(erin.score);

    // The files, parsed as a gradebook and a CI server would.
    const csv = parseCsv(await readFile(join(out, 'grades.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(csv.map((row) => [row.student, Number(row.score)])).toEqual(
      STUDENTS.map((s) => [s, byStudent.get(s)!.score]),
    );
    const json = JSON.parse(await readFile(join(out, 'grades.json'), 'utf8')) as { grades: Grade[] };
    expect(json.grades.map((g) => g.score)).toEqual(graded.json.grades.map((g) => g.score));
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      await readFile(join(out, 'grades.xml'), 'utf8'),
    ) as { testsuites: { testsuite: { name: string; tests: string; failures: string; errors: string }[] } };
    expect(junit.testsuites.testsuite.map((s) => s.name)).toEqual(STUDENTS);
    expect(junit.testsuites.testsuite[0]!.failures).toBe('0');
    expect(Number(junit.testsuites.testsuite[4]!.failures)).toBeGreaterThan(0);

    // The class view in a browser: a row per student, a cell per check with the points earned.
    const view = await inBrowser(page, 'class-grades.png', (p) =>
      p.$$eval('tr.student', (rows) =>
        rows.map((row) => [
          row.getAttribute('data-student'),
          Number(row.getAttribute('data-score')),
          [...row.querySelectorAll('td[data-check]')].map((cell) => Number(cell.textContent)),
        ]),
      ),
    );
    expect(view.fetched).toEqual([]);
    expect(view.result).toEqual(
      STUDENTS.map((s) => [s, byStudent.get(s)!.score, byStudent.get(s)!.checks.map((c) => c.earned)]),
    );

    // Deterministic: grading again gives every student the same score.
    const again = await lblabJson<ClassGradeResult>(
      ['class', 'grade', EXERCISE, '--out', join(dir, 'again')],
      {
        timeoutMs: 300_000,
      },
    );
    expect(again.json.grades.map((g) => [g.student, g.score])).toEqual(
      graded.json.grades.map((g) => [g.student, g.score]),
    );

    const down = await lblab(['class', 'down', EXERCISE]);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await labsNamed(`${EXERCISE}-`)).toEqual([]);
    const { stdout: networks } = await execa('docker', [
      'network',
      'ls',
      '--format',
      '{{.Label "lblab.lab"}}',
    ]);
    expect(networks.split('\n').filter((lab) => lab.startsWith(`${EXERCISE}-`))).toEqual([]);
    expect(
      existsSync(join(process.env.LBLAB_STATE_DIR ?? '/var/lib/lblab', 'classes', `${EXERCISE}.json`)),
    ).toBe(false);
  }, 900_000);
});
