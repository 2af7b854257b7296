import { engineFlag } from '../../cli/base-command.js';
import { ExerciseCommand } from '../../cli/exercise-command.js';
import { dirFlag, exerciseArg, studentFlag } from '../../cli/exercise-flags.js';
import type { VerifyReport } from '../../verify/report.js';

export default class ExerciseSolve extends ExerciseCommand {
  static override summary =
    "For teachers: apply the exercise's solution to a lab (how CI proves it can be solved).";
  static override examples = [
    '<%= config.bin %> exercise solve dr-arp',
    '<%= config.bin %> exercise solve dr-arp --student alice && lblab exercise check dr-arp --student alice',
  ];
  static override args = { exercise: exerciseArg };
  static override flags = { engine: engineFlag, student: studentFlag, dir: dirFlag };

  async run(): Promise<VerifyReport> {
    const { args, flags } = await this.parse(ExerciseSolve);
    return this.withStudentLab(args.exercise, flags, 'running', async (engine, exercise, options) => {
      const { solveExercise } = await import('../../classroom/session.js');
      const report = await solveExercise(engine, exercise, options);
      this.log(`${exercise.name}: solution applied (${report.counts.steps} step(s)) to lab ${report.lab}`);
      return report;
    });
  }
}
