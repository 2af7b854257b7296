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
}

/** Raised when SIGINT/SIGTERM stopped `up`; the exit code follows the shell convention (128 + signal). */
export class InterruptedError extends Error {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}; everything this run created was removed`);
    this.name = 'InterruptedError';
  }

  get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}
