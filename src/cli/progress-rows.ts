/**
 * What the long commands' events become on a progress display: a row per node for `up` (the lab-wide
 * stages as rows of their own), per student for `class up`, per stage for the sandbox's start. Each
 * also gives the plain line lblab always printed for the event, word for word.
 */
import type { ProgressEvent } from '../apply/apply.js';
import { LabError } from '../core/errors.js';
import { InterruptedError } from '../util/interrupt.js';
import { failureText, type ProgressDisplay } from './progress-display.js';

/** Rows that follow one another: starting one finishes the one before (it went well, or it would have thrown). */
export class RowSequence {
  private currentKey: string | undefined;

  constructor(private readonly display: ProgressDisplay) {}

  get current(): string | undefined {
    return this.currentKey;
  }

  show(key: string, message: string, plain: string | null = message): void {
    if (this.currentKey !== key) this.finish();
    this.currentKey = key;
    this.display.update(key, key, message, plain);
  }

  /** The current row is done; `message` replaces its last one. */
  finish(message?: string, plain: string | null = null): void {
    if (this.currentKey === undefined) return;
    this.display.done(this.currentKey, true, message, plain);
    this.currentKey = undefined;
  }

  /** The current row (or `key`) failed with this error; an interrupt only stops it (close says so). */
  fail(error: unknown, key = this.currentKey): void {
    if (error instanceof InterruptedError || key === undefined) return;
    this.display.done(key, false, failureText(error), null);
    if (key === this.currentKey) this.currentKey = undefined;
  }
}

/** Where a line from starting the sandbox or preparing images belongs; undefined: the row before. */
export function sandboxRowOf(line: string): string | undefined {
  const load = /^Load(?:ing|ed) (\S+)/.exec(line);
  if (load) return `load ${load[1]}`;
  if (/^The sandbox is already running/.test(line)) return 'sandbox';
  if (/^Installing .* with apt-get/.test(line)) return 'host tools';
  if (/^(Building the sandbox guest root|Creating the guest's Docker disk)/.test(line)) return 'guest root';
  if (/^Booting the sandbox guest/.test(line)) return 'boot';
  if (/^(Looking for a container registry|Building lblab\/|No container registry reachable)/.test(line))
    return 'node image';
  return undefined;
}

/** A copy of an image under way, as a row's message: bytes sent and the rate so far. */
export function describeTransfer(bytes: number, seconds: number): string {
  const mb = bytes / 2 ** 20;
  const rate = seconds > 0 ? mb / seconds : 0;
  return `${mb.toFixed(1)} MB sent, ${rate.toFixed(1)} MB/s`;
}

/**
 * Lines (the sandbox's start, image preparation, engine selection) as a sequence of stage rows,
 * with `fallback` for lines before any stage. Every line is printed as it is when plain.
 */
export class StageRows {
  readonly sequence: RowSequence;

  constructor(
    private readonly display: ProgressDisplay,
    private readonly fallback: string,
  ) {
    this.sequence = new RowSequence(display);
  }

  line(line: string): void {
    const key = sandboxRowOf(line) ?? this.sequence.current ?? this.fallback;
    if (/^Loaded /.test(line)) {
      this.sequence.show(key, line, line);
      this.sequence.finish();
      return;
    }
    this.sequence.show(key, line.trim(), line);
  }

  /** An image copy's progress: only on the live rows (plain output keeps its Loading and Loaded lines). */
  transfer(ref: string, bytes: number, seconds: number): void {
    this.sequence.show(`load ${ref}`, describeTransfer(bytes, seconds), null);
  }

  finish(): void {
    this.sequence.finish();
  }

  fail(error: unknown): void {
    this.sequence.fail(error);
  }
}

const LAB_ROW: Record<string, string> = { network: 'networks' };

/** `up`'s events: a row per node, the lab-wide stages (image, preflight, networks, teardown) in sequence. */
export class UpRows {
  private readonly stages: RowSequence;

  constructor(private readonly display: ProgressDisplay) {
    this.stages = new RowSequence(display);
  }

  event(event: ProgressEvent): void {
    const plain = `${event.node ? `${event.node}: ` : ''}${event.stage}: ${event.message}`;
    if (event.node === undefined) {
      this.stages.show(LAB_ROW[event.stage] ?? event.stage, event.message, plain);
      return;
    }
    // The nodes come after every lab-wide stage but teardown.
    this.stages.finish();
    if (event.stage === 'ready') this.display.done(event.node, true, `ready: ${event.message}`, plain);
    else this.display.update(event.node, event.stage, event.message, plain);
  }

  /** Marks the row that failed: the node a LabError names, else the lab-wide stage under way. */
  fail(error: unknown): void {
    if (error instanceof InterruptedError) {
      if (this.stages.current === 'teardown') this.stages.finish(); // the rollback ran; then up stopped
      return;
    }
    if (error instanceof LabError) {
      // A rollback that finished before the error reached here went well; a failed one is the error.
      if (this.stages.current === 'teardown' && error.stage !== 'teardown') this.stages.finish();
      // Its message starts with the node and the stage, which the row already says.
      const node = error.options.node;
      const text = failureText(error);
      if (node !== undefined) {
        this.display.done(node, false, withoutPrefix(text, `${node}: `), null);
        return;
      }
      const key = this.stages.current ?? LAB_ROW[error.stage] ?? error.stage;
      this.display.done(key, false, withoutPrefix(text, `${error.stage}: `), null);
      return;
    }
    this.stages.fail(error, this.stages.current ?? 'up');
  }
}

function withoutPrefix(text: string, prefix: string): string {
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

/** `class up`: a row per student with what their lab does now; the node image's row first. */
export class ClassRows {
  private done = 0;
  private readonly image: RowSequence;

  constructor(
    private readonly display: ProgressDisplay,
    private readonly total: number,
  ) {
    this.image = new RowSequence(display);
  }

  /** Plain output keeps to the class's own lines (the node image); a student's go to their row only. */
  progress(student: string, line: string): void {
    if (student === 'class') {
      this.image.show('node image', line, line);
      return;
    }
    this.image.finish();
    this.display.update(student, '', line, null);
  }

  studentDone(result: { student: string; ok: boolean; ms: number; error?: string }): void {
    this.done += 1;
    const what = result.ok
      ? `up and broken in ${(result.ms / 1000).toFixed(1)} s`
      : `FAILED: ${result.error}`;
    this.display.done(
      result.student,
      result.ok,
      result.ok ? 'up and broken' : `FAILED: ${failureText(result.error)}`,
      `[${this.done}/${this.total}] ${result.student}: ${what}`,
    );
  }

  fail(error: unknown): void {
    this.image.fail(error);
  }
}
