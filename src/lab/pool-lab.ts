/**
 * One lab across the engines of a pool (`up --pool FILE`): the Engine whose runtime places each node
 * on its member (runtime/pool-runtime.ts), what compile must know of each member's kernel, located
 * errors for placements that cannot be, and the Swarm made for the lab's overlays and put back after.
 */
import type { EngineFacts, PoolMemberFacts } from '../core/engine.js';
import type { TopologyIssue } from '../core/issue.js';
import type { Plan } from '../core/plan.js';
import type { TopologyConfig } from '../core/topology.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import type { Engine } from '../runtime/engine.js';
import { PoolRuntime } from '../runtime/pool-runtime.js';
import { SplitRuntime } from '../runtime/split-runtime.js';
import { joinSwarm, leaveLostSwarm, restoreSwarm, type SwarmMember } from '../runtime/swarm.js';
import type { ContainerRuntime } from '../core/runtime.js';
import type { IpvsDemand } from '../apply/preflight.js';
import { connectPool, loadPool, type ConnectOptions } from './engine-pool.js';
import { plannedEngine } from './select-engine.js';

/** An engine for a lab across a pool: its members, each with its own engine (probes, images). */
export interface PoolLabEngine extends Engine {
  runtime: PoolRuntime;
  members: Engine[];
}

export function isPoolLabEngine(engine: Engine): engine is PoolLabEngine {
  return engine.runtime instanceof PoolRuntime;
}

/** The one Docker engine behind a member (the sandbox's guest, not its split with the host). */
export function dockerOf(runtime: ContainerRuntime): DockerRuntime {
  if (runtime instanceof SplitRuntime) return runtime.guest;
  if (runtime instanceof DockerRuntime) return runtime;
  throw new Error('a pool member must be one Docker engine');
}

export function swarmMembers(engines: Engine[]): SwarmMember[] {
  return engines.map((engine) => ({ name: engine.name, runtime: dockerOf(engine.runtime) }));
}

/** One runtime over already connected members (for `down --pool`), the first as manager. */
export function poolRuntimeOf(engines: Engine[]): PoolRuntime {
  return new PoolRuntime(swarmMembers(engines), engines[0]?.name ?? '');
}

/** Connects (and with `start`, starts) every member of the pool file; one that fails stops it all. */
export async function poolLabEngine(file: string, options: ConnectOptions = {}): Promise<PoolLabEngine> {
  const pool = await loadPool(file);
  const members = await connectPool(pool, options);
  if (members.length < 2) {
    throw new Error(`${file} names one engine; a lab across engines needs two or more`);
  }
  const slowest = members.some((member) => member.kind === 'sandbox') ? 'sandbox' : 'docker';
  return {
    name: members.map((member) => member.name).join('+'),
    kind: slowest,
    runtime: new PoolRuntime(swarmMembers(members), members[0]!.name),
    members,
    // Binds name paths on this machine: every member must see them.
    capabilities: { binds: members.every((member) => member.capabilities.binds) },
    splitsNodes: false,
    reason: `across the engines of ${file} (${members.map((member) => member.name).join(', ')})`,
    prepareNodeImage: async (progress) => {
      const images = [];
      for (const member of members)
        images.push(await member.prepareNodeImage((line) => progress(`${member.name}: ${line}`)));
      const refs = new Set(images.map((image) => image.ref));
      if (refs.size > 1)
        throw new Error(`the pool's engines hold different node images: ${[...refs].join(', ')}`);
      return images[0]!;
    },
  };
}

/**
 * What `plan --pool` assumes of each member without touching it: the sandbox's kernel has IPVS, the
 * local engine's is this machine's, a remote one's is unknown (up probes it), so taken as without.
 */
export async function plannedPoolFacts(file: string): Promise<EngineFacts> {
  const pool = await loadPool(file);
  const local = (await plannedEngine('docker')).facts;
  const members: PoolMemberFacts[] = pool.members.map((member) => {
    if (member.endpoint === 'sandbox') return { name: member.name, kind: 'sandbox', ipvs: true };
    if (member.endpoint === 'local')
      return { name: member.name, kind: 'docker', ipvs: local.ipvs, ipvsReason: local.ipvsReason };
    return {
      name: member.name,
      kind: 'docker',
      ipvs: false,
      ipvsReason: `plan does not look at ${member.endpoint}'s kernel; up probes it`,
    };
  });
  const slowest = members.some((member) => member.kind === 'sandbox') ? 'sandbox' : 'docker';
  return { engine: slowest, ipvs: members.some((m) => m.ipvs), members };
}

/**
 * Placements that cannot be, as located errors: a name the pool does not have, a node that needs
 * IPVS on a member whose kernel has none, or any placement without a pool. Pure.
 */
export function placementIssues(
  config: TopologyConfig,
  members: PoolMemberFacts[] | undefined,
  demanded: IpvsDemand[],
): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const names = members?.map((member) => member.name) ?? [];
  for (const [name, node] of Object.entries(config.topology.nodes)) {
    if (node.placement === undefined) continue;
    const path = ['topology', 'nodes', name, 'placement'];
    if (!members) {
      issues.push({
        path,
        message: `node ${name} is placed on engine "${node.placement}", but the lab runs on one engine`,
        fix: 'run it across engines with up --pool FILE, or remove placement:',
      });
      continue;
    }
    const member = members.find((m) => m.name === node.placement);
    if (!member) {
      issues.push({
        path,
        message: `node ${name} is placed on "${node.placement}", which is not an engine of the pool`,
        fix: `use one of: ${names.join(', ')}`,
      });
      continue;
    }
    const demand = demanded.find((d) => d.node === name);
    if (demand && !member.ipvs) {
      const withIpvs = members.filter((m) => m.ipvs).map((m) => m.name);
      issues.push({
        path,
        message: `${name} needs IPVS (${demand.why}), but the kernel of ${member.name} has none (${member.ipvsReason ?? 'no ip_vs'})`,
        fix:
          withIpvs.length > 0
            ? `place it on ${withIpvs.join(' or ')}, or remove placement: and lblab picks one with IPVS`
            : 'add an engine with IPVS to the pool (sandbox: lblab starts one)',
      });
    }
  }
  return issues;
}

/** Makes the Swarm a plan's overlays need (nothing when the lab has none); returns who was brought in. */
export async function swarmForPlan(engine: PoolLabEngine, plan: Plan, progress: (line: string) => void) {
  if (!plan.networks.some((network) => network.overlay)) return [];
  for (const [i, member] of engine.members.entries()) {
    const swarmMember = engine.runtime.members[i]!;
    if (member.kind === 'sandbox' && (await leaveLostSwarm(swarmMember)))
      progress(`swarm: ${member.name} left a Swarm it had lost (the sandbox guest is lblab's own engine)`);
  }
  return joinSwarm(engine.runtime.members, progress);
}

/** After a pool lab is gone: the Swarm lblab made leaves, if no other lab's overlay still uses it. */
export async function restorePoolSwarm(
  members: Engine[],
  progress: (line: string) => void,
): Promise<string[]> {
  return restoreSwarm(swarmMembers(members), progress);
}
