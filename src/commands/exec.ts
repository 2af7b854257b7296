import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { engineFlag, labPoolFlag, LblabCommand } from '../cli/base-command.js';
import { labNameFor } from '../cli/lab-name.js';
import type { ExecResult } from '../core/runtime.js';

export default class Exec extends LblabCommand {
  static override summary = 'Run a command in a lab node and exit with its exit code.';
  static override examples = [
    '<%= config.bin %> exec topologies/ecmp-lvs-dr.yml router -- vtysh -c "show ip route ospf"',
    '<%= config.bin %> exec topologies/ecmp-lvs-dr.yml router -- curl -si http://172.16.253.100:8080/',
    '<%= config.bin %> exec --name ecmp-lvs-dr lb1 --json -- ipvsadm -Ln --stats',
  ];
  static override strict = false;
  static override args = {
    file: Args.string({ description: 'topology file (or use --name)' }),
    node: Args.string({ description: 'node name' }),
  };
  static override flags = {
    engine: engineFlag,
    pool: labPoolFlag,
    name: Flags.string({ description: 'lab name' }),
  };

  async run(): Promise<ExecResult> {
    const { argv, flags } = await this.parse(Exec);
    const words = argv as string[];
    const [file, node, ...command] = flags.name ? ['', ...words] : words;
    if (!node || command.length === 0) this.error('usage: lblab exec FILE NODE -- CMD...', { exit: 2 });
    const lab = await labNameFor(file || undefined, flags.name);
    const engine = await this.engineWithLab(flags.engine, lab, flags.pool);
    const { labStatus } = await import('../lab/lab.js');
    const target = (await labStatus(engine, lab)).find((status) => status.node === node);
    if (!target)
      this.error(
        `node ${node} of lab ${lab} is not running; is the lab up? (lblab status ${file ?? `--name ${lab}`})`,
      );
    const result = await engine.runtime.exec(target.container, command);
    if (!this.jsonEnabled()) {
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      this.exit(result.exitCode);
    }
    return result;
  }
}
