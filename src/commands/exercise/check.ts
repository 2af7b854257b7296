import { writeFile } from 'node:fs/promises';
import * as Flags from '@oclif/core/flags';
import { checkStudent, dirFlag, exerciseArg, openExercise, studentFlag } from '../../cli/exercise-flags.js';
import { engineFlag, LblabCommand } from '../../cli/base-command.js';
import { abortOnSignals } from '../../cli/signals.js';
import { exerciseLabName } from '../../classroom/exercise.js';
import { gradesJunit, renderGrade, type Grade } from '../../classroom/grade.js';

export default class ExerciseCheck extends LblabCommand {
  static override summary = 'Grade your lab: the score, a line per check, a hint for each that fails.';
  static override description = 'Exit code 0 only at full marks. Checking twice gives the same score.';
  static override examples = [
    '<%= config.bin %> exercise check dr-arp',
    '<%= config.bin %> exercise check dr-arp --student alice --junit alice.xml',
  ];
  static override args = { exercise: exerciseArg };
  static override flags = {
    engine: engineFlag,
    student: studentFlag,
    dir: dirFlag,
    junit: Flags.string({ description: 'also write the grade as JUnit XML to this file' }),
  };

  async run(): Promise<Grade> {
    const interrupt = abortOnSignals(() =>
      this.logToStderr('interrupted twice: leaving at once; faults injected by a check may remain'),
    );
    try {
      const { args, flags } = await this.parse(ExerciseCheck);
      const student = checkStudent(flags.student);
      const exercise = await openExercise(args.exercise, flags.dir);
      const lab = exerciseLabName(exercise.name, student);
      // Where the lab runs; a lab that runs nowhere is graded (0 points) on the first engine.
      const engine =
        (await this.engineWithLab(flags.engine, lab).catch(() => undefined)) ??
        (await this.engines(flags.engine))[0]!;
      const { checkExercise } = await import('../../classroom/session.js');
      const grade = await checkExercise(engine, exercise, {
        ...(student !== undefined && { student }),
        signal: interrupt.signal,
        onProgress: (line) => this.progress(line),
      });
      if (flags.junit) await writeFile(flags.junit, gradesJunit(exercise.name, [grade]));
      this.log(renderGrade(grade));
      if (!grade.passed) process.exitCode = 1;
      return grade;
    } finally {
      interrupt.dispose();
    }
  }
}
