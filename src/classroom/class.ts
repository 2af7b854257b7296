/**
 * A whole class on one engine: every student's copy of an exercise, brought up, graded and torn down
 * side by side within a bound. The roster is remembered per exercise, so `class grade` also grades a
 * student whose lab is gone (0 points, with the reason) and `class down` finds every lab.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { TopologyError, type SourceLocation, type TopologyIssue } from '../core/issue.js';
import type { Engine } from '../runtime/engine.js';
import { lblabStateDir } from '../sandbox/sandbox-paths.js';
import { errorMessage } from '../util/text.js';
import { exerciseLabName, STUDENT_ID, type Exercise } from './exercise.js';
import type { Grade } from './grade.js';
import { checkExercise, startExercise, stopExercise, type StartResult } from './session.js';

/** How many labs come up (or are graded) at once unless told: measured best on a 2-core host. */
export const DEFAULT_CLASS_PARALLEL = 6;
export const MAX_CLASS_SIZE = 200;
/** Readiness polls while a class comes up: every probe is an exec, and thirty labs poll at once. */
const CLASS_POLL_INTERVAL_MS = 1000;

/** `--students 5` → s01 … s05 (two digits at least, so they sort). */
export function numberedStudents(count: number): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `s${String(i + 1).padStart(width, '0')}`);
}

/**
 * A roster file: one student ID per line (lowercase letters, digits, '-'); `#` starts a comment.
 * Every bad line is reported with its line number and the fix.
 */
export function parseRoster(file: string, text: string): string[] {
  const students: string[] = [];
  const issues: (TopologyIssue & SourceLocation)[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const id = raw.replace(/#.*/, '').trim();
    if (id === '') return;
    const col = raw.indexOf(id) + 1;
    if (!STUDENT_ID.test(id)) {
      issues.push({
        path: [],
        line,
        col,
        message: `"${id}" is not a student ID lblab can name a lab after`,
        fix: `use lowercase letters, digits and '-', at most 16 characters, e.g. ${suggestId(id)}`,
      });
      return;
    }
    const first = seen.get(id);
    if (first !== undefined) {
      issues.push({
        path: [],
        line,
        col,
        message: `student ${id} is listed twice (first on line ${first})`,
        fix: 'list every student once',
      });
      return;
    }
    seen.set(id, line);
    students.push(id);
  });
  if (students.length === 0 && issues.length === 0) {
    issues.push({
      path: [],
      line: 1,
      col: 1,
      message: 'the roster lists no student',
      fix: 'one ID per line',
    });
  }
  if (students.length > MAX_CLASS_SIZE) {
    issues.push({
      path: [],
      line: 1,
      col: 1,
      message: `${students.length} students; lblab runs at most ${MAX_CLASS_SIZE} labs on one host`,
      fix: 'split the class',
    });
  }
  if (issues.length > 0) throw new TopologyError(file, issues);
  return students;
}

function suggestId(id: string): string {
  const cleaned = id
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 16);
  return cleaned || 's01';
}

export interface ClassRecord {
  exercise: string;
  /** The exercise file, so `class grade` finds it again wherever it is run from. */
  file: string;
  students: string[];
  engine: string;
  createdAt: string;
}

function recordFile(exercise: string): string {
  return join(lblabStateDir(), 'classes', `${exercise}.json`);
}

export async function readClassRecord(exercise: string): Promise<ClassRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordFile(exercise), 'utf8')) as ClassRecord;
  } catch {
    return undefined;
  }
}

async function writeClassRecord(record: ClassRecord): Promise<void> {
  await mkdir(join(lblabStateDir(), 'classes'), { recursive: true });
  await writeFile(recordFile(record.exercise), `${JSON.stringify(record, null, 2)}\n`);
}

export interface StudentUp {
  student: string;
  lab: string;
  ok: boolean;
  ms: number;
  result?: StartResult;
  error?: string;
}

export interface ClassOptions {
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: (student: string, line: string) => void;
  /** class up: as each student's lab is ready or has failed. */
  onStudentDone?: (result: StudentUp) => void;
}

/**
 * Every student's lab, `parallel` at a time. The roster is recorded first, so a class that came up
 * in part can still be graded and torn down. One student's failed lab does not stop the others.
 */
export async function classUp(
  engine: Engine,
  exercise: Exercise,
  students: string[],
  options: ClassOptions = {},
): Promise<StudentUp[]> {
  const previous = await readClassRecord(exercise.name);
  const roster = [...new Set([...(previous?.students ?? []), ...students])];
  await writeClassRecord({
    exercise: exercise.name,
    file: exercise.file,
    students: roster,
    engine: engine.name,
    createdAt: previous?.createdAt ?? new Date().toISOString(),
  });
  // The node image once, before the labs race to build it.
  await engine.prepareNodeImage((line) => options.onProgress?.('class', line));
  const limit = pLimit(options.parallel ?? DEFAULT_CLASS_PARALLEL);
  return Promise.all(
    students.map((student) =>
      limit(async (): Promise<StudentUp> => {
        const result = await upStudent(student);
        options.onStudentDone?.(result);
        return result;
      }),
    ),
  );

  async function upStudent(student: string): Promise<StudentUp> {
    const lab = exerciseLabName(exercise.name, student);
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    if (options.signal?.aborted) return { student, lab, ok: false, ms: 0, error: 'interrupted' };
    try {
      const result = await startExercise(engine, exercise, {
        student,
        pollIntervalMs: CLASS_POLL_INTERVAL_MS,
        ...(options.signal && { signal: options.signal }),
        onProgress: (line) => options.onProgress?.(student, line),
      });
      return { student, lab, ok: true, ms: ms(), result };
    } catch (error) {
      return { student, lab, ok: false, ms: ms(), error: errorMessage(error) };
    }
  }
}

/** Every student's grade, in roster order; a lab that is gone scores 0 with the reason. */
export async function classGrade(
  engine: Engine,
  exercise: Exercise,
  students: string[],
  options: ClassOptions = {},
): Promise<Grade[]> {
  const limit = pLimit(options.parallel ?? DEFAULT_CLASS_PARALLEL);
  return Promise.all(
    students.map((student) =>
      limit(() =>
        checkExercise(engine, exercise, {
          student,
          ...(options.signal && { signal: options.signal }),
          onProgress: (line) => options.onProgress?.(student, line),
        }),
      ),
    ),
  );
}

/** Every student's lab removed, then the roster forgotten. */
export async function classDown(
  engine: Engine,
  exercise: Pick<Exercise, 'name'>,
  students: string[],
  options: ClassOptions = {},
): Promise<{ containers: number; networks: number; failed: { student: string; error: string }[] }> {
  const limit = pLimit(options.parallel ?? DEFAULT_CLASS_PARALLEL);
  const removed = { containers: 0, networks: 0, failed: [] as { student: string; error: string }[] };
  await Promise.all(
    students.map((student) =>
      limit(async () => {
        try {
          const result = await stopExercise(engine, exercise, { student });
          removed.containers += result.containers.length;
          removed.networks += result.networks.length;
        } catch (error) {
          removed.failed.push({ student, error: errorMessage(error) });
        }
      }),
    ),
  );
  if (removed.failed.length === 0) await rm(recordFile(exercise.name), { force: true });
  return removed;
}
