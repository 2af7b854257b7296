/** The one retry loop: every wait in lblab polls a probe with a deadline and an injectable clock. */
import { realClock, type Clock } from './clock.js';
import { InterruptedError } from './interrupt.js';

/** What one probe saw: whether the condition holds, and in words what it saw (for the timeout message). */
export interface PollResult {
  ok: boolean;
  seen: string;
}

export interface PollOptions<T extends PollResult> {
  timeoutMs: number;
  intervalMs: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** The error to throw when the deadline passed, from what the last probe saw. */
  onTimeout: (lastSeen: string, last: T) => Error;
  /** Told each time a probe failed and the loop is about to sleep (not after the last one). */
  onWait?: (last: T) => void;
  /**
   * The timeout counts from when this settles (polling starts at once): a condition that needs
   * other nodes gets its full time once they all exist, however slowly they were created.
   */
  countFrom?: Promise<unknown>;
  /**
   * Ends the wait as the deadline would (onTimeout with what the last probe saw), unlike `signal`,
   * which interrupts it: the caller learnt that waiting longer cannot help.
   */
  giveUp?: AbortSignal;
}

/** Polls `probe` until it reports ok, or throws what it saw last when `timeoutMs` has passed. */
export async function pollUntil<T extends PollResult>(
  probe: () => Promise<T>,
  options: PollOptions<T>,
): Promise<T> {
  const clock = options.clock ?? realClock;
  let deadline = options.countFrom ? Infinity : clock.now() + options.timeoutMs;
  void options.countFrom?.finally(() => (deadline = clock.now() + options.timeoutMs));
  for (;;) {
    if (options.signal?.aborted) throw InterruptedError.from(options.signal);
    const last = await probe();
    if (last.ok) return last;
    if (clock.now() >= deadline || options.giveUp?.aborted) throw options.onTimeout(last.seen, last);
    options.onWait?.(last);
    await clock.sleep(options.intervalMs);
  }
}
