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
import { ClassRows } from '../../cli/progress-rows.js';
import { abortOnSignals } from '../../cli/signals.js';
import {
  DEFAULT_CLASS_PARALLEL,
  MAX_CLASS_SIZE,
  numberedStudents,
  parseRoster,
  type StudentUp,
} from '../../classroom/class.js';
import { LabError } from '../../core/errors.js';

export interface ClassUpResult {
  exercise: string;
  engine: string;
  students: StudentUp[];
  totalMs: number;
}

export default class ClassUp extends LblabCommand {
  static override summary =
    "For teachers: every student's own lab of an exercise, side by side, broken and ready.";
  static override description =
    'Labs come up --parallel at a time; one that fails does not stop the others (exit 1 names it). ' +
    'The roster is remembered: `class grade` and `class down` need only the exercise.';
  static override examples = [
    '<%= config.bin %> class up dr-arp --students 30',
    '<%= config.bin %> class up dr-arp --students roster.txt --parallel 4',
  ];
  static override args = { exercise: exerciseArg };
  static override flags = {
    engine: exerciseEngineFlag,
    dir: dirFlag,
    students: Flags.string({
      description: 'how many students (s01, s02, ...) or a roster file: one student ID per line, # comments',
      required: true,
    }),
    parallel: Flags.integer({
      description: 'labs brought up at once',
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
      const engine = await this.engineForUp(exerciseEngine(flags.engine, exercise), exercise.name, display);
      const { classUp } = await import('../../classroom/class.js');
      const started = performance.now();
      // A row per student (plain: a line as each lab is ready or not, numbered); the node image once.
      const rows = new ClassRows(display, students.length);
      const results = await classUp(engine, exercise, students, {
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
        `class ${exercise.name}: ${results.length - failed.length} of ${students.length} labs up on ${engine.name} in ${(totalMs / 1000).toFixed(1)} s` +
          (failed.length > 0 ? `; failed: ${failed.map((r) => r.student).join(', ')}` : ''),
      );
      if (failed.length > 0) process.exitCode = 1;
      return { exercise: exercise.name, engine: engine.name, students: results, totalMs };
    } finally {
      interrupt.dispose();
    }
  }
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
