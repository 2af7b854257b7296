/**
 * Which engine of a pool each student's lab goes to. Pure: the engines' capacity, the labs already on
 * them and whether each can run the exercise come in; a placement or an error that says what is
 * missing comes out, before anything is created.
 */
import { LabError } from '../core/errors.js';

export interface PlacementEngine {
  name: string;
  capacity: number;
  /** Every lab on the engine now (a class's or not): each takes one place. */
  labs: string[];
  /** Absent: it can run the exercise; else why not (e.g. its kernel has no IPVS). */
  unfit?: string;
}

/**
 * A student whose lab is already up stays where it runs (their work is there). Every other student
 * goes to the fitting engine with the most free places, ties to the one listed first: labs are
 * spread, so one slow engine holds as few of them as the capacities allow.
 */
export function placeStudents(
  students: string[],
  labOf: (student: string) => string,
  engines: PlacementEngine[],
): Record<string, string> {
  const placement: Record<string, string> = {};
  const free = new Map(engines.map((engine) => [engine.name, engine.capacity - engine.labs.length]));
  const waiting: string[] = [];
  for (const student of students) {
    const running = engines.find((engine) => engine.labs.includes(labOf(student)));
    if (running) placement[student] = running.name;
    else waiting.push(student);
  }
  const fitting = engines.filter((engine) => engine.unfit === undefined);
  const room = fitting.reduce((sum, engine) => sum + Math.max(0, free.get(engine.name)!), 0);
  if (waiting.length > room) {
    const each = engines
      .map((engine) =>
        engine.unfit !== undefined
          ? `${engine.name}: unfit, ${engine.unfit}`
          : `${engine.name}: ${Math.max(0, free.get(engine.name)!)} of ${engine.capacity} free`,
      )
      .join('; ');
    throw new LabError(
      'preflight',
      `${waiting.length} labs to bring up, but the pool has room for ${room} (${each})`,
      {
        hint: 'raise a capacity in the pool file, add an engine, or remove labs that are no longer needed (lblab status --all --pool FILE)',
      },
    );
  }
  for (const student of waiting) {
    let best: PlacementEngine | undefined;
    for (const engine of fitting) {
      if (!best || free.get(engine.name)! > free.get(best.name)!) best = engine;
    }
    placement[student] = best!.name;
    free.set(best!.name, free.get(best!.name)! - 1);
  }
  return placement;
}
