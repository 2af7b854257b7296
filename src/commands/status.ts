import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { engineFlag, LblabCommand } from '../cli/base-command.js';
import { labNameFor } from '../cli/lab-name.js';
import { poolFlag } from '../cli/class-engines.js';
import type { NodeStatus } from '../lab/lab.js';
import { formatTable } from '../util/text.js';

export type EngineNodeStatus = NodeStatus & { engine: string };

export interface StatusResult {
  /** The engines that were looked at, and why each is there. */
  engines: { name: string; reason: string }[];
  nodes: EngineNodeStatus[];
}

export default class Status extends LblabCommand {
  static override summary = "Show a lab's nodes: kind, image, state, addresses, director data plane.";
  static override examples = [
    '<%= config.bin %> status topologies/ecmp-lvs-dr.yml',
    '<%= config.bin %> status --all',
    '<%= config.bin %> status --name ecmp-lvs-dr --json',
  ];
  static override args = {
    file: Args.string({ description: 'topology file (optional with --name or --all)' }),
  };
  static override flags = {
    engine: engineFlag,
    pool: poolFlag,
    name: Flags.string({ description: 'lab name' }),
    all: Flags.boolean({
      description: 'every lblab lab on the engines looked at (with --pool: every engine of the pool)',
      exclusive: ['name'],
    }),
  };

  async run(): Promise<StatusResult> {
    const { args, flags } = await this.parse(Status);
    const lab =
      flags.all || (!args.file && !flags.name) ? undefined : await labNameFor(args.file, flags.name);
    const engines = await this.enginesOrPool(flags.engine, flags.pool);
    const { labStatus } = await import('../lab/lab.js');
    const nodes: EngineNodeStatus[] = [];
    for (const engine of engines) {
      nodes.push(...(await labStatus(engine, lab)).map((node) => ({ ...node, engine: engine.name })));
    }
    const rows = [
      ['LAB', 'ENGINE', 'NODE', 'KIND', 'DATA PLANE', 'STATE', 'IPV4', 'IMAGE'],
      ...nodes.map((n) => [
        n.lab,
        n.engine,
        n.node,
        n.kind,
        n.dataPlane ?? '',
        n.state,
        Object.values(n.addresses).join(','),
        n.image,
      ]),
    ];
    const where = engines.map((engine) => engine.name).join(' or ');
    if (nodes.length === 0)
      this.log(lab ? `lab ${lab} is not up on ${where}` : `no lblab lab is up on ${where}`);
    else this.log(formatTable(rows).join('\n'));
    return { engines: engines.map(({ name, reason }) => ({ name, reason })), nodes };
  }
}
