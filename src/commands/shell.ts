import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { engineFlag, labPoolFlag, LblabCommand } from '../cli/base-command.js';
import { dockerExecArgs, resolveLab, runDockerCli, runningNodeContainer } from '../cli/node-shell.js';

export default class Shell extends LblabCommand {
  static override summary = "Open a shell in a lab node (bash, else sh) and exit with the shell's exit code.";
  static override description =
    'Runs `docker exec` against the engine that holds the node, with a terminal when stdin is one; ' +
    'without one, commands can be piped in. After `--`, runs that command instead of the shell.';
  static override examples = [
    '<%= config.bin %> shell topologies/ecmp-lvs-dr.yml router',
    '<%= config.bin %> shell --name ecmp-lvs-dr lb1 -- vtysh',
    '<%= config.bin %> shell dr-arp web1 --student alice',
    '<%= config.bin %> shell topologies/ecmp-lvs-dr.yml lb1 --pool pool.yml',
    'echo "ip -br addr" | <%= config.bin %> shell topologies/ecmp-lvs-dr.yml server1',
  ];
  static override strict = false;
  // ignoreStdin: oclif would fill an argument left out (NODE with --name) from piped stdin, the shell's input.
  static override args = {
    file: Args.string({ description: 'topology file (or use --name)', ignoreStdin: true }),
    node: Args.string({ description: 'node name', ignoreStdin: true }),
  };
  static override flags = {
    engine: engineFlag,
    pool: labPoolFlag,
    name: Flags.string({ description: 'lab name' }),
    student: Flags.string({
      description: "with an exercise's name instead of FILE: the student whose lab it is",
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Shell);
    if (this.jsonEnabled())
      this.error('a shell has no JSON result; for that, use `lblab exec FILE NODE --json -- CMD`', {
        exit: 2,
      });
    const words = argv as string[];
    const [file, node, ...command] = flags.name ? ['', ...words] : words;
    if (!node) this.error('usage: lblab shell FILE|EXERCISE NODE [--student ID] [-- CMD...]', { exit: 2 });
    const lab = await resolveLab({ file }, flags);
    const engine = await this.engineWithLab(flags.engine, lab, flags.pool);
    const container = await runningNodeContainer(engine, lab, node);
    const args = dockerExecArgs(container, command, process.stdin.isTTY === true);
    this.exit(await runDockerCli(args, await engine.runtime.endpointOf(container)));
  }
}
