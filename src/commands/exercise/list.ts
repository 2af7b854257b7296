import { dirFlag } from '../../cli/exercise-flags.js';
import { LblabCommand } from '../../cli/base-command.js';
import { exercisesRoot, listExercises, type ExerciseSummary } from '../../classroom/exercise.js';
import { formatTable } from '../../util/text.js';

export interface ExerciseListResult {
  root: string;
  exercises: ExerciseSummary[];
  broken: { name: string; error: string }[];
}

export default class ExerciseList extends LblabCommand {
  static override summary = 'List the exercises: name, level, lab, checks and points.';
  static override examples = [
    '<%= config.bin %> exercise list',
    '<%= config.bin %> exercise list --dir my-course',
  ];
  static override flags = { dir: dirFlag };

  async run(): Promise<ExerciseListResult> {
    const { flags } = await this.parse(ExerciseList);
    const root = exercisesRoot(flags.dir);
    const { exercises, broken } = await listExercises(root);
    const rows = [
      ['NAME', 'LEVEL', 'LAB', 'CHECKS', 'POINTS', 'TITLE'],
      ...exercises.map((e) => [e.name, e.level, e.lab, String(e.checks), String(e.points), e.title]),
    ];
    this.log(exercises.length > 0 ? formatTable(rows).join('\n') : `no exercise in ${root}`);
    for (const { name, error } of broken) this.logToStderr(`${name}: cannot be loaded:\n${error.message}`);
    if (broken.length > 0) process.exitCode = 1;
    return { root, exercises, broken: broken.map(({ name, error }) => ({ name, error: error.message })) };
  }
}
