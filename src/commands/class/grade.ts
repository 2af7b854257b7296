import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as Flags from '@oclif/core/flags';
import { dirFlag, exerciseArg, openExercise } from '../../cli/exercise-flags.js';
import { engineFlag, LblabCommand } from '../../cli/base-command.js';
import { recordedClassEngines } from '../../cli/class-engines.js';
import { abortOnSignals } from '../../cli/signals.js';
import { DEFAULT_CLASS_PARALLEL, readClassRecord } from '../../classroom/class.js';
import {
  classCsv,
  gradesJunit,
  renderClassHtml,
  renderClassTable,
  type Grade,
} from '../../classroom/grade.js';
import { LabError } from '../../core/errors.js';

export interface ClassGradeResult {
  exercise: string;
  grades: Grade[];
  files: { csv: string; json: string; junit: string; html?: string };
  durationMs: number;
}

export default class ClassGrade extends LblabCommand {
  static override summary =
    "For teachers: grade every student's lab; a table on screen, CSV, JSON and JUnit files.";
  static override description =
    "A student whose lab is gone scores 0 with the reason; no student's lab affects another's grade.";
  static override examples = [
    '<%= config.bin %> class grade dr-arp',
    '<%= config.bin %> class grade dr-arp --out grades/monday --json',
    '<%= config.bin %> class grade dr-arp --html grades/dr-arp.html',
  ];
  static override args = { exercise: exerciseArg };
  static override flags = {
    engine: engineFlag,
    dir: dirFlag,
    out: Flags.string({
      description: 'folder for grades.csv, grades.json, grades.xml (default grades/EXERCISE)',
    }),
    html: Flags.string({
      description: 'also write the class view as one HTML page: a row per student, a column per check',
    }),
    parallel: Flags.integer({
      description: 'labs graded at once',
      default: DEFAULT_CLASS_PARALLEL,
      min: 1,
      max: 32,
    }),
  };

  async run(): Promise<ClassGradeResult> {
    const interrupt = abortOnSignals(() =>
      this.logToStderr('interrupted twice: leaving at once; faults injected by a check may remain'),
    );
    try {
      const { args, flags } = await this.parse(ClassGrade);
      const exercise = await openExercise(args.exercise, flags.dir);
      const record = await readClassRecord(exercise.name);
      if (!record) {
        throw new LabError('preflight', `no class is up for ${exercise.name}`, {
          hint: `lblab class up ${exercise.name} --students N`,
        });
      }
      const where = await recordedClassEngines(
        record,
        async () => {
          const engine = (await this.engines(flags.engine)).find((e) => e.name === record.engine);
          if (engine) return [engine];
          throw new LabError(
            'engine',
            `the class runs on the ${record.engine} engine, which is not running`,
            {
              hint: `start it (lblab engine start) or pick it with --engine ${record.engine}`,
            },
          );
        },
        (line) => this.logToStderr(line),
      );
      const { classGrade } = await import('../../classroom/class.js');
      const started = performance.now();
      const grades = await classGrade(where, exercise, record.students, {
        parallel: flags.parallel,
        signal: interrupt.signal,
      });
      const durationMs = Math.round(performance.now() - started);
      const out = flags.out ?? join('grades', exercise.name);
      await mkdir(out, { recursive: true });
      const files: ClassGradeResult['files'] = {
        csv: join(out, 'grades.csv'),
        json: join(out, 'grades.json'),
        junit: join(out, 'grades.xml'),
        ...(flags.html ? { html: flags.html } : {}),
      };
      await writeFile(files.csv, classCsv(grades));
      await writeFile(files.json, `${JSON.stringify({ exercise: exercise.name, grades }, null, 2)}\n`);
      await writeFile(files.junit, gradesJunit(exercise.name, grades));
      if (files.html) await writeFile(files.html, renderClassHtml(exercise.name, grades));
      const full = grades.filter((g) => g.passed).length;
      this.log(renderClassTable(grades));
      this.log(
        `\n${exercise.name}: ${grades.length} students graded in ${(durationMs / 1000).toFixed(1)} s, ${full} at full marks; ` +
          `wrote ${Object.values(files).join(', ')}`,
      );
      return { exercise: exercise.name, grades, files, durationMs };
    } finally {
      interrupt.dispose();
    }
  }
}
