import { ExerciseCommand } from '../../cli/exercise-command.js';
import { dirFlag, exerciseArg, exerciseEngineFlag, studentFlag } from '../../cli/exercise-flags.js';
import type { StartResult } from '../../classroom/session.js';

export default class ExerciseReset extends ExerciseCommand {
  static override summary =
    'Start the exercise over: your lab is rebuilt and broken again (your changes are lost).';
  static override examples = ['<%= config.bin %> exercise reset dr-arp --student alice'];
  static override args = { exercise: exerciseArg };
  static override flags = { engine: exerciseEngineFlag, student: studentFlag, dir: dirFlag };

  async run(): Promise<StartResult> {
    const { args, flags } = await this.parse(ExerciseReset);
    return this.withStudentLab(args.exercise, flags, 'up', async (engine, exercise, options) => {
      const { resetExercise } = await import('../../classroom/session.js');
      const result = await resetExercise(engine, exercise, options);
      this.log(`lab ${result.lab} is broken again, as the exercise starts.\n\n${exercise.task.trimEnd()}`);
      return result;
    });
  }
}
