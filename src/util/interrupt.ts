/** Interrupts: the signals that stop a run, and the error that says which one did. */
/** The signals that stop `up` and roll the lab back: Ctrl-C, `kill`, and the terminal going away. */
export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

const SIGNAL_NUMBER: Record<InterruptSignal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Raised when a signal stopped `up`; the exit code follows the shell convention (128 + signal). */
export class InterruptedError extends Error {
  constructor(
    readonly signal: InterruptSignal,
    what = 'everything this run created was removed',
  ) {
    super(`interrupted by ${signal}; ${what}`);
    this.name = 'InterruptedError';
  }

  /** From an AbortSignal aborted with the signal's name as its reason (SIGINT if it is anything else). */
  static from(abort: AbortSignal): InterruptedError {
    const reason: unknown = abort.reason;
    return new InterruptedError(INTERRUPT_SIGNALS.find((signal) => signal === reason) ?? 'SIGINT');
  }

  get exitCode(): number {
    return exitCodeFor(this.signal);
  }
}

export function exitCodeFor(signal: InterruptSignal): number {
  return 128 + SIGNAL_NUMBER[signal];
}
