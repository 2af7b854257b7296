/** Errors `up`/`down` report: which node, which stage, what happened, what to do next. */
export type Stage =
  | 'engine'
  | 'preflight'
  | 'image'
  | 'network'
  | 'create'
  | 'start'
  | 'setup'
  | 'readiness'
  | 'teardown'
  | 'exercise';

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
