/** What the exercise and class commands share: the exercise argument, --student, --dir. */
import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { LabError } from '../core/errors.js';
import { engineFlagWhere } from './base-command.js';
import { exercisesRoot, findExercise, STUDENT_ID, type Exercise } from '../classroom/exercise.js';
import { directorsWantingIpvs } from '../lab/lab.js';

export const exerciseArg = Args.string({
  description: 'exercise name (see `lblab exercise list`) or path to an exercise folder',
  required: true,
});

export const exerciseEngineFlag = engineFlagWhere("the host engine unless the exercise's lab needs IPVS");

export const studentFlag = Flags.string({
  description: "the student's ID: each student gets their own lab (<exercise>-<student>)",
});

export const dirFlag = Flags.string({
  description:
    "where the exercises are (default: $LBLAB_EXERCISES, else ./exercises if there is one, else lblab's own)",
});

export function checkStudent(student: string | undefined): string | undefined {
  if (student !== undefined && !STUDENT_ID.test(student)) {
    throw new LabError('preflight', `--student ${JSON.stringify(student)} cannot name a lab`, {
      hint: "use lowercase letters, digits and '-', at most 16 characters (e.g. alice, s07)",
    });
  }
  return student;
}

export function openExercise(name: string, dir: string | undefined): Promise<Exercise> {
  return findExercise(name, exercisesRoot(dir));
}

/**
 * `auto` for an exercise is the host engine unless its lab cannot do without IPVS: a class of
 * thirty labs fits on the host's Docker, not in one sandbox guest. `why`: what to print for auto.
 */
export function exerciseEngine(choice: string, exercise: Exercise): { choice: string; why?: string } {
  if (choice !== 'auto') return { choice };
  return directorsWantingIpvs(exercise.lab.config).demanded.length > 0
    ? { choice: 'sandbox', why: "auto: the exercise's lab needs IPVS" }
    : {
        choice: 'docker',
        why: "auto: the exercise's lab needs no IPVS, so the host engine (a class fits there)",
      };
}
