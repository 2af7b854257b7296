/**
 * A whole class on one engine or spread over a pool of engines: every student's copy of an exercise,
 * brought up, graded and torn down side by side within a bound. The roster (and with a pool, which
 * engine holds each student's lab) is remembered per exercise, so `class grade` also grades a student
 * whose lab is gone (0 points, with the reason) and `class down` finds every lab.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { TopologyError, type SourceLocation, type TopologyIssue } from '../core/issue.js';
import { labsOn } from '../lab/engine-pool.js';
import { directorsWantingIpvs, probeIpvsOnce } from '../lab/lab.js';
import type { Engine } from '../runtime/engine.js';
import { lblabStateDir } from '../sandbox/sandbox-paths.js';
import { errorMessage } from '../util/text.js';
import { exerciseLabName, STUDENT_ID, type Exercise } from './exercise.js';
import { ungraded, type Grade } from './grade.js';
import { placeStudents, type PlacementEngine } from './placement.js';
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
  /** The engine's name, or `pool` when the class is spread over the engines of `pool`. */
  engine: string;
  /** The pool file, absolute. */
  pool?: string;
  /** With a pool: the engine (by its name in the pool file) each student's lab is on. */
  placement?: Record<string, string>;
  createdAt: string;
}

/** Where a class's labs are: its engines and, per student, the name of the one holding their lab. */
export interface ClassEngines {
  engines: Engine[];
  placement: Record<string, string>;
  /** The pool file, when the engines are a pool's. */
  pool?: string;
}

/** What a class record and `class up --json` say it runs on: the engine's name, or `pool`. */
export function classEngineName(where: ClassEngines): string {
  return where.pool ? 'pool' : where.engines[0]!.name;
}

/** Every student on one engine. */
export function oneEngine(engine: Engine, students: string[]): ClassEngines {
  return { engines: [engine], placement: Object.fromEntries(students.map((s) => [s, engine.name])) };
}

/**
 * Where each student's lab goes on a pool's engines (placement.ts), from the labs on each now and
 * whether it can run the exercise: a lab that cannot do without IPVS needs an engine whose kernel
 * has it (the sandbox guest's has).
 */
export async function placeClass(
  members: { engine: Engine; capacity: number }[],
  exercise: Exercise,
  students: string[],
  onProgress: (line: string) => void = () => {},
): Promise<Record<string, string>> {
  const needsIpvs = directorsWantingIpvs(exercise.lab.config).demanded.length > 0;
  const candidates: PlacementEngine[] = [];
  for (const { engine, capacity } of members) {
    let unfit: string | undefined;
    if (needsIpvs && engine.kind !== 'sandbox') {
      const image = await engine.prepareNodeImage((line) => onProgress(`${engine.name}: ${line}`));
      // The same probe the labs' up asks next: it runs once per engine in this process.
      const facts = await probeIpvsOnce(engine.runtime, image.ref, exercise.name, engine.kernelFacts);
      if (!facts.ipvs)
        unfit = `the exercise needs IPVS and this kernel has none (${facts.ipvsReason ?? 'unknown'})`;
    }
    candidates.push({ name: engine.name, capacity, labs: await labsOn(engine), ...(unfit && { unfit }) });
  }
  return placeStudents(students, (student) => exerciseLabName(exercise.name, student), candidates);
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

/**
 * The pool member a recorded class placed lab `lab` on: where a student's command (shell, exercise
 * check) finds a lab that runs on an engine of the pool other than the local ones.
 */
export async function recordedPoolPlacement(
  lab: string,
): Promise<{ pool: string; member: string } | undefined> {
  const files = await readdir(join(lblabStateDir(), 'classes')).catch(() => [] as string[]);
  for (const file of files.filter((name) => name.endsWith('.json')).sort()) {
    const record = await readClassRecord(file.slice(0, -'.json'.length));
    if (!record?.pool) continue;
    for (const [student, member] of Object.entries(record.placement ?? {})) {
      if (exerciseLabName(record.exercise, student) === lab) return { pool: record.pool, member };
    }
  }
  return undefined;
}

async function writeClassRecord(record: ClassRecord): Promise<void> {
  await mkdir(join(lblabStateDir(), 'classes'), { recursive: true });
  await writeFile(recordFile(record.exercise), `${JSON.stringify(record, null, 2)}\n`);
}

export interface StudentUp {
  student: string;
  lab: string;
  /** The engine (its name) the lab is on. */
  engine: string;
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
  where: ClassEngines,
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
    engine: classEngineName(where),
    ...(where.pool && { pool: where.pool, placement: { ...previous?.placement, ...where.placement } }),
    createdAt: previous?.createdAt ?? new Date().toISOString(),
  });
  const engineOf = engineLookup(where);
  // The node image once per engine that gets a lab, before the labs race to build it.
  const used = where.engines.filter((engine) => students.some((s) => engineOf(s) === engine));
  await Promise.all(
    used.map((engine) =>
      engine.prepareNodeImage((line) =>
        options.onProgress?.('class', used.length > 1 ? `${engine.name}: ${line}` : line),
      ),
    ),
  );
  // --parallel per engine: a pool's engines each have their own CPUs, and a slow one (the sandbox
  // guest) must not hold back the labs of a fast one.
  const limitOf = limitPerKey<Engine | undefined>(options.parallel ?? DEFAULT_CLASS_PARALLEL);
  return Promise.all(
    students.map((student) =>
      limitOf(engineOf(student))(async (): Promise<StudentUp> => {
        const result = await upStudent(student);
        options.onStudentDone?.(result);
        return result;
      }),
    ),
  );

  async function upStudent(student: string): Promise<StudentUp> {
    const lab = exerciseLabName(exercise.name, student);
    const engine = engineOf(student);
    const name = engine?.name ?? where.placement[student] ?? '?';
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    if (options.signal?.aborted)
      return { student, lab, engine: name, ok: false, ms: 0, error: 'interrupted' };
    if (!engine) return { student, lab, engine: name, ok: false, ms: 0, error: `no engine ${name} here` };
    try {
      const result = await startExercise(engine, exercise, {
        student,
        pollIntervalMs: CLASS_POLL_INTERVAL_MS,
        ...(options.signal && { signal: options.signal }),
        onProgress: (line) => options.onProgress?.(student, line),
      });
      return { student, lab, engine: name, ok: true, ms: ms(), result };
    } catch (error) {
      return { student, lab, engine: name, ok: false, ms: ms(), error: errorMessage(error) };
    }
  }
}

/** `parallel` tasks at a time for each key (an engine), independently of the other keys. */
export function limitPerKey<K>(parallel: number): (key: K) => ReturnType<typeof pLimit> {
  const limits = new Map<K, ReturnType<typeof pLimit>>();
  return (key) => {
    let limit = limits.get(key);
    if (!limit) limits.set(key, (limit = pLimit(parallel)));
    return limit;
  };
}

/** The engine holding a student's lab; undefined when it is not among those reached. */
function engineLookup(where: ClassEngines): (student: string) => Engine | undefined {
  const byName = new Map(where.engines.map((engine) => [engine.name, engine]));
  return (student) => {
    const name = where.placement[student];
    return name === undefined ? where.engines[0] : byName.get(name);
  };
}

/** Every student's grade, in roster order; a lab that is gone scores 0 with the reason. */
export async function classGrade(
  where: ClassEngines,
  exercise: Exercise,
  students: string[],
  options: ClassOptions = {},
): Promise<Grade[]> {
  const limit = pLimit(options.parallel ?? DEFAULT_CLASS_PARALLEL);
  const engineOf = engineLookup(where);
  return Promise.all(
    students.map((student) =>
      limit(async () => {
        const engine = engineOf(student);
        if (!engine) {
          const lab = exerciseLabName(exercise.name, student);
          const missing = `engine ${where.placement[student]} of the pool, which holds lab ${lab}, cannot be reached`;
          return {
            ...ungraded({ exercise: exercise.name, student, lab }, exercise.checks, missing),
            engine: where.placement[student],
          };
        }
        const grade = await checkExercise(engine, exercise, {
          student,
          ...(options.signal && { signal: options.signal }),
          onProgress: (line) => options.onProgress?.(student, line),
        });
        return where.pool ? { ...grade, engine: engine.name } : grade;
      }),
    ),
  );
}

/** Every student's lab removed, then the roster forgotten. */
export async function classDown(
  where: ClassEngines,
  exercise: Pick<Exercise, 'name'>,
  students: string[],
  options: ClassOptions = {},
): Promise<{ containers: number; networks: number; failed: { student: string; error: string }[] }> {
  const limit = pLimit(options.parallel ?? DEFAULT_CLASS_PARALLEL);
  const removed = { containers: 0, networks: 0, failed: [] as { student: string; error: string }[] };
  // Without a placement (one engine) every engine given is asked: down must find a lab wherever it is.
  const engineOf = engineLookup(where);
  await Promise.all(
    students.map((student) =>
      limit(async () => {
        const engines = where.placement[student] === undefined ? where.engines : [engineOf(student)];
        try {
          for (const engine of engines) {
            if (!engine) throw new Error(`engine ${where.placement[student]} of the pool cannot be reached`);
            const result = await stopExercise(engine, exercise, { student });
            removed.containers += result.containers.length;
            removed.networks += result.networks.length;
          }
        } catch (error) {
          removed.failed.push({ student, error: errorMessage(error) });
        }
      }),
    ),
  );
  if (removed.failed.length === 0) await rm(recordFile(exercise.name), { force: true });
  return removed;
}
