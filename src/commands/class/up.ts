import { readFile } from 'node:fs/promises';
import * as Flags from '@oclif/core/flags';
import {
  dirFlag,
  exerciseArg,
  exerciseEngine,
  exerciseEngineFlag,
  openExercise,
} from '../../cli/exercise-flags.js';
import { LblabCommand } from '../../cli/base-command.js';
import { poolFlag } from '../../cli/class-engines.js';
import { ClassRows } from '../../cli/progress-rows.js';
import { abortOnSignals } from '../../cli/signals.js';
import {
  classEngineName,
  DEFAULT_CLASS_PARALLEL,
  MAX_CLASS_SIZE,
  numberedStudents,
  oneEngine,
  parseRoster,
  type ClassEngines,
  type StudentUp,
} from '../../classroom/class.js';
import { LabError } from '../../core/errors.js';

export interface ClassUpResult {
  exercise: string;
  /** The engine's name, or `pool` (each student's engine is in students[].engine). */
  engine: string;
  pool?: string;
  students: StudentUp[];
  totalMs: number;
}

export default class ClassUp extends LblabCommand {
  static override summary =
    "For teachers: every student's own lab of an exercise, side by side, broken and ready.";
  static override description =
    'Labs come up --parallel at a time (on each engine of a pool); one that fails does not stop the others (exit 1 names it). ' +
    'The roster is remembered: `class grade` and `class down` need only the exercise.';
  static override examples = [
    '<%= config.bin %> class up dr-arp --students 30',
    '<%= config.bin %> class up dr-arp --students roster.txt --parallel 4',
    '<%= config.bin %> class up dr-arp --students 60 --pool pools/lab-room.yml',
  ];
  static override args = { exercise: exerciseArg };
  static override flags = {
    engine: exerciseEngineFlag,
    pool: poolFlag,
    dir: dirFlag,
    students: Flags.string({
      description: 'how many students (s01, s02, ...) or a roster file: one student ID per line, # comments',
      required: true,
    }),
    parallel: Flags.integer({
      description: 'labs brought up at once (per engine with --pool)',
      default: DEFAULT_CLASS_PARALLEL,
      min: 1,
      max: 32,
    }),
  };

  async run(): Promise<ClassUpResult> {
    const interrupt = abortOnSignals(() =>
      this.logToStderr('interrupted twice: leaving at once; remove the labs with: lblab class down EXERCISE'),
    );
    try {
      const { args, flags } = await this.parse(ClassUp);
      const students = await rosterOf(flags.students);
      const exercise = await openExercise(args.exercise, flags.dir);
      const display = await this.openProgress(`lblab class up ${exercise.name}: ${students.length} labs`);
      const started = performance.now();
      const where: ClassEngines = flags.pool
        ? await this.poolPlacement(flags.pool, exercise, students)
        : oneEngine(
            await this.engineForUp(exerciseEngine(flags.engine, exercise), exercise.name, display),
            students,
          );
      const { classUp } = await import('../../classroom/class.js');
      // A row per student (plain: a line as each lab is ready or not, numbered); the node image once.
      const rows = new ClassRows(display, students.length);
      const results = await classUp(where, exercise, students, {
        parallel: flags.parallel,
        signal: interrupt.signal,
        onProgress: (student, line) => rows.progress(student, line),
        onStudentDone: (r) => rows.studentDone(r),
      }).catch((error: unknown) => {
        rows.fail(error);
        throw error;
      });
      display.close();
      const totalMs = Math.round(performance.now() - started);
      const failed = results.filter((r) => !r.ok);
      this.log(
        `class ${exercise.name}: ${results.length - failed.length} of ${students.length} labs up on ${whereText(results)} in ${(totalMs / 1000).toFixed(1)} s` +
          (failed.length > 0 ? `; failed: ${failed.map((r) => r.student).join(', ')}` : ''),
      );
      if (failed.length > 0) process.exitCode = 1;
      return {
        exercise: exercise.name,
        engine: classEngineName(where),
        ...(where.pool && { pool: where.pool }),
        students: results,
        totalMs,
      };
    } finally {
      interrupt.dispose();
    }
  }

  /** The pool's engines (the sandbox guest started if it is one) and where each student's lab goes. */
  private async poolPlacement(
    file: string,
    exercise: Awaited<ReturnType<typeof openExercise>>,
    students: string[],
  ): Promise<ClassEngines> {
    const { connectPool, loadPool } = await import('../../lab/engine-pool.js');
    const { placeClass } = await import('../../classroom/class.js');
    const pool = await loadPool(file);
    const engines = await connectPool(pool, { start: true, onProgress: (line) => this.progress(line) });
    const members = pool.members.map((member, i) => ({ engine: engines[i]!, capacity: member.capacity }));
    const placement = await placeClass(members, exercise, students, (line) => this.progress(line));
    for (const engine of engines) {
      const count = students.filter((s) => placement[s] === engine.name).length;
      this.progress(`engine ${engine.name}: ${count} of the ${students.length} labs (${engine.reason})`);
    }
    return { engines, placement, pool: pool.file };
  }
}

/** `docker`, or with a pool `host (2), guest (2)`. */
function whereText(results: StudentUp[]): string {
  const counts = new Map<string, number>();
  for (const r of results.filter((r) => r.ok)) counts.set(r.engine, (counts.get(r.engine) ?? 0) + 1);
  if (counts.size <= 1) return [...counts.keys()][0] ?? results[0]?.engine ?? 'no engine';
  return [...counts].map(([name, count]) => `${name} (${count})`).join(', ');
}

async function rosterOf(students: string): Promise<string[]> {
  if (/^\d+$/.test(students)) {
    const count = Number(students);
    if (count < 1 || count > MAX_CLASS_SIZE) {
      throw new LabError('preflight', `--students ${count}: a class has 1 to ${MAX_CLASS_SIZE} students`);
    }
    return numberedStudents(count);
  }
  const text = await readFile(students, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new LabError('preflight', `cannot read the roster ${students} (${error.code ?? error.message})`, {
      hint: 'give a number of students or a file with one student ID per line',
    });
  });
  return parseRoster(students, text);
}
