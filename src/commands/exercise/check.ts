import { writeFile } from 'node:fs/promises';
import * as Flags from '@oclif/core/flags';
import { engineFlag } from '../../cli/base-command.js';
import { ExerciseCommand } from '../../cli/exercise-command.js';
import { dirFlag, exerciseArg, studentFlag } from '../../cli/exercise-flags.js';
import { gradesJunit, renderGrade, type Grade } from '../../classroom/grade.js';

export default class ExerciseCheck extends ExerciseCommand {
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
    const { args, flags } = await this.parse(ExerciseCheck);
    return this.withStudentLab(args.exercise, flags, 'graded', async (engine, exercise, options) => {
      const { checkExercise } = await import('../../classroom/session.js');
      const grade = await checkExercise(engine, exercise, options);
      if (flags.junit) await writeFile(flags.junit, gradesJunit(exercise.name, [grade]));
      this.log(renderGrade(grade));
      if (!grade.passed) process.exitCode = 1;
      return grade;
    });
  }
}
