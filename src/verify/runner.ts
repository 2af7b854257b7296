/**
 * Runs the `verify:` steps against a running lab, in order. A failed or broken step does not stop the
 * ones after it: the report carries every step's verdict, expectations and evidence.
 */
import { isIPv4 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { describeCheck, ReadinessTimeout } from '../apply/readiness.js';
import type { Plan, PlannedNode, ReadinessCheck } from '../plan/plan.js';
import type { ContainerRuntime, ExecResult } from '../runtime/runtime.js';
import { shellCommand } from '../util/shell.js';
import { countNexthops, evaluateExec, evaluateTally, evaluateWait, type TallyFacts } from './expect.js';
import { httpTallyExecTimeoutMs, parseHttpTallyOutput, renderHttpTallyScript } from './http-tally-script.js';
import { summarizeSteps, type Evidence, type StepResult, type VerifyReport } from './report.js';
import {
  stepArgv,
  type AddressesStep,
  type ExecStep,
  type HttpTallyStep,
  type ShowStep,
  type StepType,
  type SysctlStep,
  type VerifyStep,
} from './steps.js';
import { formatTally, tallyRecords } from './tally.js';

export type VerifyProgressEvent =
  | { type: 'step-start'; index: number; total: number; name: string; stepType: StepType; node: string }
  | { type: 'step-end'; index: number; total: number; result: StepResult };

export interface VerifyContext {
  runtime: ContainerRuntime;
  plan: Plan;
  /** Polls a readiness check until it holds; rejects with a message saying what was tried for how long. */
  waitFor: (check: ReadinessCheck) => Promise<void>;
  onProgress?: (event: VerifyProgressEvent) => void;
  /** Monotonic milliseconds, for durations; injectable for tests. */
  now?: () => number;
}

/** What a step produced; the runner adds identity and timing. */
type StepOutcome = Pick<StepResult, 'verdict' | 'summary' | 'expectations' | 'evidence'> &
  Partial<Pick<StepResult, 'tally' | 'error'>>;

export async function runVerification(ctx: VerifyContext, steps: VerifyStep[]): Promise<VerifyReport> {
  const now = ctx.now ?? (() => performance.now());
  const startedAt = new Date().toISOString();
  const start = now();
  const results: StepResult[] = [];
  for (const step of steps) {
    const base = { index: step.index, total: steps.length };
    ctx.onProgress?.({ type: 'step-start', ...base, name: step.name, stepType: step.type, node: step.node });
    const stepStart = now();
    let outcome: StepOutcome;
    try {
      outcome = await runStep(ctx, step);
    } catch (error) {
      outcome = {
        verdict: 'error',
        summary: 'error',
        expectations: [],
        evidence: [],
        error: errorMessage(error),
      };
    }
    const result: StepResult = {
      index: step.index,
      name: step.name,
      type: step.type,
      node: step.node,
      durationMs: Math.round(now() - stepStart),
      ...outcome,
    };
    results.push(result);
    ctx.onProgress?.({ type: 'step-end', ...base, result });
  }
  return {
    lab: ctx.plan.lab,
    topologyFile: ctx.plan.topologyFile,
    startedAt,
    durationMs: Math.round(now() - start),
    ...summarizeSteps(results),
    steps: results,
  };
}

async function runStep(ctx: VerifyContext, step: VerifyStep): Promise<StepOutcome> {
  const node = ctx.plan.nodes.find((n) => n.name === step.node);
  if (!node) {
    const known = ctx.plan.nodes.map((n) => n.name).join(', ');
    throw new Error(`node "${step.node}" is not in the plan (nodes: ${known})`);
  }
  switch (step.type) {
    case 'sysctl':
      return runSysctl(ctx.runtime, node, step);
    case 'addresses':
      return runAddresses(ctx.runtime, node, step);
    case 'wait':
      return runWait(ctx, step.check);
    case 'exec':
    case 'show':
      return runCommand(ctx.runtime, node, step);
    case 'http-tally':
      return runHttpTally(ctx, node, step);
  }
}

/** In a helper sharing the node's netns: the node itself keeps /proc/sys read-only. */
async function runSysctl(
  runtime: ContainerRuntime,
  node: PlannedNode,
  step: SysctlStep,
): Promise<StepOutcome> {
  const pairs = Object.entries(step.set).map(([key, value]) => `${key}=${value}`);
  const cmd = ['sysctl', '-w', ...pairs];
  const result = await runtime.runInNetns({
    target: node.containerName,
    image: node.image,
    cmd,
    capAdd: ['NET_ADMIN'],
    writableProcSys: true,
    labels: node.labels,
  });
  const evidence = [toEvidence('sysctl', cmd, result)];
  if (result.exitCode !== 0) {
    return failedToRun(
      pairs.join(' '),
      evidence,
      `sysctl -w exited ${result.exitCode}: ${firstLine(result)}`,
    );
  }
  return { verdict: 'pass', summary: pairs.join(' '), expectations: [], evidence };
}

/** Idempotent: adding an address that is there, or removing one that is not, is not an error. */
async function runAddresses(
  runtime: ContainerRuntime,
  node: PlannedNode,
  step: AddressesStep,
): Promise<StepOutcome> {
  const verb = step.action === 'add' ? 'add' : 'del';
  // Older kernels say "RTNETLINK answers: File exists" / "Cannot assign requested address", newer
  // ones (extended ack) "Address already assigned" / "Address not found".
  const alreadyDone =
    step.action === 'add'
      ? /File exists|Address already assigned/
      : /Cannot assign requested address|Address not found/;
  const evidence: Evidence[] = [];
  let unchanged = 0;
  // One exec for the whole list (an exec costs ~1 s under the sandbox's UML kernel); each address
  // travels as an argument, and each gets its own result line: `cidr \t exit \t message`.
  const script =
    'verb=$1 dev=$2; shift 2; for cidr in "$@"; do ' +
    'out=$(ip addr "$verb" "$cidr" dev "$dev" 2>&1); printf \'%s\\t%s\\t%s\\n\' "$cidr" "$?" "$out"; done';
  const batch = await runtime.exec(node.containerName, [
    'sh',
    '-c',
    script,
    'sh',
    verb,
    step.dev,
    ...step.addresses,
  ]);
  const results = new Map(
    batch.stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter((fields) => fields.length >= 3)
      .map(([cidr = '', exit = '', ...message]) => [
        cidr,
        { exit: Number(exit), message: message.join('\t') },
      ]),
  );
  for (const cidr of step.addresses) {
    const cmd = ['ip', 'addr', verb, cidr, 'dev', step.dev];
    const result = results.get(cidr) ?? { exit: -1, message: batch.stderr || 'no result from the batch' };
    if (result.exit === 0) continue;
    if (alreadyDone.test(result.message)) {
      unchanged += 1;
      continue;
    }
    evidence.push(
      toEvidence(`${verb} ${cidr}`, cmd, { exitCode: result.exit, stdout: '', stderr: result.message }),
    );
  }
  const done = step.addresses.length - unchanged - evidence.length;
  const summary = `${step.action === 'add' ? 'added' : 'removed'} ${done} on ${step.dev}${unchanged > 0 ? `, ${unchanged} unchanged` : ''}`;
  if (evidence.length > 0) {
    return failedToRun(
      summary,
      evidence,
      `ip addr ${verb} failed for ${evidence.length} of ${step.addresses.length}`,
    );
  }
  return { verdict: 'pass', summary, expectations: [], evidence };
}

async function runWait(ctx: VerifyContext, check: ReadinessCheck): Promise<StepOutcome> {
  let failure: unknown;
  try {
    await ctx.waitFor(check);
  } catch (error) {
    failure = error ?? new Error('wait failed');
  }
  const expectation = evaluateWait(describeCheck(check), failure);
  return {
    verdict: expectation.ok ? 'pass' : 'fail',
    summary:
      failure instanceof ReadinessTimeout ? `timed out, last seen: ${failure.lastSeen}` : expectation.seen,
    expectations: [expectation],
    evidence: [],
  };
}

async function runCommand(
  runtime: ContainerRuntime,
  node: PlannedNode,
  step: ExecStep | ShowStep,
): Promise<StepOutcome> {
  const cmd = stepArgv(step, node.dataPlane);
  const result = await runtime.exec(node.containerName, cmd, { timeoutMs: step.timeoutMs });
  const label = step.type === 'show' ? (step.what ?? 'show') : 'exec';
  const evidence = [toEvidence(label, cmd, result)];
  if (step.type === 'show') {
    const lines = result.stdout.trimEnd() === '' ? 0 : result.stdout.trimEnd().split('\n').length;
    const summary = `${lines} line${lines === 1 ? '' : 's'}`;
    if (result.exitCode !== 0)
      return failedToRun(summary, evidence, `exited ${result.exitCode}: ${firstLine(result)}`);
    return { verdict: 'pass', summary, expectations: [], evidence };
  }
  const expectations = evaluateExec(step, result);
  return {
    verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
    summary: `exit ${result.exitCode}`,
    expectations,
    evidence,
  };
}

async function runHttpTally(
  ctx: VerifyContext,
  node: PlannedNode,
  step: HttpTallyStep,
): Promise<StepOutcome> {
  const script = renderHttpTallyScript(step);
  const timeoutMs = httpTallyExecTimeoutMs(step);
  const result = await ctx.runtime.exec(node.containerName, ['sh', '-c', script], { timeoutMs });
  const tally = tallyRecords(parseHttpTallyOutput(result.stdout, step), step.header);
  const summary = formatTally(tally);
  const loopEvidence =
    result.stderr.trim() === ''
      ? []
      : [toEvidence('request loop', ['sh', '-c', '<http-tally script>'], result)];
  if (result.exitCode !== 0) {
    const why =
      result.exitCode === 124
        ? `the request loop did not finish in ${Math.round(timeoutMs / 1000)} s (${tally.answered} of ${tally.requests} requests answered)`
        : `the request loop exited ${result.exitCode}: ${firstLine(result)}`;
    return { ...failedToRun(summary, loopEvidence, why), tally };
  }

  const target = new URL(step.url).hostname;
  const facts: TallyFacts = {
    node: node.name,
    header: step.header,
    sources: step.sources,
    target,
    directors: ctx.plan.nodes.filter((n) => n.dataPlane !== undefined).map((n) => n.name),
  };
  let expectations = evaluateTally(step.expect, tally, facts);
  const evidence = [...loopEvidence];
  if (expectations.some((e) => !e.ok)) {
    // Read the two facts that explain most ECMP surprises, then judge again with them.
    const policyCmd = ['cat', '/proc/sys/net/ipv4/fib_multipath_hash_policy'];
    const policy = await ctx.runtime.exec(node.containerName, policyCmd);
    evidence.push(toEvidence('hash policy', policyCmd, policy));
    if (policy.exitCode === 0 && /^\d+$/.test(policy.stdout.trim()))
      facts.hashPolicy = Number(policy.stdout.trim());
    if (isIPv4(target)) {
      const routeCmd = ['ip', '-4', 'route', 'show', `${target}/32`];
      const route = await ctx.runtime.exec(node.containerName, routeCmd);
      evidence.push(toEvidence(`route to ${target}`, routeCmd, route));
      if (route.exitCode === 0) facts.nexthops = countNexthops(route.stdout);
    }
    expectations = evaluateTally(step.expect, tally, facts);
  }
  return {
    verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
    summary,
    expectations,
    tally,
    evidence,
  };
}

function failedToRun(summary: string, evidence: Evidence[], error: string): StepOutcome {
  return { verdict: 'error', summary, expectations: [], evidence, error };
}

function toEvidence(label: string, cmd: string[], result: ExecResult): Evidence {
  return {
    label,
    command: shellCommand(cmd),
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

function firstLine(result: ExecResult): string {
  const text = result.stderr.trim() || result.stdout.trim();
  return text.split('\n')[0] ?? '';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
