/**
 * One student's exercise on an engine: start (up an isolated copy of the lab, apply the break), check
 * (run the checks, grade them), solve (apply the teacher's solution), reset, stop. Everything goes
 * through the lab lifecycle, so an exercise lab is an ordinary lab: `status`, `exec`, `down` see it.
 */
import type { ProgressEvent } from '../apply/apply.js';
import { teardownLab, type TeardownResult } from '../apply/teardown.js';
import { LabError } from '../core/errors.js';
import { upLab, verifyLab, type UpResult } from '../lab/lab.js';
import { withLabLock } from '../lab/lab-lock.js';
import type { Engine } from '../runtime/engine.js';
import type { VerifyReport } from '../verify/report.js';
import type { VerifyProgressEvent } from '../verify/runner.js';
import type { VerifyStep } from '../verify/step-type.js';
import { exerciseLabName, type Exercise } from './exercise.js';
import { gradeOf, ungraded, type Grade } from './grade.js';

export interface SessionOptions {
  student?: string;
  /** Readiness polling when many labs come up at once (see UpOptions). */
  pollIntervalMs?: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface StartResult {
  exercise: string;
  student?: string;
  lab: string;
  /** `resumed`: the student's lab was already up; it is left as it is (their work kept). */
  outcome: 'started' | 'resumed';
  engine: string;
  task: string;
  upMs: number;
  breakMs: number;
}

function identity(exercise: Exercise, student: string | undefined) {
  return {
    exercise: exercise.name,
    ...(student !== undefined && { student }),
    lab: exerciseLabName(exercise.name, student),
  };
}

function studentFlag(student: string | undefined): string {
  return student ? ` --student ${student}` : '';
}

function describeUp(event: ProgressEvent): string {
  return `${event.node ? `${event.node}: ` : ''}${event.stage}: ${event.message}`;
}

function describeStep(event: VerifyProgressEvent): string | undefined {
  if (event.type !== 'step-end') return undefined;
  return `[${event.index + 1}/${event.total}] ${event.result.verdict.toUpperCase()} ${event.result.name}`;
}

/**
 * Brings up the student's own copy (isolated: copies share subnets) and breaks it. A lab that is
 * already up is the student's work in progress: it is kept, not broken again. If the break fails,
 * the lab is removed: nothing is left half-built.
 */
export async function startExercise(
  engine: Engine,
  exercise: Exercise,
  options: SessionOptions = {},
): Promise<StartResult> {
  const { lab } = identity(exercise, options.student);
  const progress = options.onProgress ?? (() => undefined);
  const started = performance.now();
  const up: UpResult = await upLab(engine, exercise.labFile, {
    labName: lab,
    isolate: true,
    ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
    ...(options.signal && { signal: options.signal }),
    onProgress: (event) => progress(describeUp(event)),
  });
  const upMs = Math.round(performance.now() - started);
  const base = {
    ...identity(exercise, options.student),
    engine: engine.name,
    task: exercise.task,
    upMs,
  };
  if (up.outcome === 'unchanged') return { ...base, outcome: 'resumed', breakMs: 0 };
  const breakStarted = performance.now();
  try {
    const report = await runSteps(engine, exercise, exercise.breakSteps, options, true);
    if (!report.ok) {
      const failed = report.steps.find((step) => step.verdict !== 'pass');
      throw new LabError(
        'exercise',
        `the break of ${exercise.name} did not apply: step "${failed?.name}" ${failed?.verdict}: ${failed?.error ?? failed?.summary}`,
        { hint: `the exercise file ${exercise.file} needs mending; the lab was removed` },
      );
    }
  } catch (error) {
    await stopExercise(engine, exercise, options).catch(() => undefined);
    throw error;
  }
  return { ...base, outcome: 'started', breakMs: Math.round(performance.now() - breakStarted) };
}

function runSteps(
  engine: Engine,
  exercise: Exercise,
  steps: VerifyStep[],
  options: SessionOptions,
  keepChanges: boolean,
): Promise<VerifyReport> {
  const { lab } = identity(exercise, options.student);
  return verifyLab(engine, exercise.labFile, {
    labName: lab,
    steps,
    keepChanges,
    upCommand: `lblab exercise start ${exercise.name}${studentFlag(options.student)}`,
    ...(options.signal && { signal: options.signal }),
    onProgress: (event) => {
      const line = describeStep(event);
      if (line) options.onProgress?.(line);
    },
  });
}

/**
 * Runs the checks against the student's lab and grades them. A lab that is not up scores 0 with
 * every hint: one student's missing lab is their grade, never an error for the class.
 */
export async function checkExercise(
  engine: Engine,
  exercise: Exercise,
  options: SessionOptions = {},
): Promise<Grade> {
  const who = identity(exercise, options.student);
  let report: VerifyReport;
  try {
    report = await runSteps(engine, exercise, exercise.checks, options, false);
  } catch (error) {
    if (error instanceof LabError && error.stage === 'preflight') {
      return ungraded(who, exercise.checks, `${error.message}; ${error.hint ?? ''}`.replace(/; $/, ''));
    }
    throw error;
  }
  return gradeOf(who, exercise.checks, report);
}

/** The teacher's solution, applied for good: how CI proves the exercise can be solved. */
export async function solveExercise(
  engine: Engine,
  exercise: Exercise,
  options: SessionOptions = {},
): Promise<VerifyReport> {
  const report = await runSteps(engine, exercise, exercise.solution, options, true);
  if (!report.ok) {
    const failed = report.steps.find((step) => step.verdict !== 'pass');
    throw new LabError(
      'exercise',
      `the solution of ${exercise.name} did not apply: step "${failed?.name}" ${failed?.verdict}: ${failed?.error ?? failed?.summary}`,
      {
        hint: `a student may have changed the lab further; \`lblab exercise reset ${exercise.name}${studentFlag(options.student)}\` starts over`,
      },
    );
  }
  return report;
}

/** Removes the student's lab (waiting for an up of it that is still running). */
export async function stopExercise(
  engine: Engine,
  exercise: Pick<Exercise, 'name'>,
  options: SessionOptions = {},
): Promise<TeardownResult> {
  const lab = exerciseLabName(exercise.name, options.student);
  return withLabLock(lab, () => teardownLab(engine.runtime, lab), options.onProgress ?? (() => undefined));
}

/** Back to the broken state the exercise starts from: the lab is rebuilt and broken again. */
export async function resetExercise(
  engine: Engine,
  exercise: Exercise,
  options: SessionOptions = {},
): Promise<StartResult> {
  await stopExercise(engine, exercise, options);
  return startExercise(engine, exercise, options);
}
