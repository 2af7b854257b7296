/**
 * apply: make a Plan real. Networks first, then every node in parallel (create → copy files → start
 * → one setup exec), then every readiness condition in parallel. Any failure or interrupt removes
 * everything this lab has, so `up` is all or nothing.
 */
import { SETUP_SCRIPT_PATH, type Plan, type PlannedNode } from '../core/plan.js';
import type { ContainerRuntime } from '../core/runtime.js';
import { LabError, type Stage } from '../core/errors.js';
import { InterruptedError } from '../util/interrupt.js';
import { runPool } from './pool.js';
import { checkBindSources } from './preflight.js';
import { checkTypeOf, describeCheck } from '../checks/registry.js';
import { PROBE_TIMEOUT_MS, ReadinessTimeout, waitForCheck } from '../checks/wait.js';
import { teardownLab } from './teardown.js';

export interface ProgressEvent {
  node?: string;
  stage: Stage | 'ready';
  message: string;
}

export interface ApplyOptions {
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** Nodes created/configured at once; the engine serialises some of it anyway. */
  concurrency?: number;
  /**
   * Leave a lab that failed its setup or readiness as it is, to look inside (`up --keep-on-failure`).
   * An interrupt still rolls back: the user asked for it to stop.
   */
  keepOnFailure?: boolean;
}

/** How long each stage of apply took (durations, not marks). */
export interface ApplyTimings {
  networksMs: number;
  /** Containers created (files copied in) and started. */
  containersMs: number;
  /** Every node's setup script run. */
  configureMs: number;
  /** Readiness: OSPF adjacencies Full, ECMP installed, services answering. */
  convergeMs: number;
}

/** A node's setup script on the host engine; slower engines get the plan's timeout scale on top. */
const SETUP_TIMEOUT_MS = 120_000;

export async function applyPlan(
  runtime: ContainerRuntime,
  plan: Plan,
  options: ApplyOptions = {},
): Promise<ApplyTimings> {
  const progress = options.onProgress ?? (() => undefined);
  const concurrency = options.concurrency ?? 8;
  const checkAbort = () => {
    if (options.signal?.aborted) throw InterruptedError.from(options.signal);
  };
  const started = performance.now();

  // Before the first object exists: a bind source Docker cannot use as is would be created on the host
  // (and left there) or would reach outside the lab's directory.
  await checkBindSources(plan);

  try {
    for (const network of plan.networks) {
      checkAbort();
      progress({ stage: 'network', message: `creating network ${network.dockerName} (${network.subnet})` });
      const spread = network.members ? { members: network.members, overlay: network.overlay === true } : {};
      try {
        await runtime.createNetwork(
          network.isolated
            ? {
                ...spread,
                name: network.dockerName,
                labels: network.labels,
                hostsNeeded: plan.nodes.filter((node) =>
                  node.interfaces.some((iface) => iface.network === network.name),
                ).length,
              }
            : {
                ...spread,
                name: network.dockerName,
                subnet: network.subnet,
                ipRange: network.ipRange,
                gateway: network.gateway,
                labels: network.labels,
              },
        );
      } catch (error) {
        throw new LabError('network', `cannot create ${network.dockerName}: ${(error as Error).message}`, {
          hint: 'another Docker network may use this subnet: `docker network ls`, or change the subnet',
          cause: error,
        });
      }
    }
    const networksDone = performance.now();

    // Each node goes create → start → setup on its own, and starts polling its readiness right away:
    // no node waits for the slowest one at every stage. Readiness runs outside the worker pool (a
    // router waiting for both directors must not hold a slot a director needs), and is stopped
    // early if another node fails.
    const stopReadiness = new AbortController();
    const readinessSignal = options.signal
      ? AbortSignal.any([options.signal, stopReadiness.signal])
      : stopReadiness.signal;
    const readiness: Promise<unknown>[] = [];
    // Once one node's readiness failed, up fails (and rolls back): the others stop waiting, each
    // with what it saw last, instead of waiting out their timeouts.
    const giveUp = new AbortController();
    let failedFirst = '';
    const readinessFailed = (nodeName: string) => {
      if (giveUp.signal.aborted) return;
      failedFirst = nodeName;
      giveUp.abort();
    };
    let lastStarted = 0;
    let lastConfigured = 0;
    // Readiness timeouts count from here: a router must not give up on directors still being created.
    let allConfigured!: () => void;
    const everyNodeConfigured = new Promise<void>((resolve) => (allConfigured = resolve));
    let configuredNodes = 0;
    try {
      await inParallel(plan.nodes, concurrency, options.signal, async (node) => {
        await createAndStart(runtime, node, progress);
        lastStarted = Math.max(lastStarted, performance.now());
        await runSetup(runtime, node, progress, options.signal, SETUP_TIMEOUT_MS * plan.tuning.timeoutScale);
        lastConfigured = Math.max(lastConfigured, performance.now());
        if (++configuredNodes === plan.nodes.length) allConfigured();
        // Settled to the error (or undefined), so nothing is an unhandled rejection while others run.
        readiness.push(
          waitUntilReady(runtime, node, readinessSignal, progress, {
            intervalMs: plan.tuning.pollIntervalMs,
            probeTimeoutMs: PROBE_TIMEOUT_MS * plan.tuning.timeoutScale,
            countFrom: everyNodeConfigured,
            giveUp: {
              signal: giveUp.signal,
              reason: () => `${failedFirst} failed`,
              failed: readinessFailed,
            },
          }).then(
            () => undefined,
            (e: unknown) => e,
          ),
        );
      });
    } catch (error) {
      stopReadiness.abort();
      await Promise.all(readiness);
      throw error;
    }
    const readinessErrors = (await Promise.all(readiness)).filter((error) => error !== undefined);
    checkAbort();
    throwFirstFailure(ReadinessTimeout.causesFirst(readinessErrors).map((error) => ({ error })));
    // Stage durations from the marks: the last node started, the last node configured, all ready.
    return {
      networksMs: Math.round(networksDone - started),
      containersMs: Math.round(lastStarted - networksDone),
      configureMs: Math.round(lastConfigured - lastStarted),
      convergeMs: Math.round(performance.now() - lastConfigured),
    };
  } catch (error) {
    if (options.keepOnFailure && !(error instanceof InterruptedError)) {
      progress({
        stage: 'teardown',
        message: `--keep-on-failure: lab ${plan.lab} is left as it is for inspection`,
      });
      if (error instanceof LabError) error.keptForInspection(plan.lab);
      throw error;
    }
    progress({ stage: 'teardown', message: `removing everything lab ${plan.lab} created` });
    try {
      await teardownLab(runtime, plan.lab);
    } catch (leftover) {
      // Say both: why up failed, and what the rollback could not remove (say, a network that a
      // container outside the lab was connected to; lblab never touches that container).
      throw new LabError(
        'teardown',
        `rolling back after "${(error as Error).message}": ${(leftover as Error).message}`,
        {
          hint: `remove or disconnect what still uses the lab's objects, then run \`lblab down --name ${plan.lab}\``,
          cause: error,
        },
      );
    }
    throw error;
  }
}

async function createAndStart(
  runtime: ContainerRuntime,
  node: PlannedNode,
  progress: (event: ProgressEvent) => void,
): Promise<void> {
  progress({
    node: node.name,
    stage: 'create',
    message: `${node.image} ${node.interfaces.map((i) => `${i.ifname}=${i.ip}`).join(' ')}`,
  });
  try {
    await runtime.createContainer({
      name: node.containerName,
      hostname: node.hostname,
      image: node.image,
      labels: node.labels,
      env: node.env,
      capAdd: node.capAdd,
      seccompProfile: node.seccomp?.profile,
      sysctls: node.sysctls,
      writableNetSysctls: node.writableNetSysctls,
      interfaces: node.interfaces.map((iface) => ({
        network: iface.dockerNetwork,
        ...(iface.selfAddressed ? {} : { ip: iface.ip }),
        mac: iface.mac,
      })),
      binds: node.binds,
      cmd: ['sleep', 'infinity'],
      files: [...node.files, { path: SETUP_SCRIPT_PATH, content: node.setupScript, mode: 0o755 }],
    });
  } catch (error) {
    throw new LabError('create', (error as Error).message, { node: node.name, cause: error });
  }
  try {
    await runtime.startContainer(node.containerName);
  } catch (error) {
    throw new LabError('start', (error as Error).message, { node: node.name, cause: error });
  }
}

/** runPool, then surface the first failure as the error (all of them are in its message). */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const failures = await runPool(items, limit, task, signal);
  // Interrupted: every task that was still running failed the same way (or was skipped); say it once.
  if (signal?.aborted) throw InterruptedError.from(signal);
  throwFirstFailure(failures);
}

function throwFirstFailure(failures: { error: unknown }[]): void {
  if (failures.length === 0) return;
  const [first] = failures;
  const error = first?.error;
  const others = failures.slice(1).map((failure) => (failure.error as Error).message);
  const more = others.length > 0 ? `\n  and ${others.length} more: ${others.join('\n  ')}` : '';
  if (error instanceof ReadinessTimeout) {
    const evidence = error.evidence ? `\n${error.check.node}'s logs:\n${error.evidence}` : '';
    const also = error.alsoUnmet.map((message) => `\n  also ${message}`).join('');
    throw new LabError(
      'readiness',
      ReadinessTimeout.detail(error.check, error.lastSeen, error.stopped) + also + more + evidence,
      {
        node: error.check.node,
        cause: error,
        hint: readinessHint(error),
      },
    );
  }
  if (error instanceof Error) error.message += more;
  throw error;
}

async function runSetup(
  runtime: ContainerRuntime,
  node: PlannedNode,
  progress: (event: ProgressEvent) => void,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<void> {
  progress({
    node: node.name,
    stage: 'setup',
    message: node.setup.map((step) => step.summary).join('; ') || 'nothing to set up',
  });
  const result = await runtime.exec(node.containerName, ['sh', SETUP_SCRIPT_PATH], {
    timeoutMs,
    signal,
  });
  if (signal?.aborted) throw InterruptedError.from(signal);
  if (result.exitCode !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
    throw new LabError('setup', detail || `setup exited with ${result.exitCode}`, {
      node: node.name,
      // The lab is rolled back, so the node cannot be inspected; the plan shows the same script.
      hint: `\`lblab plan <file>\` lists ${node.name}'s setup commands; rerun with --verbose to log every exec, or with --keep-on-failure to look inside ${node.name}`,
    });
  }
}

/** All of a node's readiness conditions, polled at once. */
async function waitUntilReady(
  runtime: ContainerRuntime,
  node: PlannedNode,
  signal: AbortSignal,
  progress: (event: ProgressEvent) => void,
  polling: {
    intervalMs: number;
    probeTimeoutMs: number;
    countFrom: Promise<unknown>;
    /** Ends every wait early; `failed` is told of each condition that failed (the first one ends them). */
    giveUp: { signal: AbortSignal; reason: () => string; failed: (node: string) => void };
  },
): Promise<void> {
  const failures = await runPool(node.readiness, node.readiness.length, async (check) => {
    const observation = await waitForCheck(runtime, node.containerName, check, {
      ...polling,
      signal,
      onRepair: (message) => progress({ node: node.name, stage: 'readiness', message }),
    }).catch((error: unknown) => {
      polling.giveUp.failed(node.name);
      throw error;
    });
    progress({ node: node.name, stage: 'ready', message: `${describeCheck(check)}: ${observation.seen}` });
  });
  const [first, ...others] = ReadinessTimeout.causesFirst(failures.map((failure) => failure.error));
  if (first === undefined) return;
  if (first instanceof ReadinessTimeout && !signal.aborted) first.evidence = await logTails(runtime, node);
  // The node's other unmet conditions ride along: they are often consequences of the first.
  if (first instanceof ReadinessTimeout) first.alsoUnmet = others.map((other) => (other as Error).message);
  throw first;
}

const LOG_TAIL_LINES = 15;

/** The last lines of the node's daemon logs, in one exec; empty when it has none or they cannot be read. */
async function logTails(runtime: ContainerRuntime, node: PlannedNode): Promise<string> {
  if (node.logs.length === 0) return '';
  const script = `for log in "$@"; do echo "--- $log"; tail -n ${LOG_TAIL_LINES} "$log" 2>&1; done`;
  try {
    const result = await runtime.exec(node.containerName, ['sh', '-c', script, 'logs', ...node.logs], {
      timeoutMs: 15_000,
    });
    return result.stdout.trimEnd();
  } catch {
    return '';
  }
}

/** The check type's own advice, else the general one. */
function readinessHint(error: ReadinessTimeout): string {
  return (
    checkTypeOf(error.check).hint ??
    'rerun with --verbose to see every probe, or with --keep-on-failure to look inside the nodes'
  );
}
