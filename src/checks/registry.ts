/**
 * Check types by name. Adding one is a module (see check-type.ts) plus an entry here and, when it can
 * be written in `wait:`/`ready:`, its key in schema/verify.schema.json (waitCondition).
 */
import type { ReadinessCheck } from '../core/plan.js';
import type { WaitCondition } from '../core/topology.js';
import { parseDuration } from '../util/duration.js';
import type { AnyCheckType } from './check-type.js';
import { frrConfigCheck } from './frr-config.js';
import { httpCheck } from './http.js';
import { ipvsServiceCheck } from './ipvs-service.js';
import { ospfFullCheck } from './ospf-full.js';
import { routeCheck } from './route.js';
import { tcpCheck } from './tcp.js';
import { udpCheck } from './udp.js';

/** How long a `wait:` or `ready:` condition is polled when it says no `timeout:`. */
export const DEFAULT_WAIT_TIMEOUT_MS = 30_000;

// In the order `wait:` names its keys in messages.
const CHECK_TYPES = new Map<string, AnyCheckType>(
  [routeCheck, ospfFullCheck, tcpCheck, udpCheck, httpCheck, ipvsServiceCheck, frrConfigCheck].map((type) => [
    type.type,
    type,
  ]),
);

/** Adds a check type (a plugin, a test); returns how to remove it again. */
export function registerCheckType(type: AnyCheckType): () => void {
  if (CHECK_TYPES.has(type.type)) throw new Error(`check type "${type.type}" is already registered`);
  CHECK_TYPES.set(type.type, type);
  return () => CHECK_TYPES.delete(type.type);
}

export function checkTypeOf(check: Pick<ReadinessCheck, 'type'>): AnyCheckType {
  const type = CHECK_TYPES.get(check.type);
  if (!type)
    throw new Error(`check type "${check.type}" is not known (known: ${[...CHECK_TYPES.keys()].join(', ')})`);
  return type;
}

/** The keys a `wait:`/`ready:` item chooses its check type by. */
export function waitKeys(): string[] {
  return [...CHECK_TYPES.values()].flatMap((type) => (type.waitKey && type.parse ? [type.waitKey] : []));
}

/** The condition in words, for plans, progress and reports. */
export function describeCheck(check: ReadinessCheck): string {
  return checkTypeOf(check).describe(check);
}

/**
 * The check a schema-valid `wait:` step or `ready:` item asks for, with its timeout (a duration such
 * as `30s`, or DEFAULT_WAIT_TIMEOUT_MS) in milliseconds.
 */
export function parseWaitCondition(condition: WaitCondition & { node: string }): ReadinessCheck {
  const timeoutMs = parseDuration(condition.timeout ?? DEFAULT_WAIT_TIMEOUT_MS);
  for (const type of CHECK_TYPES.values()) {
    if (type.waitKey !== undefined && type.parse && condition[type.waitKey] !== undefined)
      return type.parse(condition, timeoutMs);
  }
  throw new TypeError(`wait: expected one of ${waitKeys().join(', ')}`);
}
