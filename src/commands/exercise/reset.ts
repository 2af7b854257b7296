import {
  checkStudent,
  dirFlag,
  exerciseArg,
  exerciseEngine,
  exerciseEngineFlag,
  openExercise,
  studentFlag,
} from '../../cli/exercise-flags.js';
import { LblabCommand } from '../../cli/base-command.js';
import { abortOnSignals } from '../../cli/signals.js';
import { exerciseLabName } from '../../classroom/exercise.js';
import type { StartResult } from '../../classroom/session.js';

export default class ExerciseReset extends LblabCommand {
  static override summary =
    'Start the exercise over: your lab is rebuilt and broken again (your changes are lost).';
  static override examples = ['<%= config.bin %> exercise reset dr-arp --student alice'];
  static override args = { exercise: exerciseArg };
  static override flags = { engine: exerciseEngineFlag, student: studentFlag, dir: dirFlag };

  async run(): Promise<StartResult> {
    const interrupt = abortOnSignals(() => this.logToStderr('interrupted twice: leaving at once'));
    try {
      const { args, flags } = await this.parse(ExerciseReset);
      const student = checkStudent(flags.student);
      const exercise = await openExercise(args.exercise, flags.dir);
      const engine = await this.engineForUp(
        exerciseEngine(flags.engine, exercise),
        exerciseLabName(exercise.name, student),
      );
      const { resetExercise } = await import('../../classroom/session.js');
      const result = await resetExercise(engine, exercise, {
        ...(student !== undefined && { student }),
        signal: interrupt.signal,
        onProgress: (line) => this.progress(line),
      });
      this.log(`lab ${result.lab} is broken again, as the exercise starts.\n\n${exercise.task.trimEnd()}`);
      return result;
    } finally {
      interrupt.dispose();
    }
  }
}
