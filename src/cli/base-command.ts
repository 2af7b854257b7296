/**
 * Shared behaviour of lblab's commands: --json, --verbose, --engine, and errors that say where
 * (file:line:col) and what to do next, with exit codes a script can rely on.
 */
// Sub-path imports: the '@oclif/core' index loads all of oclif (and all of semver) up front.
import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import type * as Interfaces from '@oclif/core/interfaces';
import { LabError } from '../core/errors.js';
import { InterruptedError } from '../util/interrupt.js';
import type { Engine, EngineChoice } from '../runtime/engine.js';
import { TopologyError } from '../core/issue.js';
import { enableVerbose } from '../util/log.js';
import { openProgress, type ProgressDisplay } from './progress-display.js';
import { StageRows } from './progress-rows.js';

/** `--engine`, with what `auto` means for the command. */
export function engineFlagWhere(auto: string) {
  return Flags.string({
    description: `Which Docker engine runs the lab: docker (the host engine), sandbox (lblab's UML guest with IPVS), or auto (${auto}).`,
    options: ['auto', 'docker', 'sandbox'],
    default: process.env.LBLAB_ENGINE ?? 'auto',
    // Help shows the default of this run, not the one oclif.manifest.json recorded at build time.
    defaultHelp: async () => process.env.LBLAB_ENGINE ?? 'auto',
    env: 'LBLAB_ENGINE',
  });
}

export const engineFlag = engineFlagWhere('IPVS wherever possible');

/** For a lab brought up across a pool's engines (`up --pool FILE`): the same pool file. */
export const labPoolFlag = Flags.string({
  description: 'the pool file the lab was brought up across (up --pool): its engines as one lab',
  exclusive: ['engine'],
});

export abstract class LblabCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    verbose: Flags.boolean({
      description: 'Log every Docker call and exec with its duration (same as DEBUG=lblab*).',
    }),
  };

  protected override async init(): Promise<void> {
    await super.init();
    if (this.argv.includes('--verbose')) enableVerbose();
  }

  private readonly displays: ProgressDisplay[] = [];

  /**
   * The progress display of a long command (cli/progress-display.ts): rows redrawn in place on a
   * terminal, else the plain lines `progress` prints, nothing with --json. It is closed at the
   * latest when the command ends, before an error is printed.
   */
  protected async openProgress(title: string): Promise<ProgressDisplay> {
    const display = await openProgress({ title, json: this.jsonEnabled() });
    this.displays.push(display);
    return display;
  }

  /**
   * The engine `up` uses: where the lab already runs, else the one `--engine` selects (maybe starting
   * it). Its progress goes to `display` (rows for the sandbox's stages) when given, else to `progress`.
   * `choice` may come with `why`: the reason to print when it was derived (an exercise's auto).
   */
  protected async engineForUp(
    choice: string | { choice: string; why?: string },
    lab: string,
    display?: ProgressDisplay,
  ): Promise<Engine> {
    const asked = typeof choice === 'string' ? { choice } : choice;
    const rows = display ? new StageRows(display, 'engine') : undefined;
    const progress = (line: string): void => (rows ? rows.line(line) : this.progress(line));
    try {
      const existing =
        asked.choice === 'auto'
          ? await this.engineWithLab(asked.choice, lab).catch(() => undefined)
          : undefined;
      const { engineForUp } = await import('../lab/select-engine.js');
      const engine = existing ?? (await engineForUp(asked.choice as EngineChoice, progress));
      const why = existing ? `lab ${lab} already runs there` : (asked.why ?? engine.reason);
      if (rows) {
        rows.sequence.show('engine', `${engine.name} (${why})`, `engine: ${engine.name} (${why})`);
        rows.finish();
      } else this.progress(`engine: ${engine.name} (${why})`);
      return engine;
    } catch (error) {
      rows?.fail(error);
      throw error;
    }
  }

  /** One engine over every member of a pool file (a lab across engines); starts the sandbox if listed. */
  protected async poolEngineForUp(file: string, display?: ProgressDisplay): Promise<Engine> {
    const rows = display ? new StageRows(display, 'engine') : undefined;
    const progress = (line: string): void => (rows ? rows.line(line) : this.progress(line));
    try {
      const { poolLabEngine } = await import('../lab/pool-lab.js');
      const engine = await poolLabEngine(file, { start: true, onProgress: progress });
      if (rows) {
        rows.sequence.show(
          'engine',
          `${engine.name} (${engine.reason})`,
          `engine: ${engine.name} (${engine.reason})`,
        );
        rows.finish();
      } else this.progress(`engine: ${engine.name} (${engine.reason})`);
      return engine;
    } catch (error) {
      rows?.fail(error);
      throw error;
    }
  }

  /** Engines that exist now (host, and the sandbox if running); never starts one. */
  protected async engines(choice: string): Promise<Engine[]> {
    // Loaded on demand: validate and plan never touch an engine and should start fast.
    const { enginesInUse } = await import('../lab/select-engine.js');
    return enginesInUse(choice as EngineChoice);
  }

  /** The pool file's engines that answer (a warning for each that does not), else engines(choice). */
  protected async enginesOrPool(choice: string, pool: string | undefined): Promise<Engine[]> {
    if (!pool) return this.engines(choice);
    const { reachablePoolEngines } = await import('./class-engines.js');
    return reachablePoolEngines(pool, (line) => this.logToStderr(line));
  }

  /**
   * The engine a running lab is on, or an error that says where lblab looked; with `pool`, the pool's
   * engines as one (a lab brought up with up --pool).
   */
  protected async engineWithLab(choice: string, lab: string, pool?: string): Promise<Engine> {
    const { labStatus } = await import('../lab/lab.js');
    if (pool !== undefined) {
      const { poolLabEngine } = await import('../lab/pool-lab.js');
      const engine = await poolLabEngine(pool);
      if ((await labStatus(engine, lab)).length > 0) return engine;
      throw new LabError('preflight', `lab ${lab} is not up across the engines of ${pool}`, {
        hint: `start it with \`lblab up FILE --pool ${pool}\``,
      });
    }
    const engines = await this.engines(choice);
    for (const engine of engines) {
      if ((await labStatus(engine, lab)).length > 0) return engine;
    }
    if (choice === 'auto') {
      // A student's lab of a class spread over a pool may be on a member that is not local.
      const { recordedPoolPlacement } = await import('../classroom/class.js');
      const placed = await recordedPoolPlacement(lab);
      if (placed) {
        const { reachablePoolEngines } = await import('./class-engines.js');
        const [member] = await reachablePoolEngines(
          placed.pool,
          (line) => this.logToStderr(line),
          new Set([placed.member]),
        );
        if (member && (await labStatus(member, lab)).length > 0) return member;
      }
    }
    throw new LabError('preflight', `lab ${lab} is not up on ${engines.map((e) => e.name).join(' or ')}`, {
      hint: 'start it with `lblab up FILE`, or pick the engine with --engine',
    });
  }

  /** Progress for humans goes to stderr, so stdout stays the result (and clean JSON with --json). */
  protected progress(line: string): void {
    if (!this.jsonEnabled()) this.logToStderr(line);
  }

  protected override async catch(error: Interfaces.CommandError): Promise<void> {
    this.closeProgress(error);
    const exitCode = error instanceof InterruptedError ? error.exitCode : 1;
    if (this.jsonEnabled()) {
      this.logJson({ error: this.describeError(error) });
      this.exit(exitCode);
    }
    if (error instanceof TopologyError) {
      this.logToStderr(error.message);
      this.exit(1);
    }
    if (error instanceof LabError || error instanceof InterruptedError) {
      this.logToStderr(`Error: ${error.message}`);
      const hint = error instanceof LabError ? error.hint : 'nothing is left behind; run it again when ready';
      if (hint) this.logToStderr(`Try this: ${hint}`);
      this.exit(exitCode);
    }
    if ((error as { oclif?: { exit?: number } }).oclif?.exit !== undefined) throw error; // oclif's own exits, flag errors
    this.logToStderr(`Error: ${error.message}`);
    this.exit(1);
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    this.closeProgress(error);
    await super.finally(error);
  }

  /** Rows left drawing would hold stderr (and the process) past the command's end. */
  private closeProgress(error?: unknown): void {
    for (const display of this.displays.splice(0)) display.close(error);
  }

  private describeError(error: Error): Record<string, unknown> {
    if (error instanceof TopologyError) return { type: 'topology', file: error.file, issues: error.issues };
    if (error instanceof LabError) {
      return {
        type: 'lab',
        stage: error.stage,
        node: error.options.node,
        message: error.message,
        hint: error.hint,
      };
    }
    if (error instanceof InterruptedError)
      return { type: 'interrupted', signal: error.signal, message: error.message };
    return { type: 'error', message: error.message };
  }
}
