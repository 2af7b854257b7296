import { ExerciseCommand } from '../../cli/exercise-command.js';
import { dirFlag, exerciseArg, exerciseEngineFlag, studentFlag } from '../../cli/exercise-flags.js';
import type { StartResult } from '../../classroom/session.js';

export default class ExerciseStart extends ExerciseCommand {
  static override summary = "Bring up your own copy of an exercise's lab, break it, and print the task.";
  static override description =
    'Run it again while the lab is up and your changes are kept; `lblab exercise reset` starts over.';
  static override examples = [
    '<%= config.bin %> exercise start dr-arp',
    '<%= config.bin %> exercise start dr-arp --student alice',
  ];
  static override args = { exercise: exerciseArg };
  static override flags = { engine: exerciseEngineFlag, student: studentFlag, dir: dirFlag };

  async run(): Promise<StartResult> {
    const { args, flags } = await this.parse(ExerciseStart);
    return this.withStudentLab(args.exercise, flags, 'up', async (engine, exercise, options) => {
      const { startExercise } = await import('../../classroom/session.js');
      const result = await startExercise(engine, exercise, options);
      const flag = options.student ? ` --student ${options.student}` : '';
      this.log(
        [
          `${exercise.title} (${exercise.level}): lab ${result.lab} is ${result.outcome === 'resumed' ? 'already up; your changes are kept' : `up and broken on ${result.engine}`}.`,
          '',
          exercise.task.trimEnd(),
          '',
          `Nodes: ${Object.keys(exercise.lab.config.topology.nodes).join(', ')}`,
          `A shell in one:     lblab shell ${exercise.name} NODE${flag}`,
          `Check your work:    lblab exercise check ${exercise.name}${flag}`,
          `Start over:         lblab exercise reset ${exercise.name}${flag}`,
        ].join('\n'),
      );
      return result;
    });
  }
}
