import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { engineFlag, LblabCommand } from '../cli/base-command.js';
import { teardownLab } from '../apply/teardown.js';
import { labNameFor } from '../cli/lab-name.js';
import { poolFlag } from '../cli/class-engines.js';
import { withLabLock } from '../lab/lab-lock.js';
import { LABEL } from '../core/labels.js';

export interface DownResult {
  lab: string | null;
  /** The engines that were looked at. */
  engines: string[];
  containers: string[];
  networks: string[];
  /** With --pool: the engines that left the Swarm lblab had brought them into. */
  swarmLeft?: string[];
}

export default class Down extends LblabCommand {
  static override summary = 'Remove everything a lab created (found by its labels), and nothing else.';
  static override examples = [
    '<%= config.bin %> down topologies/ecmp-lvs-dr.yml',
    '<%= config.bin %> down --name ecmp-lvs-dr',
    '<%= config.bin %> down --all --json',
  ];
  static override args = {
    file: Args.string({ description: 'topology file (optional with --name or --all)' }),
  };
  static override flags = {
    engine: engineFlag,
    pool: poolFlag,
    name: Flags.string({
      description: 'lab name, when the topology file is gone or the lab ran under --name',
    }),
    all: Flags.boolean({
      description:
        'remove every lblab lab (on the host engine and, if running, the sandbox; with --pool, on every engine of the pool)',
      exclusive: ['name'],
    }),
  };

  async run(): Promise<DownResult> {
    const { args, flags } = await this.parse(Down);
    const lab = flags.all ? undefined : await labNameFor(args.file, flags.name);
    const removed: Omit<DownResult, 'lab'> = { engines: [], containers: [], networks: [] };
    const engines = await this.enginesOrPool(flags.engine, flags.pool);
    const across = flags.pool ? await import('../lab/pool-lab.js') : undefined;
    if (across && engines.length > 1) {
      // A lab across the pool first, as one (its overlay goes once no member's node uses it).
      const runtime = across.poolRuntimeOf(engines);
      const teardown = () => teardownLab(runtime, lab);
      try {
        const fromPool =
          lab === undefined
            ? await teardown()
            : await withLabLock(lab, teardown, (line) => this.progress(line));
        removed.containers.push(...fromPool.containers);
        removed.networks.push(...fromPool.networks);
      } catch (error) {
        // An overlay held by a stale attach goes with the Swarm lblab made: leave it, then look again.
        removed.swarmLeft = await across.restorePoolSwarm(engines, (line) => this.progress(line));
        if ((await runtime.listNetworks({ [LABEL.lab]: lab ?? true })).length > 0) throw error;
      }
    }
    for (const engine of engines) {
      // A named lab waits for an up or down of it that is still running (see lab-lock.ts).
      const fromEngine =
        lab === undefined
          ? await teardownLab(engine.runtime, lab)
          : await withLabLock(
              lab,
              () => teardownLab(engine.runtime, lab),
              (line) => this.progress(line),
            );
      removed.engines.push(engine.name);
      removed.containers.push(...fromEngine.containers);
      removed.networks.push(...fromEngine.networks);
    }
    if (across && !removed.swarmLeft)
      removed.swarmLeft = await across.restorePoolSwarm(engines, (line) => this.progress(line));
    const what = lab ? `lab ${lab}` : 'all lblab labs';
    this.log(
      removed.containers.length + removed.networks.length === 0
        ? `${what}: nothing to remove`
        : `${what}: removed ${removed.containers.length} container(s) and ${removed.networks.length} network(s)`,
    );
    return { lab: lab ?? null, ...removed };
  }
}
