/**
 * The lab lifecycle the commands call: open (load + validate), plan, up, down, status. Commands stay
 * thin; everything with a side effect goes through the Engine's runtime.
 */
import { applyPlan, type ApplyTimings, type ProgressEvent } from '../apply/apply.js';
import { LabError } from '../core/errors.js';
import { findConflicts, probeIpvs, requireIpvsWhereDemanded } from '../apply/preflight.js';
import { teardownLab } from '../apply/teardown.js';
import type { EngineFacts, PoolMemberFacts } from '../core/engine.js';
import { KIND_TRAIT } from '../core/kind-traits.js';
import { kindHas } from '../kinds/registry.js';
import { servicesNeedingIpvs } from '../kinds/director.js';
import type { IpvsDemand } from '../apply/preflight.js';
import { LABEL } from '../core/labels.js';
import { planTopology, topologyHashOf } from '../plan/compile.js';
import { describeTuning } from '../plan/render-plan.js';
import type { DataPlane, Plan } from '../core/plan.js';
import type { Engine, KernelFactsMemo } from '../runtime/engine.js';
import type { ContainerInfo, ContainerRuntime } from '../core/runtime.js';
import { PROBE_TIMEOUT_MS, waitForCheck } from '../checks/wait.js';
import type { VerifyReport } from '../verify/report.js';
import { runVerification, type VerifyProgressEvent } from '../verify/runner.js';
import { parseVerifySteps } from '../verify/steps.js';
import type { VerifyStep } from '../verify/step-type.js';
import type { TopologyConfig } from '../core/topology.js';
import { openTopology, type OpenedTopology } from '../topology/open.js';
import { withLabLock } from './lab-lock.js';
import {
  isPoolLabEngine,
  placementIssues,
  restorePoolSwarm,
  swarmForPlan,
  type PoolLabEngine,
} from './pool-lab.js';

/**
 * Directors whose data plane depends on whether the engine has IPVS, and those that cannot do without
 * it: `engine: ipvs`, or a service its method's nftables stand-in cannot forward as declared.
 */
export function directorsWantingIpvs(config: TopologyConfig): {
  any: string[];
  demanded: IpvsDemand[];
} {
  const directors = Object.entries(config.topology.nodes).filter(([, node]) =>
    kindHas(node.kind, KIND_TRAIT.director),
  );
  return {
    any: directors.filter(([, node]) => (node.engine ?? 'auto') !== 'nftables').map(([name]) => name),
    demanded: directors.flatMap(([name, node]): IpvsDemand[] => {
      if (node.engine === 'ipvs') return [{ node: name, why: 'it sets engine: ipvs' }];
      if (node.engine === 'nftables') return [];
      const needs = servicesNeedingIpvs(node);
      return needs.length > 0 ? [{ node: name, why: needs.join('; ') }] : [];
    }),
  };
}

/**
 * One IPVS probe per engine and image in a process: a class brings up thirty labs at once, and a
 * probe is a helper container each time. The engine's kernel does not change under one command.
 */
const ipvsProbes = new WeakMap<
  ContainerRuntime,
  Map<string, Promise<Omit<EngineFacts, 'engine' | 'splitsNodes'>>>
>();

export function probeIpvsOnce(runtime: ContainerRuntime, image: string, lab: string, memo?: KernelFactsMemo) {
  const byImage = ipvsProbes.get(runtime) ?? new Map();
  ipvsProbes.set(runtime, byImage);
  let probe = byImage.get(image);
  if (!probe) {
    probe = (async () => {
      const known = await memo?.recall(image);
      if (known) return known;
      const facts = await probeIpvs(runtime, image, { [LABEL.lab]: lab });
      // Only a kernel that has IPVS is remembered: a missing module is what a user fixes next.
      if (facts.ipvs) await memo?.remember(image, facts).catch(() => undefined);
      return facts;
    })();
    // A probe that failed outright is not a fact about the kernel: the next lab asks again.
    probe.catch(() => byImage.delete(image));
    byImage.set(image, probe);
  }
  return probe;
}

/** Stage durations of `up`; they add up to totalMs (give or take bookkeeping). */
export interface UpTimings extends ApplyTimings {
  imagesMs: number;
  preflightMs: number;
  totalMs: number;
}

export interface UpResult {
  lab: string;
  engine: string;
  engineReason: string;
  /** `unchanged`: the lab was already up from this exact topology, nothing was done. */
  outcome: 'created' | 'unchanged';
  dataPlanes: Record<string, DataPlane>;
  image: string;
  warnings: string[];
  timings: UpTimings;
  plan: Plan;
}

export interface UpOptions {
  labName?: string;
  /**
   * How often readiness is polled, when not the engine's own interval: a class brings many labs up
   * at once, and every probe is an exec that takes CPU from the labs being brought up.
   */
  pollIntervalMs?: number;
  keepOnFailure?: boolean;
  isolate?: boolean;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export async function upLab(engine: Engine, file: string, options: UpOptions = {}): Promise<UpResult> {
  const progress = options.onProgress ?? (() => undefined);
  const topology = await openTopology(file);
  const lab = options.labName ?? topology.config.name;
  return withLabLock(
    lab,
    ({ ownerDied }) =>
      upLocked(engine, topology, lab, { ...options, onProgress: progress }, ownerDied).catch(
        async (error: unknown) => {
          // An engine that died under the lab (the sandbox guest) explains that, not the call it broke.
          const died = await engine.explainFailure?.(lab).catch(() => undefined);
          if (!died) throw error;
          const nameFlag = options.labName ? ` --name ${options.labName}` : '';
          throw new LabError('engine', died, {
            cause: error,
            hint: `run \`lblab up ${file}${nameFlag}\` again: it starts a new guest`,
          });
        },
      ),
    (line) => progress({ stage: 'preflight', message: line }),
  );
}

async function upLocked(
  engine: Engine,
  topology: OpenedTopology,
  lab: string,
  options: UpOptions & { onProgress: (event: ProgressEvent) => void },
  /** The last up or down of this lab was killed before it finished. */
  ownerDied: boolean,
): Promise<UpResult> {
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);
  const progress = options.onProgress;
  const file = topology.file;
  const runtime = engine.runtime;

  const image = await engine.prepareNodeImage((line) => progress({ stage: 'image', message: line }));
  const imagesMs = since();

  const wanting = directorsWantingIpvs(topology.config);
  const where = { engine: engine.kind, splitsNodes: engine.splitsNodes };
  let facts: EngineFacts = { ...where, ipvs: false, ipvsReason: 'no director asks for it' };
  if (wanting.any.length > 0) {
    facts = { ...where, ...(await probeIpvsOnce(runtime, image.ref, lab, engine.kernelFacts)) };
    progress({
      stage: 'preflight',
      message: facts.ipvs ? `engine kernel has IPVS` : `engine kernel has no IPVS (${facts.ipvsReason})`,
    });
  }
  const pool = isPoolLabEngine(engine) ? engine : undefined;
  if (pool) {
    const members = await poolMemberFacts(pool, image.ref, lab);
    facts = { ...facts, ipvs: members.some((m) => m.ipvs), members };
    progress({
      stage: 'preflight',
      message: `pool: ${members.map((m) => `${m.name} ${m.ipvs ? 'has' : 'has no'} IPVS`).join(', ')}`,
    });
  }
  const misplaced = topology.locate(placementIssues(topology.config, facts.members, wanting.demanded));
  if (misplaced) throw misplaced;
  requireIpvsWhereDemanded(wanting.demanded, facts);
  const compiled = planTopology(topology, {
    labName: options.labName,
    isolate: options.isolate,
    defaultImage: image.ref,
    facts,
  });
  const plan =
    options.pollIntervalMs === undefined
      ? compiled
      : { ...compiled, tuning: { ...compiled.tuning, pollIntervalMs: options.pollIntervalMs } };
  progress({
    stage: 'preflight',
    message: `${describeTuning(plan)}: ${plan.tuning.why}`,
  });
  const base = {
    lab,
    engine: engine.name,
    engineReason: engine.reason,
    image: image.ref,
    plan,
    warnings: plan.warnings,
  };
  const dataPlanes = Object.fromEntries(
    plan.nodes.filter((n) => n.dataPlane).map((n) => [n.name, n.dataPlane as DataPlane]),
  );

  const nameFlag = options.labName ? ` --name ${options.labName}` : '';
  if (!engine.capabilities.binds) {
    const withBinds = Object.entries(topology.config.topology.nodes).filter(
      ([, node]) => (node.binds ?? []).length > 0,
    );
    if (withBinds.length > 0) {
      throw new LabError(
        'preflight',
        `${withBinds.map(([name]) => name).join(', ')} bind host paths, which the ${engine.name} engine cannot see`,
        {
          hint: 'run this lab with --engine docker, or create the files with exec lines instead of binds',
        },
      );
    }
  }
  const existing = labNodes(await runtime.listContainers({ [LABEL.lab]: lab }));
  if (existing.length === 0) {
    // Networks without nodes are what an interrupted down leaves; they are this lab's, so clear them.
    await teardownLab(runtime, lab);
  }
  if (existing.length > 0) {
    const state = ownerDied ? 'incomplete' : compareWithRunning(plan, existing);
    if (state === 'same' && !options.force) {
      const timings = {
        imagesMs,
        preflightMs: since() - imagesMs,
        networksMs: 0,
        containersMs: 0,
        configureMs: 0,
        convergeMs: 0,
        totalMs: since(),
      };
      return { ...base, outcome: 'unchanged', dataPlanes, timings };
    }
    if (!options.force) {
      throw new LabError(
        'preflight',
        `lab ${lab} is already up ${state === 'changed' ? 'from a different topology' : ownerDied ? 'but the lblab process building it was killed before it finished' : 'but incomplete'}`,
        {
          hint: `run \`lblab down ${file}${nameFlag}\` first, or \`lblab up ${file}${nameFlag} --force\` to recreate it`,
        },
      );
    }
    progress({ stage: 'teardown', message: `--force: removing the running lab ${lab}` });
    await teardownLab(runtime, lab);
  }

  const conflicts = await findConflicts(runtime, plan);
  if (conflicts.length > 0) {
    throw new LabError('preflight', conflicts.join('; '), {
      hint: 'remove or rename the conflicting objects, or run this lab under another --name and subnet',
    });
  }
  const preflightMs = since() - imagesMs;

  const swarmLine = (message: string) => progress({ stage: 'preflight', message });
  if (pool) await swarmForPlan(pool, plan, swarmLine);
  const applied = await applyPlan(runtime, plan, {
    signal: options.signal,
    onProgress: progress,
    keepOnFailure: options.keepOnFailure,
  }).catch(async (error: unknown) => {
    // All or nothing across engines: the rolled-back lab's Swarm goes too (unless kept to look into).
    if (pool && !options.keepOnFailure)
      await restorePoolSwarm(pool.members, swarmLine).catch(() => undefined);
    throw error;
  });
  return {
    ...base,
    outcome: 'created',
    dataPlanes,
    timings: {
      imagesMs,
      preflightMs,
      ...applied,
      totalMs: since(),
    },
  };
}

/** The lab's own addresses (from the label: on isolated networks Docker's differ), else Docker's. */
function labAddresses(container: ContainerInfo): Record<string, string> {
  const label = container.labels[LABEL.addresses];
  if (!label) return container.addresses;
  return Object.fromEntries(label.split(',').map((pair) => pair.split('=') as [string, string]));
}

/** A lab's node containers, not the one-shot helpers that may be running beside them. */
function isLabNode(container: ContainerInfo): boolean {
  return container.labels[LABEL.node] !== undefined && container.labels[LABEL.helper] === undefined;
}

function labNodes(containers: ContainerInfo[]): ContainerInfo[] {
  return containers.filter(isLabNode);
}

function compareWithRunning(plan: Plan, existing: ContainerInfo[]): 'same' | 'changed' | 'incomplete' {
  if (existing.some((c) => c.labels[LABEL.topologyHash] !== plan.topologyHash)) return 'changed';
  const running = new Set(existing.filter((c) => c.state === 'running').map((c) => c.labels[LABEL.node]));
  return plan.nodes.every((node) => running.has(node.name)) && existing.length === plan.nodes.length
    ? 'same'
    : 'incomplete';
}

export interface NodeStatus {
  lab: string;
  node: string;
  kind: string;
  image: string;
  state: string;
  container: string;
  dataPlane?: string;
  addresses: Record<string, string>;
}

export async function labStatus(engine: Engine, lab: string | undefined): Promise<NodeStatus[]> {
  const containers = await engine.runtime.listContainers({ [LABEL.lab]: lab ?? true });
  return containers
    .filter(isLabNode)
    .map((c) => ({
      lab: c.labels[LABEL.lab] ?? '',
      node: c.labels[LABEL.node] ?? '',
      kind: c.labels[LABEL.kind] ?? '',
      image: c.image,
      state: c.state,
      container: c.name,
      ...(c.labels[LABEL.dataPlane] ? { dataPlane: c.labels[LABEL.dataPlane] } : {}),
      addresses: labAddresses(c),
    }))
    .sort((a, b) => a.lab.localeCompare(b.lab) || a.node.localeCompare(b.node));
}

export interface VerifyOptions {
  labName?: string;
  onProgress?: (event: VerifyProgressEvent) => void;
  /** A signal stops the run between steps; the faults the steps injected are undone first. */
  signal?: AbortSignal;
  /** Other steps than the topology's verify: list (an exercise's break, checks or solution). */
  steps?: VerifyStep[];
  /** The steps change the lab for good: nothing they did is undone (an exercise's break). */
  keepChanges?: boolean;
  /** How to bring the lab up, for the error when it is not (default: `lblab up FILE`). */
  upCommand?: string;
}

/**
 * How the running lab was built from the topology text, by its nodes' topology-hash labels: with
 * `--isolate` or without, or (`changedSinceUp`) from another text, when the file was edited since `up`.
 */
export function matchRunningTopology(
  text: string,
  runningHashes: string[],
): { isolate: boolean; changedSinceUp: boolean; runningHash: string; fileHash: string } {
  const hashes = new Set(runningHashes);
  const plain = topologyHashOf(text, false);
  const isolated = topologyHashOf(text, true);
  const runningHash = [...hashes].join(', ');
  if (hashes.size === 1 && hashes.has(plain))
    return { isolate: false, changedSinceUp: false, runningHash, fileHash: plain };
  if (hashes.size === 1 && hashes.has(isolated))
    return { isolate: true, changedSinceUp: false, runningHash, fileHash: isolated };
  return { isolate: false, changedSinceUp: true, runningHash, fileHash: plain };
}

/** Each member's kernel, probed once per process: where compile places nodes and how directors forward. */
async function poolMemberFacts(pool: PoolLabEngine, image: string, lab: string): Promise<PoolMemberFacts[]> {
  const members: PoolMemberFacts[] = [];
  for (const member of pool.members) {
    const kernel = await probeIpvsOnce(member.runtime, image, lab, member.kernelFacts);
    members.push({ name: member.name, kind: member.kind, ...kernel });
  }
  return members;
}

/**
 * Runs the topology's `verify:` steps against the running lab. The plan is rebuilt from the file and
 * what is running (the node image, whether directors got IPVS, --isolate), so it names the same
 * containers; when the file changed since `up`, the report says so.
 */
export async function verifyLab(
  engine: Engine,
  file: string,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const topology = await openTopology(file);
  const lab = options.labName ?? topology.config.name;
  const running = await engine.runtime.listContainers({ [LABEL.lab]: lab });
  const nodes = labNodes(running);
  if (nodes.length === 0) {
    throw new LabError('preflight', `lab ${lab} is not up on ${engine.name}`, {
      hint: `run \`${options.upCommand ?? `lblab up ${file}`}\` first`,
    });
  }
  const match = matchRunningTopology(
    topology.text,
    nodes.map((c) => c.labels[LABEL.topologyHash] ?? ''),
  );
  const warnings = match.changedSinceUp
    ? [
        `${file} changed since lab ${lab} was brought up (running topology ${match.runningHash}, the file is now ${match.fileHash}): ` +
          `the steps are the file's, the lab is the old one; \`lblab up ${file}${options.labName ? ` --name ${options.labName}` : ''} --force\` rebuilds it from the file`,
      ]
    : [];
  const plan = planTopology(topology, {
    labName: options.labName,
    isolate: match.isolate,
    defaultImage: nodes[0]?.image ?? '',
    facts: {
      engine: engine.kind,
      splitsNodes: engine.splitsNodes,
      ipvs: nodes.some((c) => c.labels[LABEL.dataPlane] === 'ipvs'),
      // A lab across a pool: the same placement and overlays as up planned.
      ...(isPoolLabEngine(engine) && {
        members: await poolMemberFacts(engine, nodes[0]?.image ?? '', lab),
      }),
    },
  });
  const containerOf = new Map(plan.nodes.map((node) => [node.name, node.containerName]));
  const report = await runVerification(
    {
      runtime: engine.runtime,
      plan,
      waitFor: async (check) => {
        await waitForCheck(engine.runtime, containerOf.get(check.node) ?? check.node, check, {
          intervalMs: plan.tuning.pollIntervalMs,
          probeTimeoutMs: PROBE_TIMEOUT_MS * plan.tuning.timeoutScale,
        });
      },
      onProgress: options.onProgress,
      ...(options.signal && { signal: options.signal }),
      ...(options.keepChanges && { keepChanges: true }),
    },
    options.steps ?? parseVerifySteps(topology.config.verify),
  );
  return warnings.length > 0 ? { ...report, warnings } : report;
}
