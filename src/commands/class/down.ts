import { exerciseArg } from '../../cli/exercise-flags.js';
import { engineFlag, LblabCommand } from '../../cli/base-command.js';
import { recordedClassEngines } from '../../cli/class-engines.js';
import { readClassRecord } from '../../classroom/class.js';
import { LabError } from '../../core/errors.js';

export default class ClassDown extends LblabCommand {
  static override summary = "For teachers: remove every student's lab of an exercise, and forget the roster.";
  static override description =
    'A class spread over a pool of engines is removed from each engine it is on (the roster remembers which).';
  static override examples = ['<%= config.bin %> class down dr-arp'];
  static override args = { exercise: exerciseArg };
  static override flags = { engine: engineFlag };

  async run(): Promise<{ exercise: string; students: number; containers: number; networks: number }> {
    const { args, flags } = await this.parse(ClassDown);
    const name = args.exercise.replace(/\/+$/, '').split('/').pop()!;
    const record = await readClassRecord(name);
    if (!record) {
      throw new LabError('preflight', `no class is up for ${name}`, {
        hint: 'lblab status --all lists the labs that are up; lblab down --name LAB removes one',
      });
    }
    const { classDown } = await import('../../classroom/class.js');
    const where = await recordedClassEngines(
      record,
      () => this.engines(flags.engine),
      (line) => this.logToStderr(line),
    );
    const { containers, networks, failed } = await classDown(where, { name }, record.students);
    for (const { student, error } of failed) this.logToStderr(`${student}: ${error}`);
    if (failed.length > 0) process.exitCode = 1;
    this.log(
      `class ${name}: removed ${containers} container(s) and ${networks} network(s) of ${record.students.length} students`,
    );
    return { exercise: name, students: record.students.length, containers, networks };
  }
}
