import * as Args from '@oclif/core/args';
import { LblabCommand } from '../cli/base-command.js';
import { openTopology } from '../topology/open.js';

export interface ValidateResult {
  file: string;
  lab: string;
  nodes: number;
  networks: number;
  verifySteps: number;
}

export default class Validate extends LblabCommand {
  static override summary = 'Check a topology file (schema and semantics) without touching Docker.';
  static override examples = [
    '<%= config.bin %> validate topologies/ecmp-lvs-dr.yml',
    '<%= config.bin %> validate lab.yml --json',
  ];
  static override args = { file: Args.string({ description: 'topology file', required: true }) };

  async run(): Promise<ValidateResult> {
    const { args } = await this.parse(Validate);
    const { config } = await openTopology(args.file);
    const result = {
      file: args.file,
      lab: config.name,
      nodes: Object.keys(config.topology.nodes).length,
      networks: Object.keys(config.topology.networks).length,
      verifySteps: config.verify?.length ?? 0,
    };
    this.log(
      `${args.file}: valid (lab ${result.lab}: ${result.nodes} nodes, ${result.networks} network(s), ${result.verifySteps} verify steps)`,
    );
    return result;
  }
}
