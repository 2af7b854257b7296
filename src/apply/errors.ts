/** Errors `up`/`down` report: which node, which stage, what happened, what to do next. */
export type Stage =
  'preflight' | 'image' | 'network' | 'create' | 'start' | 'setup' | 'readiness' | 'teardown';

export class LabError extends Error {
  constructor(
    readonly stage: Stage,
    message: string,
    readonly options: { node?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(options.node ? `${options.node}: ${stage}: ${message}` : `${stage}: ${message}`, {
      cause: options.cause,
    });
    this.name = 'LabError';
  }

  get hint(): string | undefined {
    return this.options.hint;
  }

  /** `up --keep-on-failure` left the lab up: the next step is to look inside, then remove it. */
  keptForInspection(lab: string): void {
    this.options.hint = `the lab is left as it is: look inside with \`lblab exec --name ${lab} NODE -- CMD\`, then \`lblab down --name ${lab}\``;
  }
}

/** The signals that stop `up` and roll the lab back: Ctrl-C, `kill`, and the terminal going away. */
export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

const SIGNAL_NUMBER: Record<InterruptSignal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Raised when a signal stopped `up`; the exit code follows the shell convention (128 + signal). */
export class InterruptedError extends Error {
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted by ${signal}; everything this run created was removed`);
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
