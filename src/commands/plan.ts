import { Args, Flags } from '@oclif/core';
import { LblabCommand } from '../cli/base-command.js';
import { nodeImageRef } from '../images/node-image.js';
import { planTopology } from '../plan/compile.js';
import { openTopology } from '../topology/open.js';
import type { Plan } from '../plan/plan.js';
import { renderPlan } from '../plan/render-plan.js';

export default class PlanCommand extends LblabCommand {
  static override summary = 'Print exactly what `up` would create, without touching Docker.';
  static override description =
    'Networks, containers (image, IPs, MACs, capabilities, sysctls), files, setup commands and readiness checks. ' +
    'Whether directors get IPVS depends on the engine: pass --ipvs or --no-ipvs to see either plan (default: no IPVS, the host kernel here).';
  static override examples = [
    '<%= config.bin %> plan topologies/ecmp-lvs-dr.yml',
    '<%= config.bin %> plan topologies/ecmp-lvs-dr.yml --ipvs --files',
    '<%= config.bin %> plan topologies/ecmp-lvs-dr.yml --json',
  ];
  static override args = { file: Args.string({ description: 'topology file', required: true }) };
  static override flags = {
    name: Flags.string({ description: "lab name (default: the file's name:)" }),
    ipvs: Flags.boolean({
      description: 'plan for an engine whose kernel has IPVS',
      allowNo: true,
      default: false,
    }),
    files: Flags.boolean({ description: 'also print the content of every file written into the nodes' }),
  };

  async run(): Promise<Plan> {
    const { args, flags } = await this.parse(PlanCommand);
    const topology = await openTopology(args.file);
    const plan = planTopology(topology, {
      labName: flags.name,
      defaultImage: await nodeImageRef(),
      facts: flags.ipvs ? { ipvs: true } : { ipvs: false, ipvsReason: 'planned with --no-ipvs' },
    });
    this.log(renderPlan(plan, { files: flags.files }));
    return plan;
  }
}
