/**
 * Stopping and starting a lab node from verify, as the fault steps and their undo need it. A started
 * node runs its setup script again (a stopped container loses its network namespace: the VIP on lo,
 * routes and the daemons' state go with it) and is not back until its readiness checks hold again.
 */
import { SETUP_SCRIPT_PATH, type PlannedNode } from '../core/plan.js';
import { LABEL } from '../core/labels.js';
import type { ContainerRuntime, ExecResult } from '../core/runtime.js';
import type { StepRunContext } from './step-type.js';
import { outputLine } from './step-type.js';

/** How long a node's init gets to end its processes before they are killed. */
export const STOP_GRACE_SECONDS = 2;
const SETUP_TIMEOUT_MS = 120_000;

type NodeContext = Pick<StepRunContext, 'runtime' | 'plan' | 'waitFor'>;

/** The container's state as the engine reports it (`running`, `exited`...), or undefined when it is gone. */
export async function nodeState(ctx: NodeContext, node: PlannedNode): Promise<string | undefined> {
  const containers = await ctx.runtime.listContainers({ [LABEL.lab]: ctx.plan.lab });
  return containers.find((c) => c.name === node.containerName)?.state;
}

/**
 * Its links go down first, then its container stops (returns when the links went down, epoch ms): a node fails at once, as a crash or a power cut
 * does. Without that, a slow engine tears the network namespace down seconds after the daemons died,
 * and IPVS (which needs no process) keeps forwarding meanwhile.
 */
export async function stopNode(ctx: NodeContext, node: PlannedNode): Promise<number> {
  const linksDown =
    'for dev in $(ls /sys/class/net); do [ "$dev" = lo ] || ip link set dev "$dev" down; done; date +%s%3N';
  const down = await inNetns(ctx.runtime, node, ['sh', '-c', linksDown]);
  const at = Number(down.stdout.trim());
  await ctx.runtime.stopContainer(node.containerName, STOP_GRACE_SECONDS);
  // The node's clock is the host's (a container; the sandbox guest keeps the host's time).
  return Number.isFinite(at) && at > 0 ? at : Date.now();
}

/** Starts the container, runs its setup again and waits for its readiness; a running node is left alone. */
export async function startNode(ctx: NodeContext, node: PlannedNode, signal?: AbortSignal): Promise<boolean> {
  if ((await nodeState(ctx, node)) === 'running') return false;
  await ctx.runtime.startContainer(node.containerName);
  // Pid files from the last run would name processes of the old pid namespace; a delay line's
  // state (impair) went with the old network namespace.
  const script = `find /run -maxdepth 1 \\( -name '*.pid' -o -name 'lblab-delay-*' \\) -delete; exec sh ${SETUP_SCRIPT_PATH}`;
  const setup = await ctx.runtime.exec(node.containerName, ['sh', '-c', script], {
    timeoutMs: SETUP_TIMEOUT_MS * ctx.plan.tuning.timeoutScale,
    ...(signal && { signal }),
  });
  if (setup.exitCode !== 0)
    throw new Error(`${node.name}'s setup exited ${setup.exitCode}: ${outputLine(setup)}`);
  for (const check of node.readiness) await ctx.waitFor(check);
  return true;
}

/**
 * A command in the node's network namespace with NET_ADMIN: in the node when it has the capability
 * (one exec), else from a helper container sharing its namespace (seconds on a slow engine).
 */
export function inNetns(runtime: ContainerRuntime, node: PlannedNode, cmd: string[]): Promise<ExecResult> {
  if (node.capAdd.includes('NET_ADMIN')) return runtime.exec(node.containerName, cmd, { timeoutMs: 60_000 });
  return runtime.runInNetns({
    target: node.containerName,
    image: node.image,
    cmd,
    capAdd: ['NET_ADMIN'],
    writableProcSys: false,
    labels: node.labels,
  });
}
