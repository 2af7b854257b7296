/**
 * Runs the `verify:` steps against a running lab, in order. A failed or broken step does not stop the
 * ones after it: the report carries every step's verdict, expectations and evidence. A signal stops
 * the run between steps. Either way, every fault a step injected is undone before the run returns.
 */
import { performance } from 'node:perf_hooks';
import type { Plan, ReadinessCheck } from '../core/plan.js';
import type { ContainerRuntime } from '../core/runtime.js';
import { sleepUntil } from '../util/clock.js';
import { InterruptedError } from '../util/interrupt.js';
import { errorMessage } from '../util/text.js';
import { summarizeSteps, type StepResult, type UndoResult, type VerifyReport } from './report.js';
import type { StepOutcome, StepRunContext, VerifyStep } from './step-type.js';
import type { TimelineMark } from './timeline.js';
import { stepTypeOf } from './steps.js';

export type VerifyProgressEvent =
  | { type: 'step-start'; index: number; total: number; name: string; stepType: string; node: string }
  | { type: 'step-end'; index: number; total: number; result: StepResult }
  | { type: 'undone'; result: UndoResult };

export interface VerifyContext {
  runtime: ContainerRuntime;
  plan: Plan;
  /** Polls a readiness check until it holds; rejects with a message saying what was tried for how long. */
  waitFor: (check: ReadinessCheck) => Promise<void>;
  onProgress?: (event: VerifyProgressEvent) => void;
  /** Monotonic milliseconds, for durations; injectable for tests. */
  now?: () => number;
  /** Aborted by a signal: no further step starts, the faults are undone, InterruptedError is raised. */
  signal?: AbortSignal;
  /**
   * The steps change the lab for good (an exercise's break, its solution): what they change is the
   * point, so nothing is undone when the run ends.
   */
  keepChanges?: boolean;
}

interface PendingUndo {
  what: string;
  undo: () => Promise<void>;
}

export async function runVerification(ctx: VerifyContext, steps: VerifyStep[]): Promise<VerifyReport> {
  const now = ctx.now ?? (() => performance.now());
  const startedAt = new Date().toISOString();
  const start = now();
  const results: StepResult[] = [];
  const pending: PendingUndo[] = [];
  const undoLater = (what: string, undo: () => Promise<void>) => {
    if (!ctx.keepChanges) pending.push({ what, undo });
  };
  let undone: UndoResult[];
  // Which step a signal came in (the innermost running one), for the message.
  const running: VerifyStep[] = [];
  let interruptedIn: VerifyStep | undefined;
  const noteInterrupted = () => (interruptedIn = running.at(-1));
  ctx.signal?.addEventListener('abort', noteInterrupted, { once: true });
  try {
    await runSteps();
  } finally {
    ctx.signal?.removeEventListener('abort', noteInterrupted);
    undone = await undoAll(pending, ctx.onProgress);
  }
  if (ctx.signal?.aborted) {
    const where = interruptedIn
      ? `in step ${interruptedIn.index + 1} of ${steps.length} ("${interruptedIn.name}")`
      : `after ${results.length} of ${steps.length} steps`;
    throw new InterruptedError(
      InterruptedError.from(ctx.signal).signal,
      `verify interrupted ${where}; ${undone.length} fault(s) undone`,
    );
  }
  return {
    lab: ctx.plan.lab,
    topologyFile: ctx.plan.topologyFile,
    startedAt,
    durationMs: Math.round(now() - start),
    ...summarizeSteps(results),
    steps: results,
    ...(undone.length > 0 && { undone }),
  };

  async function runSteps(): Promise<void> {
    for (const step of steps) {
      if (step.parent !== undefined) continue;
      if (ctx.signal?.aborted) return;
      await runOne(step);
    }
    results.sort((a, b) => a.index - b.index);
  }

  async function runOne(step: VerifyStep): Promise<void> {
    const base = { index: step.index, total: steps.length };
    ctx.onProgress?.({
      type: 'step-start',
      ...base,
      name: step.name,
      stepType: step.type,
      node: step.node,
    });
    const stepStart = now();
    running.push(step);
    const nested = steps.filter((s) => s.parent === step.index);
    let outcome: StepOutcome;
    try {
      outcome = await runStep(ctx, step, {
        undoLater,
        ...(nested.length > 0 && { runDuring: (origin: number) => runDuring(nested, origin) }),
      });
    } catch (error) {
      outcome = {
        verdict: 'error',
        summary: 'error',
        expectations: [],
        evidence: [],
        error: errorMessage(error),
      };
    }
    // A step that ended before its during: list ran says so for each of them.
    for (const missed of nested.filter((s) => !results.some((r) => r.index === s.index))) {
      if (ctx.signal?.aborted) break;
      results.push({
        index: missed.index,
        name: missed.name,
        type: missed.type,
        node: missed.node,
        parent: step.index,
        verdict: 'error',
        durationMs: 0,
        summary: 'not run',
        expectations: [],
        evidence: [],
        error: `not run: "${step.name}" ended before its during: steps ran`,
      });
    }
    const result: StepResult = {
      index: step.index,
      name: step.name,
      type: step.type,
      node: step.node,
      ...(step.parent !== undefined && { parent: step.parent }),
      durationMs: Math.round(now() - stepStart),
      ...outcome,
    };
    running.pop();
    results.push(result);
    ctx.onProgress?.({ type: 'step-end', ...base, result });
  }

  /** The steps of a during: list, each at its `at:` (ms after `origin`, epoch ms) or right after the one before. */
  async function runDuring(nested: VerifyStep[], origin: number): Promise<TimelineMark[]> {
    const marks: TimelineMark[] = [];
    for (const step of nested) {
      if (ctx.signal?.aborted) break;
      if (step.atMs !== undefined) await sleepUntil(origin + step.atMs, ctx.signal);
      if (ctx.signal?.aborted) break;
      const startedAt = Date.now();
      await runOne(step);
      const endedAt = Date.now();
      // A slow engine can take seconds to apply a fault: where the step knows when it took, use that.
      const tookEffectAt = results.find((r) => r.index === step.index)?.tookEffectAt;
      const effective =
        tookEffectAt !== undefined && tookEffectAt >= startedAt && tookEffectAt <= endedAt
          ? tookEffectAt
          : startedAt;
      marks.push({ name: step.name, startedAt: effective, endedAt, fault: stepTypeOf(step).fault === true });
    }
    return marks;
  }
}

/** Newest first; one that fails does not keep the others from running. */
async function undoAll(
  pending: PendingUndo[],
  onProgress: VerifyContext['onProgress'],
): Promise<UndoResult[]> {
  const results: UndoResult[] = [];
  for (const { what, undo } of [...pending].reverse()) {
    let result: UndoResult;
    try {
      await undo();
      result = { what, ok: true };
    } catch (error) {
      result = { what, ok: false, error: errorMessage(error) };
    }
    results.push(result);
    onProgress?.({ type: 'undone', result });
  }
  return results;
}

/** The step's own type runs it, on the planned node it names. */
async function runStep(
  ctx: VerifyContext,
  step: VerifyStep,
  hooks: Pick<StepRunContext, 'undoLater' | 'runDuring'>,
): Promise<StepOutcome> {
  const node = ctx.plan.nodes.find((n) => n.name === step.node);
  if (!node) {
    const known = ctx.plan.nodes.map((n) => n.name).join(', ');
    throw new Error(`node "${step.node}" is not in the plan (nodes: ${known})`);
  }
  return stepTypeOf(step).run(step, {
    runtime: ctx.runtime,
    plan: ctx.plan,
    node,
    waitFor: ctx.waitFor,
    ...hooks,
    ...(ctx.signal && { signal: ctx.signal }),
  });
}
