/**
 * A classroom exercise: exercises/<name>/exercise.yml (schema/exercise.schema.json). Loading it checks
 * the file the way a topology is checked (file:line:col and a fix for every issue), opens the lab it
 * starts from, and parses break, checks and solution into verify steps against that lab's nodes.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TopologyError, type TopologyIssue } from '../core/issue.js';
import { loadTopologyFile, located } from '../topology/load.js';
import { openTopology, type OpenedTopology } from '../topology/open.js';
import { lazySchemaValidator } from '../topology/schema.js';
import { schemaIssues } from '../topology/validate.js';
import type { VerifyStep } from '../verify/step-type.js';
import { checkVerifySteps, parseVerifySteps, stepPath } from '../verify/steps.js';

export const EXERCISE_FILE = 'exercise.yml';
export const LEVELS = ['beginner', 'intermediate', 'advanced'] as const;
export type Level = (typeof LEVELS)[number];

/**
 * An exercise's name is its folder's; with a student's ID it names the lab (`dr-arp-alice`), and a
 * lab name has at most 31 characters, so 14 + '-' + 16.
 */
export const EXERCISE_NAME = /^[a-z][a-z0-9-]{0,13}$/;
export const STUDENT_ID = /^[a-z0-9][a-z0-9-]{0,15}$/;

export interface Exercise {
  name: string;
  /** The exercise file, absolute. */
  file: string;
  title: string;
  level: Level;
  task: string;
  /** The topology it starts from, absolute. */
  labFile: string;
  lab: OpenedTopology;
  breakSteps: VerifyStep[];
  checks: VerifyStep[];
  solution: VerifyStep[];
}

interface ExerciseFile {
  title: string;
  level: Level;
  lab: string;
  task: string;
  break: unknown[];
  checks: unknown[];
  solution: unknown[];
}

/** Compiled on first use: only the exercise commands pay for it. */
const exerciseValidator = lazySchemaValidator('verify.schema.json', 'exercise.schema.json');

/** The exercise in `dir` (a folder holding exercise.yml, or the file itself). */
export async function loadExercise(dir: string): Promise<Exercise> {
  const file = dir.endsWith('.yml') ? resolve(dir) : resolve(dir, EXERCISE_FILE);
  const name = basename(dirname(file));
  const loaded = await loadTopologyFile(file);
  const validate = exerciseValidator();
  if (!validate(loaded.data)) {
    const error = located(loaded, schemaIssues(validate.errors ?? []));
    if (error) throw error;
  }
  const data = loaded.data as ExerciseFile;
  if (!EXERCISE_NAME.test(name)) {
    throw new TopologyError(file, [
      {
        path: [],
        line: 1,
        col: 1,
        message: `the exercise's folder name "${name}" cannot name a lab`,
        fix: "rename the folder: lowercase letters, digits and '-', starting with a letter, at most 14 characters",
      },
    ]);
  }
  const labFile = resolve(dirname(file), data.lab);
  if (!existsSync(labFile)) {
    throw located(loaded, [
      {
        path: ['lab'],
        message: `the lab ${labFile} does not exist`,
        fix: 'the path is relative to exercise.yml, e.g. ../../topologies/lvs-dr.yml or lab.yml',
      },
    ])!;
  }
  const lab = await openTopology(labFile);
  const steps = {
    breakSteps: parseVerifySteps(data.break, 'break'),
    checks: parseVerifySteps(data.checks, 'checks'),
    solution: parseVerifySteps(data.solution, 'solution'),
  };
  const error = located(loaded, stepIssues(lab, steps));
  if (error) throw error;
  return {
    name,
    file,
    title: data.title,
    level: data.level,
    task: data.task,
    labFile,
    lab,
    ...steps,
  };
}

/** Steps must name the lab's nodes and suit their kinds; only checks carry points and hints. */
function stepIssues(
  lab: OpenedTopology,
  steps: { breakSteps: VerifyStep[]; checks: VerifyStep[]; solution: VerifyStep[] },
): TopologyIssue[] {
  const nodes = lab.config.topology.nodes;
  const kinds = new Map(Object.entries(nodes).map(([name, node]) => [name, node.kind]));
  const names = new Set(Object.keys(nodes));
  const issues: TopologyIssue[] = [];
  for (const list of [steps.breakSteps, steps.checks, steps.solution]) {
    issues.push(...checkVerifySteps(list, names, kinds, new Map(Object.entries(nodes))));
  }
  for (const step of [...steps.breakSteps, ...steps.solution]) {
    if (step.points === undefined && step.hint === undefined) continue;
    issues.push({
      path: [...stepPath(step), step.points !== undefined ? 'points' : 'hint'],
      atKey: true,
      message: 'points and hint grade a check; a break or solution step is not graded',
      fix: 'remove them, or move the step into checks:',
    });
  }
  for (const step of steps.checks.filter((s) => s.parent !== undefined && s.points !== undefined)) {
    issues.push({
      path: [...stepPath(step), 'points'],
      atKey: true,
      message: "a during: step is part of its traffic step's check, which carries the points",
      fix: 'put points and hint on the traffic step',
    });
  }
  return issues;
}

export interface ExerciseSummary {
  name: string;
  title: string;
  level: Level;
  lab: string;
  checks: number;
  points: number;
}

export function maxPoints(exercise: Pick<Exercise, 'checks'>): number {
  return exercise.checks.reduce((sum, check) => sum + (check.points ?? 0), 0);
}

/** Every exercise under `root`, by name; one that does not load is reported, not skipped. */
export async function listExercises(
  root: string,
): Promise<{ exercises: ExerciseSummary[]; broken: { name: string; error: Error }[] }> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const exercises: ExerciseSummary[] = [];
  const broken: { name: string; error: Error }[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!existsSync(join(root, entry.name, EXERCISE_FILE))) continue;
    try {
      const exercise = await loadExercise(join(root, entry.name));
      exercises.push({
        name: exercise.name,
        title: exercise.title,
        level: exercise.level,
        lab: exercise.lab.config.name,
        checks: exercise.checks.filter((c) => c.parent === undefined).length,
        points: maxPoints(exercise),
      });
    } catch (error) {
      broken.push({ name: entry.name, error: error as Error });
    }
  }
  return { exercises, broken };
}

/** lblab's own exercises, shipped beside the topologies. */
export const BUILTIN_EXERCISES = fileURLToPath(new URL('../../exercises/', import.meta.url));

/**
 * Where exercises are looked up: `--dir`, else $LBLAB_EXERCISES, else ./exercises when the current
 * folder has one (a teacher's own), else lblab's.
 */
export function exercisesRoot(dir?: string): string {
  if (dir) return resolve(dir);
  if (process.env.LBLAB_EXERCISES) return resolve(process.env.LBLAB_EXERCISES);
  if (existsSync(resolve('exercises'))) return resolve('exercises');
  return BUILTIN_EXERCISES;
}

/** NAME is an exercise under the root, or a path to an exercise folder. */
export async function findExercise(nameOrPath: string, root: string): Promise<Exercise> {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.yml')) return loadExercise(nameOrPath);
  const dir = join(root, nameOrPath);
  if (!existsSync(join(dir, EXERCISE_FILE))) {
    const { exercises } = await listExercises(root);
    const known = exercises.map((e) => e.name);
    throw new TopologyError(join(dir, EXERCISE_FILE), [
      {
        path: [],
        line: 1,
        col: 1,
        message: `no exercise "${nameOrPath}" in ${root}`,
        fix: known.length > 0 ? `one of: ${known.join(', ')} (lblab exercise list)` : 'lblab exercise list',
      },
    ]);
  }
  return loadExercise(dir);
}

/** The lab an exercise runs as: one per student, so a class shares a host without sharing a lab. */
export function exerciseLabName(exercise: string, student?: string): string {
  return student ? `${exercise}-${student}` : exercise;
}
