/**
 * The progress of the long commands (`up`, `class up`, `engine start`), on stderr, through one
 * interface. Which way it shows is `progressMode`'s choice:
 *
 * - live: on a terminal, listr2 draws a row per node, student or stage, redrawn in place, each with
 *   what it does now and its elapsed time ticking; when the display closes every row's final state
 *   stays on screen (the summary), a failed row marked as such.
 * - plain: the very lines lblab always printed, one per event, in order: stderr is a pipe or a file,
 *   TERM=dumb or a terminal without a size, CI is set, --verbose (its debug lines would be held back under the live rows), or
 *   LBLAB_PROGRESS=plain.
 * - silent: --json; stdout is the result and progress stays quiet, as before.
 *
 * Nothing here writes stdout. listr2 gets no signal listeners: Ctrl-C stays with cli/signals.ts (roll
 * back; a second one leaves at once), and a process that exits mid-draw still leaves its last frame
 * and a visible cursor.
 */
import type { ListrTaskObject } from 'listr2';
import { firstLine, oneLine, stripAnsi } from '../util/text.js';
import { verboseEnabled } from '../util/log.js';

export type ProgressMode = 'live' | 'plain' | 'silent';

export interface ProgressDisplay {
  readonly mode: ProgressMode;
  /**
   * A row's current activity: the row appears on its first update (and is running again if it had
   * finished). `plain` is the line printed instead when the display is plain (default
   * `key: stage: message`); null prints nothing there.
   */
  update(key: string, stage: string, message: string, plain?: string | null): void;
  /** A row finished, well or not; `message` (default: its last one) stays on it. Plain: `plain` (default `key: message`). */
  done(key: string, ok: boolean, message?: string, plain?: string | null): void;
  /** A line of its own (a warning, a verify step): under the rows while live, else on stderr. */
  line(text: string): void;
  /** Ends the display, leaving the rows as a summary. With an error, rows still running show as stopped. Idempotent. */
  close(error?: unknown): void;
}

export interface ProgressModeFacts {
  json: boolean;
  /** Whether stderr, where progress goes, is a terminal. */
  isTTY: boolean;
  /** Its width; a terminal without a size (0, as a bare pseudo-terminal has) cannot hold rows. */
  columns?: number;
  /** Debug logging is on: its lines go to stderr and the live display would hold them back. */
  verbose: boolean;
  env: Record<string, string | undefined>;
}

/** How progress shows (see the module's comment for why each rule). */
export function progressMode(facts: ProgressModeFacts): ProgressMode {
  if (facts.json) return 'silent';
  if (facts.env.LBLAB_PROGRESS === 'plain') return 'plain';
  if (!facts.isTTY) return 'plain';
  if ((facts.env.TERM ?? '') === 'dumb' || facts.columns === 0) return 'plain';
  const ci = facts.env.CI;
  if (ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') return 'plain';
  if (facts.verbose) return 'plain';
  return 'live';
}

/** Elapsed time for a row: `0s`, `12s`, `1m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export interface RowState {
  key: string;
  /** Left out of the text when it is the key itself (a lab-wide stage's row). */
  stage: string;
  message: string;
  elapsedMs: number;
  /** Stopped by an error elsewhere or an interrupt, before it finished. */
  stopped?: boolean;
}

/**
 * One row's text: the key padded to `keyWidth`, what it does, and the elapsed time, which stays
 * visible: with `columns`, the message is clipped to fit the terminal's width instead.
 */
export function rowText(row: RowState, keyWidth = row.key.length, columns?: number): string {
  const what = oneLine(
    stripAnsi(row.stage && row.stage !== row.key ? `${row.stage}: ${row.message}` : row.message),
  );
  const head = `${row.key.padEnd(keyWidth)}  `;
  const tail = ` (${row.stopped ? 'stopped after ' : ''}${formatElapsed(row.elapsedMs)})`;
  // listr2 puts an icon and a space before the row and keeps two columns free at its end.
  const room = columns === undefined ? Infinity : columns - 4 - head.length - tail.length;
  const clipped = what.length <= room ? what : `${what.slice(0, Math.max(0, room - 1))}…`;
  return `${head}${clipped}${tail}`;
}

export interface OpenProgressOptions {
  /** Shown above the rows while live (e.g. `lblab up ecmp-lvs-dr`). */
  title: string;
  json: boolean;
  /** Default: whether stderr is a terminal. */
  tty?: boolean;
  /** Default: whether lblab's debug logging is on. */
  verbose?: boolean;
  env?: Record<string, string | undefined>;
  /** The clock rows are timed with (ms). */
  now?: () => number;
  /** How often the elapsed times are refreshed while live. */
  tickMs?: number;
}

export async function openProgress(options: OpenProgressOptions): Promise<ProgressDisplay> {
  const mode = progressMode({
    json: options.json,
    isTTY: options.tty ?? process.stderr.isTTY === true,
    columns: options.tty === undefined ? process.stderr.columns : undefined,
    verbose: options.verbose ?? verboseEnabled(),
    env: options.env ?? process.env,
  });
  if (mode === 'silent') return new QuietDisplay();
  if (mode === 'plain') return new PlainDisplay((line) => process.stderr.write(`${line}\n`));
  return LiveDisplay.open(options);
}

class QuietDisplay implements ProgressDisplay {
  readonly mode = 'silent' as const;
  update(): void {}
  done(): void {}
  line(): void {}
  close(): void {}
}

/** Today's lines, one per event, as they come. */
export class PlainDisplay implements ProgressDisplay {
  readonly mode = 'plain' as const;
  constructor(private readonly write: (line: string) => void) {}

  update(key: string, stage: string, message: string, plain?: string | null): void {
    if (plain !== null) this.write(plain ?? `${key}: ${stage}: ${message}`);
  }

  done(key: string, _ok: boolean, message?: string, plain?: string | null): void {
    if (plain !== null) this.write(plain ?? `${key}: ${message ?? 'done'}`);
  }

  line(text: string): void {
    this.write(text);
  }

  close(): void {}
}

interface LiveRow extends RowState {
  startedAt: number;
  endedAt?: number;
  state: 'running' | 'ok' | 'failed' | 'stopped';
  task: ListrTaskObject<object, never, never>;
}

/** Rows drawn by listr2's default renderer; lblab moves each row's state itself, as events come. */
class LiveDisplay implements ProgressDisplay {
  readonly mode = 'live' as const;
  private readonly rows = new Map<string, LiveRow>();
  private open = true;
  private readonly ticker: NodeJS.Timeout;
  private readonly onExit = (): void => this.close(new Error('exited'));

  private constructor(
    private readonly listr: import('listr2').Listr<object, 'default', 'default'>,
    private readonly renderer: import('listr2').DefaultRenderer,
    private readonly notes: ListrTaskObject<object, never, never>,
    private readonly states: typeof import('listr2').ListrTaskState,
    private readonly now: () => number,
    tickMs: number,
  ) {
    this.ticker = setInterval(() => this.retitle(), tickMs);
    this.ticker.unref();
    // process.exit (a second Ctrl-C) skips every finally: leave the last frame and the cursor behind.
    process.once('exit', this.onExit);
  }

  static async open(options: OpenProgressOptions): Promise<LiveDisplay> {
    // Loaded only here: plain and silent runs never pay for listr2 and its renderer.
    const { DefaultRenderer, Listr, ListrLogger, ListrTaskState, ProcessOutput } = await import('listr2');
    const listr = new Listr<object, 'default', 'default'>([], {
      renderer: 'default',
      fallbackRenderer: 'default',
      // Ctrl-C belongs to cli/signals.ts; listr2's own listener would exit 127 without a rollback.
      registerSignalListeners: false,
      exitOnError: false,
      concurrent: true,
    });
    // Both of listr2's streams are stderr: the rows are drawn there and stray stderr writes are held
    // until the end; stdout, the command's result, is never touched.
    const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
    const renderer = new DefaultRenderer(
      listr.tasks as never,
      { logger, formatOutput: 'truncate', removeEmptyLines: false, collapseSkips: true },
      listr.events,
    );
    // Lines of their own go to the bottom bar of a row without a title, every one kept.
    const taskOptions = { bottomBar: Infinity, persistentOutput: true };
    listr.add({ task: () => undefined, rendererOptions: taskOptions, fallbackRendererOptions: taskOptions });
    const notes = listr.tasks.at(-1) as unknown as ListrTaskObject<object, never, never>;
    await notes.check({});
    notes.state$ = ListrTaskState.STARTED;
    process.stderr.write(`${options.title}\n`);
    await renderer.render();
    renderer.update(); // the notes' bottom bar listens from its first drawing on
    return new LiveDisplay(
      listr,
      renderer,
      notes,
      ListrTaskState,
      options.now ?? (() => performance.now()),
      options.tickMs ?? 500,
    );
  }

  update(key: string, stage: string, message: string): void {
    if (!this.open) return;
    const existing = this.rows.get(key);
    if (existing === undefined) {
      this.listr.add({ title: key, task: () => undefined });
      const task = this.listr.tasks.at(-1) as unknown as ListrTaskObject<object, never, never>;
      void task.check({});
      const row: LiveRow = {
        key,
        stage,
        message,
        elapsedMs: 0,
        startedAt: this.now(),
        state: 'running',
        task,
      };
      this.rows.set(key, row);
      task.state$ = this.states.STARTED;
    } else {
      Object.assign(existing, { stage, message, state: 'running', endedAt: undefined });
      if (existing.task.state !== this.states.STARTED) existing.task.state$ = this.states.STARTED;
    }
    this.retitle();
  }

  done(key: string, ok: boolean, message?: string): void {
    if (!this.open) return;
    if (!this.rows.has(key)) this.update(key, '', message ?? '');
    const row = this.rows.get(key)!;
    if (message !== undefined) Object.assign(row, { stage: '', message });
    this.finish(row, ok ? 'ok' : 'failed');
    this.retitle();
  }

  line(text: string): void {
    if (!this.open) {
      process.stderr.write(`${text}\n`);
      return;
    }
    this.notes.output$ = stripAnsi(text);
  }

  close(error?: unknown): void {
    if (!this.open) return;
    for (const row of this.rows.values()) {
      if (row.state === 'running') this.finish(row, error === undefined ? 'ok' : 'stopped');
    }
    this.retitle();
    this.notes.state$ = this.states.COMPLETED;
    this.open = false;
    clearInterval(this.ticker);
    process.off('exit', this.onExit);
    this.renderer.end();
  }

  private finish(row: LiveRow, state: 'ok' | 'failed' | 'stopped'): void {
    row.state = state;
    row.endedAt = this.now();
    row.stopped = state === 'stopped';
    if (state === 'stopped') {
      row.task.message$ = { skip: this.textOf(row) };
      row.task.state$ = this.states.SKIPPED;
    } else {
      row.task.state$ = state === 'ok' ? this.states.COMPLETED : this.states.FAILED;
    }
  }

  /** Every row's text again: elapsed times tick, and a wider key re-aligns the others. */
  private retitle(): void {
    for (const row of this.rows.values()) {
      row.elapsedMs = (row.endedAt ?? this.now()) - row.startedAt;
      const text = this.textOf(row);
      if (row.task.title !== text) row.task.title$ = text;
      if (row.state === 'stopped' && row.task.message.skip !== text) row.task.message$ = { skip: text };
    }
  }

  private textOf(row: LiveRow): string {
    const keyWidth = Math.max(...[...this.rows.keys()].map((key) => key.length));
    return rowText(row, keyWidth, process.stderr.columns);
  }
}

/** The first line of an error, for the row it failed. */
export function failureText(error: unknown): string {
  return firstLine(error instanceof Error ? error.message : String(error));
}
