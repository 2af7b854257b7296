/**
 * Waiting for a check: poll its observation until it holds (no fixed sleeps anywhere in lblab), run
 * its repair a bounded number of times, and on timeout say what was seen last.
 */
import type { ReadinessCheck } from '../core/plan.js';
import type { ContainerRuntime } from '../core/runtime.js';
import { realClock, type Clock } from '../util/clock.js';
import { pollUntil } from '../util/poll.js';
import { firstLine } from '../util/text.js';
import type { Observation } from './check-type.js';
import { checkTypeOf, describeCheck } from './registry.js';

/** How often waitForCheck runs an observation's repair before it only waits (and then times out). */
export const MAX_REPAIRS = 3;

/** One probe exec on the host engine; slower engines pass a longer one (see EngineTuning). */
export const PROBE_TIMEOUT_MS = 10_000;

/** Why a wait for a check ended before its timeout, and when. */
export interface StoppedEarly {
  afterMs: number;
  why: string;
  /** Stopped because another condition failed, not because of anything this one saw. */
  forAnother?: boolean;
}

export class ReadinessTimeout extends Error {
  /** The node's daemon logs (last lines), added by whoever can read them. */
  evidence = '';
  /** The same node's other conditions that were not met either (often consequences of this one). */
  alsoUnmet: string[] = [];

  constructor(
    readonly check: ReadinessCheck,
    readonly lastSeen: string,
    /** How often a repair ran before the timeout: a check that was repaired and still failed is the likely cause. */
    readonly repairs = 0,
    /** Set when the wait ended before the check's timeout. */
    readonly stopped?: StoppedEarly,
  ) {
    super(`${check.node}: ${ReadinessTimeout.detail(check, lastSeen, stopped)}`);
    this.name = 'ReadinessTimeout';
  }

  /**
   * Failures in the order to report them: one whose repair ran and did not help first (an ospfd
   * without its config explains why its neighbours never came Full), then the others that failed,
   * then those stopped because one of these failed; within each, as they came.
   */
  static causesFirst<T>(errors: T[]): T[] {
    const rank = (error: T) => {
      if (!(error instanceof ReadinessTimeout)) return 1;
      if (error.stopped?.forAnother) return 2;
      return error.repairs > 0 ? 0 : 1;
    };
    return [...errors].sort((a, b) => rank(a) - rank(b));
  }

  /** The message without the node name, for errors that already carry it. */
  static detail(check: ReadinessCheck, lastSeen: string, stopped?: StoppedEarly): string {
    const when = stopped
      ? `: lblab stopped waiting after ${Math.round(stopped.afterMs / 1000)} s of ${check.timeoutMs / 1000} s, as ${stopped.why}`
      : ` after ${check.timeoutMs / 1000} s`;
    return `${describeCheck(check)} not reached${when} (last seen: ${lastSeen})`;
  }
}

/**
 * After the last repair, how many more observations must still fail before the wait gives up: the
 * repair's effect shows at the next probe (loading FRR's config is synchronous).
 */
const FAILURES_AFTER_LAST_REPAIR = 2;

/** One observation of `check` in `container`. */
export async function observe(
  runtime: ContainerRuntime,
  container: string,
  check: ReadinessCheck,
  probeTimeoutMs = PROBE_TIMEOUT_MS,
): Promise<Observation> {
  return checkTypeOf(check).observe(
    (cmd) => runtime.exec(container, cmd, { timeoutMs: probeTimeoutMs }),
    check,
  );
}

export async function waitForCheck(
  runtime: ContainerRuntime,
  container: string,
  check: ReadinessCheck,
  options: {
    clock?: Clock;
    intervalMs?: number;
    signal?: AbortSignal;
    /** Told each time an observation's repair ran, with what it did and what came of it. */
    onRepair?: (message: string) => void;
    /** See pollUntil. */
    countFrom?: Promise<unknown>;
    /** How long one probe exec may take before it counts as "no answer". */
    probeTimeoutMs?: number;
    /** Ends the wait with a ReadinessTimeout saying why (`reason`), before the check's timeout. */
    giveUp?: { signal: AbortSignal; reason: () => string };
  } = {},
): Promise<Observation> {
  const clock = options.clock ?? realClock;
  // As the timeout does: from when countFrom settles, else from now.
  let started = clock.now();
  void options.countFrom?.finally(() => (started = clock.now()));
  let repairs = 0;
  let lastRepair = '';
  let failuresAfterLastRepair = 0;
  // Every repair ran and the check still fails: waiting out the timeout would only delay the report.
  const repairsExhausted = new AbortController();
  const probe = async (): Promise<Observation> => {
    const seen = await observe(runtime, container, check, options.probeTimeoutMs);
    if (seen.ok || !seen.repair) return seen;
    if (repairs >= MAX_REPAIRS) {
      failuresAfterLastRepair += 1;
      if (failuresAfterLastRepair >= FAILURES_AFTER_LAST_REPAIR) repairsExhausted.abort();
      return { ...seen, seen: `${seen.seen}; ${lastRepair}` };
    }
    repairs += 1;
    const result = await runtime.exec(container, seen.repair.cmd, { timeoutMs: 30_000 });
    const output = firstLine(result.stderr || result.stdout);
    lastRepair =
      `repaired ${repairs} of ${MAX_REPAIRS} times (${seen.repair.what}: \`${seen.repair.cmd.join(' ')}\` ` +
      `exited ${result.exitCode}${output ? `: ${output}` : ''})`;
    options.onRepair?.(`${seen.seen}; ${seen.repair.what} (attempt ${repairs} of ${MAX_REPAIRS})`);
    return { ...seen, seen: `${seen.seen}; ${lastRepair}` };
  };
  return pollUntil(probe, {
    timeoutMs: check.timeoutMs,
    intervalMs: options.intervalMs ?? 200,
    clock,
    signal: options.signal,
    countFrom: options.countFrom,
    giveUp: options.giveUp
      ? AbortSignal.any([options.giveUp.signal, repairsExhausted.signal])
      : repairsExhausted.signal,
    onTimeout: (lastSeen) => {
      const afterMs = clock.now() - started;
      if (repairsExhausted.signal.aborted) {
        return new ReadinessTimeout(check, lastSeen, repairs, {
          afterMs,
          why: `${MAX_REPAIRS} repairs did not help`,
        });
      }
      if (options.giveUp?.signal.aborted) {
        return new ReadinessTimeout(check, lastSeen, repairs, {
          afterMs,
          why: options.giveUp.reason(),
          forAnother: true,
        });
      }
      return new ReadinessTimeout(check, lastSeen, repairs);
    },
  });
}
