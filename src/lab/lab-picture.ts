/**
 * A lab's picture (`lblab graph`, the HTML report's), and what `--live` draws on top of the topology: each node's container state, and each
 * router's route to the VIPs that directors advertise over OSPF (`ip -j route show VIP/32` in the
 * router, one gateway per ECMP nexthop).
 */
import { routeGateways } from '../checks/route.js';
import { PROBE_TIMEOUT_MS } from '../checks/wait.js';
import { LabError } from '../core/errors.js';
import { KIND_TRAIT } from '../core/kind-traits.js';
import type { Plan } from '../core/plan.js';
import type { TopologyConfig } from '../core/topology.js';
import { kindHas, nodeHas } from '../kinds/registry.js';
import { buildGraph, type LabGraph, type LiveNodeState, type LiveState } from '../pictures/graph.js';
import { planForPicture, renderGraph, type GraphFormat } from '../pictures/render-graph.js';
import { openTopology } from '../topology/open.js';
import type { Engine } from '../runtime/engine.js';
import { labStatus } from './lab.js';

export interface LiveStateOptions {
  /** How to bring the lab up, for the error when it is not (default: `lblab up FILE`). */
  upCommand?: string;
}

/** The routers (OSPF speakers that are not directors) and the VIPs OSPF-speaking directors advertise. */
export function routesToAsk(config: TopologyConfig): { routers: string[]; vips: string[] } {
  const nodes = Object.entries(config.topology.nodes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const speakers = nodes.filter(([, node]) => nodeHas(node, KIND_TRAIT.ospf));
  const routers = speakers
    .filter(([, node]) => !kindHas(node.kind, KIND_TRAIT.director))
    .map(([name]) => name);
  const vips = [
    ...new Set(
      speakers.flatMap(([, node]) => (kindHas(node.kind, KIND_TRAIT.director) && node.vip ? [node.vip] : [])),
    ),
  ].sort();
  return { routers, vips };
}

/** The running lab's state, for buildGraph; a LabError when none of its nodes is on `engine`. */
export async function gatherLiveState(
  engine: Engine,
  config: TopologyConfig,
  plan: Plan,
  options: LiveStateOptions = {},
): Promise<LiveState> {
  const statuses = await labStatus(engine, plan.lab);
  if (statuses.length === 0) {
    throw new LabError('preflight', `lab ${plan.lab} is not up on ${engine.name}`, {
      hint: `run \`${options.upCommand ?? `lblab up ${plan.topologyFile}`}\` first, or leave out --live for the topology alone`,
    });
  }
  const byNode = new Map(statuses.map((status) => [status.node, status]));
  const nodes: Record<string, LiveNodeState> = {};
  for (const node of plan.nodes) {
    const status = byNode.get(node.name);
    nodes[node.name] = !status ? 'missing' : status.state === 'running' ? 'running' : 'stopped';
  }

  const { routers, vips } = routesToAsk(config);
  const nexthops: NonNullable<LiveState['nexthops']> = [];
  for (const router of routers) {
    const status = byNode.get(router);
    if (!status || status.state !== 'running') continue;
    for (const vip of vips) {
      const result = await engine.runtime.exec(status.container, ['ip', '-j', 'route', 'show', `${vip}/32`], {
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      let via: string[] = [];
      if (result.exitCode === 0) {
        try {
          via = routeGateways(result.stdout) ?? [];
        } catch {
          via = [];
        }
      }
      nexthops.push({ router, vip, via });
    }
  }
  return { nodes, nexthops };
}

export interface DrawLabOptions {
  format: GraphFormat;
  /** The file it will be written to (a `.md` gets Mermaid in a fenced block). */
  output?: string;
  labName?: string;
  /** Draw what runs on this engine too; `required`: fail when the lab is not up, else draw the file alone. */
  live?: { engine: Engine; required: boolean; upCommand?: string };
}

/** A topology file's picture, with the running lab's state when asked: what `graph` and `--html` draw. */
export async function drawLab(
  file: string,
  options: DrawLabOptions,
): Promise<{ lab: string; graph: LabGraph; content: string; live: boolean }> {
  const topology = await openTopology(file);
  const plan = planForPicture(topology, options.labName);
  const { live } = options;
  const state = live
    ? await gatherLiveState(live.engine, topology.config, plan, {
        ...(live.upCommand !== undefined && { upCommand: live.upCommand }),
      }).catch((error: unknown) => {
        if (live.required) throw error;
        return undefined;
      })
    : undefined;
  const graph = buildGraph(topology.config, plan, state);
  return {
    lab: plan.lab,
    graph,
    content: await renderGraph(graph, options.format, options.output),
    live: !!state,
  };
}
