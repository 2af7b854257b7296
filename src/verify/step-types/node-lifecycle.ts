/**
 * stop, start, restart: a node goes down as a whole (its container stops: every interface and daemon
 * with it) and comes back configured as `up` left it. A stop is a fault: a node still stopped when
 * the run ends is started again.
 */
import { nodeState, startNode, stopNode } from '../node-control.js';
import { defineStepType, type StepType, type VerifyStep } from '../step-type.js';

type Action = 'stop' | 'start' | 'restart';

export interface NodeLifecycleStep extends VerifyStep {
  type: Action;
}

function lifecycleStep(action: Action): StepType<NodeLifecycleStep, { node: string }> {
  return {
    type: action,
    fault: true,
    parse: (raw, index) => ({ type: action, index, name: `${action} ${raw.node}`, node: raw.node }),
    async run(step, ctx) {
      const { node } = ctx;
      const before = await nodeState(ctx, node);
      if (before === undefined) {
        return {
          verdict: 'error',
          summary: '',
          expectations: [],
          evidence: [],
          error: `${node.containerName} does not exist: is the lab up?`,
        };
      }
      let tookEffectAt: number | undefined;
      if (action !== 'start' && before === 'running') {
        tookEffectAt = await stopNode(ctx, node);
        if (action === 'stop') {
          ctx.undoLater(`start ${node.name}`, async () => void (await startNode(ctx, node)));
        }
      }
      if (action === 'stop') {
        return {
          verdict: 'pass',
          summary: `${before} -> stopped`,
          expectations: [],
          evidence: [],
          ...(tookEffectAt !== undefined && { tookEffectAt }),
        };
      }
      const started = await startNode(ctx, node, ctx.signal);
      return {
        verdict: 'pass',
        summary: started ? `${before} -> running, set up and ready` : 'already running',
        expectations: [],
        evidence: [],
      };
    },
  };
}

export const stopStep = defineStepType(lifecycleStep('stop'));
export const startStep = defineStepType(lifecycleStep('start'));
export const restartStep = defineStepType(lifecycleStep('restart'));
