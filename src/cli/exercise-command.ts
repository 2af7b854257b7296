/** What the exercise commands share: the exercise opened, the student's lab found, Ctrl-C handled. */
import { exerciseLabName, type Exercise } from '../classroom/exercise.js';
import type { SessionOptions } from '../classroom/session.js';
import type { Engine } from '../runtime/engine.js';
import { LblabCommand } from './base-command.js';
import { checkStudent, exerciseEngine, openExercise } from './exercise-flags.js';
import { abortOnSignals } from './signals.js';

export interface StudentLabFlags {
  engine: string;
  student?: string;
  dir?: string;
}

/**
 * Where the student's lab is: `up` picks the engine for a lab about to be built, `running` the one
 * it runs on, `graded` that or (a lab that runs nowhere, graded 0) the first engine.
 */
type EngineFor = 'up' | 'running' | 'graded';

export abstract class ExerciseCommand extends LblabCommand {
  protected async withStudentLab<T>(
    name: string,
    flags: StudentLabFlags,
    engineFor: EngineFor,
    action: (engine: Engine, exercise: Exercise, options: SessionOptions) => Promise<T>,
  ): Promise<T> {
    const interrupt = abortOnSignals(() =>
      this.logToStderr('interrupted twice: leaving at once; what a step changed may remain'),
    );
    try {
      const student = checkStudent(flags.student);
      const exercise = await openExercise(name, flags.dir);
      const lab = exerciseLabName(exercise.name, student);
      const engine =
        engineFor === 'up'
          ? await this.engineForUp(exerciseEngine(flags.engine, exercise), lab)
          : engineFor === 'running'
            ? await this.engineWithLab(flags.engine, lab)
            : ((await this.engineWithLab(flags.engine, lab).catch(() => undefined)) ??
              (await this.engines(flags.engine))[0]!);
      return await action(engine, exercise, {
        ...(student !== undefined && { student }),
        signal: interrupt.signal,
        onProgress: (line) => this.progress(line),
      });
    } finally {
      interrupt.dispose();
    }
  }
}
