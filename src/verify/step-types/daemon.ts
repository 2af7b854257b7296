/**
 * daemon: kill, stop, start or restart one daemon in a node (nginx, keepalived, an FRR daemon), the
 * failure a health check or a routing protocol has to notice. `kill` is a crash (SIGKILL: keepalived
 * leaves its IPVS services behind, nginx drops connections); `stop` is an orderly SIGTERM. Starting
 * runs the commands `up` ran for it, then waits for the node's readiness checks. A daemon killed or
 * stopped is started again when the run ends.
 */
import type { PlannedNode, PlannedSetupStep } from '../../core/plan.js';
import { pollUntil } from '../../util/poll.js';
import { shellCommand } from '../../util/shell.js';
import {
  defineStepType,
  failedToRun,
  outputLine,
  toEvidence,
  type StepRunContext,
  type VerifyStep,
} from '../step-type.js';

export const DAEMONS = ['nginx', 'keepalived', 'ospfd', 'zebra', 'staticd', 'watchfrr'] as const;
type Daemon = (typeof DAEMONS)[number];
type Action = 'kill' | 'stop' | 'start' | 'restart';

export interface DaemonStep extends VerifyStep {
  type: 'daemon';
  daemon: Daemon;
  action: Action;
}

/** How long a daemon gets to be gone after the signal before the step says it would not go. */
const GONE_WITHIN_MS = 5_000;

export const daemonStep = defineStepType<DaemonStep, { node: string; daemon: Daemon; action: Action }>({
  type: 'daemon',
  fault: true,
  parse: (raw, index) => ({
    type: 'daemon',
    index,
    name: `${raw.action} ${raw.daemon} on ${raw.node}`,
    node: raw.node,
    daemon: raw.daemon,
    action: raw.action,
  }),
  async run(step, ctx) {
    const { node } = ctx;
    const setup = node.setup.find((s) => s.daemons?.includes(step.daemon));
    if (!setup) {
      const runs = node.setup.flatMap((s) => s.daemons ?? []);
      return failedToRun(
        '',
        [],
        `${node.name} does not run ${step.daemon} (it runs ${runs.length > 0 ? runs.join(', ') : 'no daemon lblab started'})`,
      );
    }
    const wasRunning = await isRunning(ctx, node, step.daemon);
    const evidence = [];
    if (step.action !== 'start') {
      if (!wasRunning && step.action !== 'restart') {
        return {
          verdict: 'fail',
          summary: `${step.daemon} was not running`,
          expectations: [
            {
              name: 'running',
              ok: false,
              expected: `${step.daemon} running before the ${step.action}`,
              seen: 'not running',
            },
          ],
          evidence: [],
        };
      }
      if (wasRunning) {
        const signal = step.action === 'kill' ? 'KILL' : 'TERM';
        const cmd = ['pkill', `-${signal}`, '-x', step.daemon];
        const killed = await ctx.runtime.exec(node.containerName, cmd);
        evidence.push(toEvidence('pkill', cmd, killed));
        if (killed.exitCode !== 0)
          return failedToRun('', evidence, `pkill exited ${killed.exitCode}: ${outputLine(killed)}`);
        await waitGone(ctx, node, step.daemon);
      }
      if (step.action !== 'restart') {
        ctx.undoLater(
          `start ${step.daemon} on ${node.name}`,
          async () => void (await startDaemon(ctx, node, step.daemon, setup)),
        );
        return {
          verdict: 'pass',
          summary: `${step.daemon} ${step.action === 'kill' ? 'killed' : 'stopped'}`,
          expectations: [],
          evidence,
        };
      }
    }
    const started = await startDaemon(ctx, node, step.daemon, setup);
    return {
      verdict: 'pass',
      summary: started
        ? `${step.daemon} ${step.action === 'restart' ? 'restarted' : 'started'}, ${node.name} ready`
        : `${step.daemon} already running`,
      expectations: [],
      evidence,
    };
  },
});

async function isRunning(ctx: StepRunContext, node: PlannedNode, daemon: string): Promise<boolean> {
  return (await ctx.runtime.exec(node.containerName, ['pgrep', '-x', daemon])).exitCode === 0;
}

async function waitGone(ctx: StepRunContext, node: PlannedNode, daemon: string): Promise<void> {
  await pollUntil(
    async () => {
      const gone = !(await isRunning(ctx, node, daemon));
      return { ok: gone, seen: gone ? 'gone' : 'still running' };
    },
    {
      timeoutMs: GONE_WITHIN_MS,
      intervalMs: 200,
      onTimeout: () =>
        new Error(`${daemon} still runs on ${node.name} ${GONE_WITHIN_MS / 1000} s after the signal`),
    },
  );
}

/** Runs what `up` ran for it (or its restart commands), then waits for the node's readiness; false when it already ran. */
async function startDaemon(
  ctx: StepRunContext,
  node: PlannedNode,
  daemon: string,
  setup: PlannedSetupStep,
): Promise<boolean> {
  if (await isRunning(ctx, node, daemon)) return false;
  const script = (setup.restart ?? setup.commands).join(' && ');
  const result = await ctx.runtime.exec(node.containerName, ['sh', '-c', script], { timeoutMs: 120_000 });
  if (result.exitCode !== 0) {
    throw new Error(
      `starting ${daemon} on ${node.name} (${shellCommand(['sh', '-c', script])}) exited ${result.exitCode}: ${outputLine(result)}`,
    );
  }
  for (const check of node.readiness) await ctx.waitFor(check);
  return true;
}
