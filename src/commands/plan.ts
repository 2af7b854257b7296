import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { engineFlag, LblabCommand } from '../cli/base-command.js';
import type { EngineChoice } from '../runtime/engine.js';
import type { Plan } from '../core/plan.js';

export default class PlanCommand extends LblabCommand {
  static override summary = 'Print exactly what `up` would create, without touching Docker.';
  static override description =
    'Networks, containers (image, IPs, MACs, capabilities, sysctls), files, setup commands and readiness checks, ' +
    'for the engine `up --engine` would pick (auto: the host engine if its kernel has IPVS, else the sandbox), ' +
    'with the data plane and timers `up` would use there. --ipvs / --no-ipvs plan as if the kernel had IPVS or not.';
  static override examples = [
    '<%= config.bin %> plan topologies/ecmp-lvs-dr.yml',
    '<%= config.bin %> plan topologies/ecmp-lvs-dr.yml --engine docker --files',
    '<%= config.bin %> plan topologies/ecmp-lvs-dr.yml --json',
    '<%= config.bin %> plan topologies/ecmp-lvs-dr.yml --pool pool.yml',
  ];
  static override args = { file: Args.string({ description: 'topology file', required: true }) };
  static override flags = {
    name: Flags.string({ description: "lab name (default: the file's name:)" }),
    engine: engineFlag,
    ipvs: Flags.boolean({
      description: "plan as if the engine's kernel had IPVS (--no-ipvs: as if it had not)",
      allowNo: true,
    }),
    files: Flags.boolean({ description: 'also print the content of every file written into the nodes' }),
    pool: Flags.string({
      description:
        "plan the lab across the engines of a pool file, as `up --pool` runs it (the sandbox's kernel taken as having IPVS, a remote one's as not)",
      exclusive: ['engine', 'ipvs'],
    }),
  };

  async run(): Promise<Plan> {
    const { args, flags } = await this.parse(PlanCommand);
    const [{ openTopology }, { planTopology }, { renderPlan }, { nodeImageRef }] = await Promise.all([
      import('../topology/open.js'),
      import('../plan/compile.js'),
      import('../plan/render-plan.js'),
      import('../images/node-image.js'),
    ]);
    const topology = await openTopology(args.file);
    if (flags.pool) {
      const { plannedPoolFacts, placementIssues } = await import('../lab/pool-lab.js');
      const { directorsWantingIpvs } = await import('../lab/lab.js');
      const facts = await plannedPoolFacts(flags.pool);
      const misplaced = topology.locate(
        placementIssues(topology.config, facts.members, directorsWantingIpvs(topology.config).demanded),
      );
      if (misplaced) throw misplaced;
      const plan = planTopology(topology, { labName: flags.name, defaultImage: await nodeImageRef(), facts });
      this.log(
        `engine: ${(facts.members ?? []).map((m) => m.name).join('+')} (across the engines of ${flags.pool})`,
      );
      this.log(renderPlan(plan, { files: flags.files }));
      return plan;
    }
    const { plannedEngine } = await import('../lab/select-engine.js');
    const engine = await plannedEngine(flags.engine as EngineChoice);
    const facts =
      flags.ipvs === undefined
        ? engine.facts
        : flags.ipvs
          ? { engine: engine.facts.engine, ipvs: true }
          : { engine: engine.facts.engine, ipvs: false, ipvsReason: 'planned with --no-ipvs' };
    const plan = planTopology(topology, { labName: flags.name, defaultImage: await nodeImageRef(), facts });
    this.log(`engine: ${engine.facts.engine} (${engine.reason})`);
    this.log(renderPlan(plan, { files: flags.files }));
    return plan;
  }
}
