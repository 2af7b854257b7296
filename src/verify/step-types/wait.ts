/** wait: poll a check (the same check types as a node's `ready:` list) until it holds or times out. */
import { checkTypeOf, describeCheck, parseWaitCondition } from '../../checks/registry.js';
import { ReadinessTimeout } from '../../checks/wait.js';
import type { ReadinessCheck } from '../../core/plan.js';
import type { WaitCondition } from '../../core/topology.js';
import { evaluateWait } from '../expect.js';
import { defineStepType, timeoutIssues, type VerifyStep } from '../step-type.js';

export interface WaitStep extends VerifyStep {
  type: 'wait';
  /** `check.node` is the topology node name, like `PlannedNode.readiness`. */
  check: ReadinessCheck;
}

export const waitStep = defineStepType<WaitStep, WaitCondition & { node: string }>({
  type: 'wait',
  parse(raw, index) {
    const check = parseWaitCondition(raw);
    return { type: 'wait', index, name: `wait ${describeCheck(check)}`, node: raw.node, check };
  },
  check(step, { at, requireTrait }) {
    const type = checkTypeOf(step.check);
    return [
      ...(type.needsTrait && type.waitKey
        ? requireTrait(type.needsTrait, `wait ${type.waitKey}`, at(type.waitKey))
        : []),
      ...(type.issues?.(step.check, { at }) ?? []),
      ...timeoutIssues(step.check.timeoutMs, at('timeout')),
    ];
  },
  async run(step, { waitFor }) {
    let failure: unknown;
    try {
      await waitFor(step.check);
    } catch (error) {
      failure = error ?? new Error('wait failed');
    }
    const expectation = evaluateWait(describeCheck(step.check), failure);
    return {
      verdict: expectation.ok ? 'pass' : 'fail',
      summary:
        failure instanceof ReadinessTimeout ? `timed out, last seen: ${failure.lastSeen}` : expectation.seen,
      expectations: [expectation],
      evidence: [],
    };
  },
});
