import { checkStudent, exerciseArg, studentFlag } from '../../cli/exercise-flags.js';
import { engineFlag, LblabCommand } from '../../cli/base-command.js';
import { exerciseLabName } from '../../classroom/exercise.js';

export default class ExerciseStop extends LblabCommand {
  static override summary = 'Remove your exercise lab (everything it created, nothing else).';
  static override examples = ['<%= config.bin %> exercise stop dr-arp --student alice'];
  static override args = { exercise: exerciseArg };
  static override flags = { engine: engineFlag, student: studentFlag };

  async run(): Promise<{ lab: string; containers: string[]; networks: string[] }> {
    const { args, flags } = await this.parse(ExerciseStop);
    const student = checkStudent(flags.student);
    // By name alone: a stop must work even when the exercise file has gone.
    const name = args.exercise.replace(/\/+$/, '').split('/').pop()!;
    const lab = exerciseLabName(name, student);
    const { stopExercise } = await import('../../classroom/session.js');
    const removed = { containers: [] as string[], networks: [] as string[] };
    for (const engine of await this.engines(flags.engine)) {
      const result = await stopExercise(
        engine,
        { name },
        {
          ...(student !== undefined && { student }),
          onProgress: (line) => this.progress(line),
        },
      );
      removed.containers.push(...result.containers);
      removed.networks.push(...result.networks);
    }
    this.log(
      removed.containers.length === 0
        ? `lab ${lab}: nothing to remove`
        : `lab ${lab}: removed ${removed.containers.length} container(s) and ${removed.networks.length} network(s)`,
    );
    return { lab, ...removed };
  }
}
