import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { engineFlag, LblabCommand } from '../cli/base-command.js';
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
    '<%= config.bin %> verify topologies/ecmp-lvs-dr.yml --json',
  ];
  static override args = { file: Args.string({ description: 'topology file', required: true }) };
  static override flags = {
    engine: engineFlag,
    name: Flags.string({ description: "lab name (default: the file's name:)" }),
    junit: Flags.string({
      description: 'also write the result as JUnit XML to this file (one testcase per step)',
    }),
  };

  async run(): Promise<VerifyReport> {
    const { args, flags } = await this.parse(Verify);
    const engine = await this.engineWithLab(flags.engine, await labNameFor(args.file, flags.name));
    const [{ describeVerifyProgress, writeJunit }, { verifyLab }, { renderHumanReport }] = await Promise.all([
      import('../cli/verify-output.js'),
      import('../lab/lab.js'),
      import('../verify/render-report.js'),
    ]);
    // Ctrl-C stops the run between steps; the faults the steps injected are undone before it exits.
    const interrupt = abortOnSignals(() =>
      this.logToStderr('interrupted twice: leaving at once; faults injected by verify may remain'),
    );
    let report: VerifyReport;
    try {
      report = await verifyLab(engine, args.file, {
        labName: flags.name,
        signal: interrupt.signal,
        onProgress: (event) => {
          const line = describeVerifyProgress(event);
          if (line) this.progress(line);
        },
      });
    } finally {
      interrupt.dispose();
    }
    await writeJunit(flags.junit, report);
    if (!this.jsonEnabled()) this.log(renderHumanReport(report));
    if (!report.ok) process.exitCode = 1;
    return report;
  }
}
