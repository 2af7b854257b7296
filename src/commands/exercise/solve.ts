import { checkStudent, dirFlag, exerciseArg, openExercise, studentFlag } from '../../cli/exercise-flags.js';
import { engineFlag, LblabCommand } from '../../cli/base-command.js';
import { abortOnSignals } from '../../cli/signals.js';
import { exerciseLabName } from '../../classroom/exercise.js';
import type { VerifyReport } from '../../verify/report.js';

export default class ExerciseSolve extends LblabCommand {
  static override summary =
    "For teachers: apply the exercise's solution to a lab (how CI proves it can be solved).";
  static override examples = [
    '<%= config.bin %> exercise solve dr-arp',
    '<%= config.bin %> exercise solve dr-arp --student alice && lblab exercise check dr-arp --student alice',
  ];
  static override args = { exercise: exerciseArg };
  static override flags = { engine: engineFlag, student: studentFlag, dir: dirFlag };

  async run(): Promise<VerifyReport> {
    const interrupt = abortOnSignals(() => this.logToStderr('interrupted twice: leaving at once'));
    try {
      const { args, flags } = await this.parse(ExerciseSolve);
      const student = checkStudent(flags.student);
      const exercise = await openExercise(args.exercise, flags.dir);
      const engine = await this.engineWithLab(flags.engine, exerciseLabName(exercise.name, student));
      const { solveExercise } = await import('../../classroom/session.js');
      const report = await solveExercise(engine, exercise, {
        ...(student !== undefined && { student }),
        signal: interrupt.signal,
        onProgress: (line) => this.progress(line),
      });
      this.log(`${exercise.name}: solution applied (${report.counts.steps} step(s)) to lab ${report.lab}`);
      return report;
    } finally {
      interrupt.dispose();
    }
  }
}
