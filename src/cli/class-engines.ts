/**
 * The engines a command works on when a pool file is involved: `--pool FILE` (or LBLAB_POOL) for
 * status, down and class up, and the pool a class record names for class grade and class down.
 */
import * as Flags from '@oclif/core/flags';
import type { ClassEngines, ClassRecord } from '../classroom/class.js';
import type { Engine } from '../runtime/engine.js';
import { LabError } from '../core/errors.js';
import { errorMessage } from '../util/text.js';

export const poolFlag = Flags.string({
  description:
    'a pool file naming the engines to use (schema/pool.schema.json): each with a name, an endpoint (local, sandbox, unix://, tcp://, ssh://) and a capacity',
  env: 'LBLAB_POOL',
});

/**
 * Every member of the pool file that answers (those `wanted` names, when given), in pool order; one
 * that does not is reported through `warn` and left out, so `status` and `down` still see the rest.
 * Nothing is started.
 */
export async function reachablePoolEngines(
  file: string,
  warn: (line: string) => void,
  wanted?: Set<string>,
): Promise<Engine[]> {
  const { connectMember, loadPool } = await import('../lab/engine-pool.js');
  const pool = await loadPool(file);
  const engines: Engine[] = [];
  for (const member of pool.members.filter((m) => !wanted || wanted.has(m.name))) {
    try {
      engines.push(await connectMember(member));
    } catch (error) {
      const hint = error instanceof LabError && error.hint ? `; ${error.hint}` : '';
      warn(`warning: ${errorMessage(error)}${hint}`);
    }
  }
  return engines;
}

/**
 * Where a recorded class is: with a pool, the members it placed labs on (an unreachable one leaves
 * its students ungraded or not removed, with the reason); else every engine `others` gives.
 */
export async function recordedClassEngines(
  record: ClassRecord,
  others: () => Promise<Engine[]>,
  warn: (line: string) => void,
): Promise<ClassEngines> {
  if (!record.pool) return { engines: await others(), placement: {} };
  const placement = record.placement ?? {};
  const engines = await reachablePoolEngines(record.pool, warn, new Set(Object.values(placement)));
  return { engines, placement, pool: record.pool };
}
