import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { engineFlag, labPoolFlag, LblabCommand } from '../cli/base-command.js';
import { labNameFor } from '../cli/lab-name.js';
import { abortOnSignals } from '../cli/signals.js';
import type { VerifyReport } from '../verify/report.js';
import { stepTypeNames } from '../verify/steps.js';

export default class Verify extends LblabCommand {
  static override summary =
    "Run the experiment declared in the topology's verify: steps against the running lab.";
  static override description = `Steps run in order (${stepTypeNames().join(', ')}); the exit code is 0 only when every expectation held.`;
  static override examples = [
    '<%= config.bin %> verify topologies/ecmp-lvs-dr.yml',
    '<%= config.bin %> verify topologies/ecmp-lvs-dr.yml --junit reports/verify.xml',
    '<%= config.bin %> verify topologies/ecmp-lvs-dr.yml --html reports/verify.html',
    '<%= config.bin %> verify topologies/ecmp-lvs-dr.yml --json',
    '<%= config.bin %> verify topologies/ecmp-lvs-dr.yml --pool pool.yml',
  ];
  static override args = { file: Args.string({ description: 'topology file', required: true }) };
  static override flags = {
    engine: engineFlag,
    pool: labPoolFlag,
    name: Flags.string({ description: "lab name (default: the file's name:)" }),
    junit: Flags.string({
      description: 'also write the result as JUnit XML to this file (one testcase per step)',
    }),
    html: Flags.string({
      description:
        'also write the result as one HTML page: the lab, the steps, charts of the tallies and timelines',
    }),
  };

  async run(): Promise<VerifyReport> {
    // First: a Ctrl-C while the engine is being found must not kill the run before it can undo.
    const interrupt = abortOnSignals(() =>
      this.logToStderr('interrupted twice: leaving at once; faults injected by verify may remain'),
    );
    try {
      return await this.verify(interrupt);
    } finally {
      interrupt.dispose();
    }
  }

  private async verify(interrupt: { signal: AbortSignal }): Promise<VerifyReport> {
    const { args, flags } = await this.parse(Verify);
    const engine = await this.engineWithLab(
      flags.engine,
      await labNameFor(args.file, flags.name),
      flags.pool,
    );
    const [{ verifyUntilInterrupted, writeJunit, writeHtml, labGraphSvg }, { renderHumanReport }] =
      await Promise.all([import('../cli/verify-output.js'), import('../verify/render-report.js')]);
    const report = await verifyUntilInterrupted(
      engine,
      args.file,
      flags.name,
      { progress: (line) => this.progress(line), warn: (line) => this.logToStderr(line) },
      interrupt,
    );
    await writeJunit(flags.junit, report);
    await writeHtml(flags.html, report, () => labGraphSvg(engine, args.file, flags.name));
    if (!this.jsonEnabled()) this.log(renderHumanReport(report));
    if (!report.ok) process.exitCode = 1;
    return report;
  }
}
