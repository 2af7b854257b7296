import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { LabError } from '../core/errors.js';
import { engineFlag, LblabCommand } from '../cli/base-command.js';
import { labNameFor } from '../cli/lab-name.js';
import type { ProgressDisplay } from '../cli/progress-display.js';
import { UpRows } from '../cli/progress-rows.js';
import { abortOnSignals } from '../cli/signals.js';
import type { UpResult } from '../lab/lab.js';
import { labNamePattern } from '../topology/schema.js';
import { shellQuote } from '../util/shell.js';
import type { VerifyReport } from '../verify/report.js';
import type { Interfaces } from '@oclif/core';
import type { Engine } from '../runtime/engine.js';

/** `up --json` output: the lab, and with --verify the experiment's report. */
export type UpCommandResult = UpResult & { verify?: VerifyReport };

type UpFlags = Interfaces.InferredFlags<typeof Up.flags>;

export default class Up extends LblabCommand {
  static override summary = 'Build missing images, create the lab, configure it and wait until it is ready.';
  static override description =
    'All or nothing: if any stage fails (or you press Ctrl-C) everything this lab created is removed. ' +
    'Running it again on an unchanged lab that is up does nothing.';
  static override examples = [
    '<%= config.bin %> up topologies/ecmp-lvs-dr.yml',
    '<%= config.bin %> up topologies/ecmp-lvs-dr.yml --verify --junit reports/verify.xml',
    '<%= config.bin %> up topologies/ecmp-lvs-dr.yml --verify --html reports/verify.html',
    '<%= config.bin %> up topologies/ecmp-lvs-dr.yml --timings',
    '<%= config.bin %> up topologies/ecmp-lvs-dr.yml --name copy2 --isolate',
    '<%= config.bin %> up topologies/ecmp-lvs-dr.yml --name lab2 --engine docker --json',
    '<%= config.bin %> up topologies/ecmp-lvs-dr.yml --pool pool.yml --verify',
  ];
  static override args = { file: Args.string({ description: 'topology file', required: true }) };
  static override flags = {
    engine: engineFlag,
    pool: Flags.string({
      description:
        "run the lab across the engines of a pool file (each node where its placement: says, directors needing IPVS on an engine that has it); networks between engines become Swarm overlays, and down --pool puts each engine's Swarm state back",
      exclusive: ['engine'],
    }),
    name: Flags.string({
      description: "lab name (default: the file's name:); lets two copies run side by side",
    }),
    force: Flags.boolean({ description: 'recreate the lab if it is already up' }),
    isolate: Flags.boolean({
      description:
        'lblab, not Docker, assigns the lab addresses, so copies of a lab can share subnets (use with --name)',
    }),
    timings: Flags.boolean({ description: 'print how long each stage took' }),
    'keep-on-failure': Flags.boolean({
      description: 'if setup or readiness fails, leave the lab up to look inside (instead of rolling back)',
    }),
    verify: Flags.boolean({
      description: "then run the topology's verify: steps (exit 1 if an expectation fails)",
    }),
    junit: Flags.string({ description: 'with --verify: also write the result as JUnit XML to this file' }),
    html: Flags.string({
      description: 'with --verify: also write the result as one HTML page (the lab, steps, charts)',
      dependsOn: ['verify'],
    }),
  };

  async run(): Promise<UpCommandResult> {
    const { args, flags } = await this.parse(Up);
    if (flags.name !== undefined && !labNamePattern().test(flags.name)) {
      throw new LabError('preflight', `--name ${JSON.stringify(flags.name)} is not a valid lab name`, {
        hint: "use lowercase letters, digits and '-', starting with a letter, at most 31 characters",
      });
    }
    const lab = await labNameFor(args.file, flags.name);
    const display = await this.openProgress(`lblab up ${lab}`);
    const engine = flags.pool
      ? await this.poolEngineForUp(flags.pool, display)
      : await this.engineForUp(flags.engine, lab, display);
    // With --name, `down FILE` would name the file's lab, not this one.
    const downCommand = `lblab down ${flags.name ? `--name ${lab}` : shellQuote(args.file)}`;
    let verifying = false;
    // One handler from here to the end: a signal between up and its experiment still finds one.
    const interrupt = abortOnSignals(() =>
      this.logToStderr(
        verifying
          ? 'interrupted twice: leaving at once; faults injected by verify may remain'
          : `interrupted twice: leaving at once; clean up with: ${downCommand}`,
      ),
    );
    try {
      return await this.upAndVerify(args, flags, engine, display, interrupt, () => (verifying = true));
    } finally {
      display.close();
      interrupt.dispose();
    }
  }

  private async upAndVerify(
    args: { file: string },
    flags: UpFlags,
    engine: Engine,
    display: ProgressDisplay,
    interrupt: { signal: AbortSignal },
    startVerifying: () => void,
  ): Promise<UpCommandResult> {
    const { upLab } = await import('../lab/lab.js');
    const rows = new UpRows(display);
    const result = await upLab(engine, args.file, {
      labName: flags.name,
      force: flags.force,
      keepOnFailure: flags['keep-on-failure'],
      isolate: flags.isolate,
      signal: interrupt.signal,
      onProgress: (event) => rows.event(event),
    }).catch((error: unknown) => {
      rows.fail(error);
      display.close(error);
      throw error;
    });
    display.close(); // the rows stay as a summary; what follows are lines
    for (const warning of result.warnings) display.line(`warning: ${warning}`);
    const planes = Object.entries(result.dataPlanes)
      .map(([node, plane]) => `${node}=${plane}`)
      .join(', ');
    this.log(
      result.outcome === 'unchanged'
        ? `lab ${result.lab} is already up and unchanged; nothing to do`
        : `lab ${result.lab} is up on ${result.engine} (${result.plan.nodes.length} nodes${planes ? `; directors: ${planes}` : ''}) in ${(result.timings.totalMs / 1000).toFixed(1)} s`,
    );
    let verify: VerifyReport | undefined;
    if (flags.verify) {
      const [{ verifyUntilInterrupted, writeJunit, writeHtml, labGraphSvg }, { renderHumanReport }] =
        await Promise.all([import('../cli/verify-output.js'), import('../verify/render-report.js')]);
      // Ctrl-C during the experiment: the steps' faults are undone, the lab itself stays up.
      startVerifying();
      verify = await verifyUntilInterrupted(
        engine,
        args.file,
        flags.name,
        { progress: (line) => display.line(line), warn: (line) => this.logToStderr(line) },
        interrupt,
      );
      await writeJunit(flags.junit, verify);
      await writeHtml(flags.html, verify, () => labGraphSvg(engine, args.file, flags.name));
      if (!this.jsonEnabled()) this.log(`\n${renderHumanReport(verify)}`);
      if (!verify.ok) process.exitCode = 1;
    }
    if (flags.timings) {
      const stages = { ...result.timings, ...(verify ? { verifyMs: verify.durationMs } : {}) };
      for (const [stage, ms] of Object.entries(stages))
        this.log(`  ${stage.padEnd(14)} ${(ms / 1000).toFixed(2)} s`);
    }
    return { ...result, ...(verify ? { verify } : {}) };
  }
}
