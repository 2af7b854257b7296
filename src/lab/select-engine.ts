/**
 * Engine selection. `up` with `auto` gives the user real IPVS whenever it can: the host engine if its
 * kernel has IPVS, else the sandbox (a UML kernel with IPVS) if this host can run it, else the host
 * engine with the nftables director and a warning. Commands that only look at or remove a lab never
 * start anything: they consult the engines that are already there.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { release } from 'node:os';
import { probeIpvs } from '../apply/preflight.js';
import { teardownLab } from '../apply/teardown.js';
import { LABEL } from '../core/labels.js';
import { ensureNodeImage } from '../images/node-image.js';
import {
  canRunSandbox,
  ensureNodeImageInSandbox,
  sandboxImageStores,
  runningSandboxEndpoint,
  sandboxStatus,
  stopSandbox,
  sandboxLabLinks,
  sandboxPaths,
  startSandbox,
  type SandboxEndpoint,
} from '../sandbox/index.js';
import { SplitRuntime } from '../runtime/split-runtime.js';
import { guestKernelFacts } from '../sandbox/kernel-facts.js';
import { watchProcess } from '../sandbox/process-watch.js';
import type { EngineFacts } from '../core/engine.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import {
  ENGINE_SCOPE,
  connectHostDocker,
  hostDockerEndpoint,
  type Engine,
  type EngineChoice,
} from '../runtime/engine.js';

type Progress = (line: string) => void;

/** The guest cannot see the host's files (nodes placed on the host half could, but placement is the plan's). */
const SANDBOX_CAPABILITIES = { binds: false } as const;

export function hostEngine(runtime: DockerRuntime, reason: string, name = 'docker'): Engine {
  return {
    name,
    kind: 'docker',
    runtime,
    capabilities: { binds: true },
    splitsNodes: false,
    reason,
    prepareNodeImage: (progress) => ensureNodeImage(runtime, { onProgress: progress }),
  };
}

/**
 * The sandbox engine. With a host engine beside it (and a guest that has lab links), a lab is split:
 * only the nodes that need the guest's kernel run in the slow guest, the rest on the host engine.
 */
async function sandboxEngine(endpoint: SandboxEndpoint, reason: string, name = 'sandbox'): Promise<Engine> {
  // Every connection to the guest goes through this agent: when the guest's process dies, calls in
  // flight would otherwise wait forever for a peer that vanished without a reset.
  // The guest's tap goes first (stopSandbox), so no new connection waits out TCP's SYN retries
  // on a neighbour that can no longer answer.
  const guestConnections = new Agent({ keepAlive: true });
  let cleanedUp: Promise<unknown> | undefined;
  watchProcess(endpoint.pid, () => {
    guestConnections.destroy();
    cleanedUp = stopSandbox()
      .catch(() => undefined)
      .finally(() => guestConnections.destroy());
  });
  const images = await sandboxImageStores(endpoint.dockerHost, guestConnections);
  const { guest, host } = images;
  const links = endpoint.labLinks ?? [];
  const runtime =
    host && links.length > 0
      ? new SplitRuntime(host.withScope(ENGINE_SCOPE.sandbox), guest, sandboxLabLinks(sandboxPaths(), links))
      : guest;
  return {
    name,
    kind: 'sandbox',
    runtime,
    capabilities: SANDBOX_CAPABILITIES,
    splitsNodes: runtime !== guest,
    reason,
    explainFailure: async (lab) => {
      if ((await sandboxStatus({ probe: false })).running) return undefined;
      await cleanedUp;
      await stopSandbox();
      if (runtime instanceof SplitRuntime) await teardownLab(runtime.host, lab);
      return (
        `the sandbox guest stopped while lab ${lab} was being built (its UML process pid ${endpoint.pid} is gone); ` +
        "its tap, pid file and endpoint are cleaned up and the lab's host-side nodes removed"
      );
    },
    kernelFacts: guestKernelFacts(endpoint, sandboxPaths().kernelFactsFile),
    prepareNodeImage: async (progress) => ensureNodeImageInSandbox(images, { onProgress: progress }),
  };
}

export async function startedSandbox(reason: string, progress: Progress, name = 'sandbox'): Promise<Engine> {
  const started = await startSandbox({ onProgress: progress });
  return sandboxEngine(started.endpoint, reason, name);
}

async function tryHostDocker(): Promise<DockerRuntime | undefined> {
  try {
    return await connectHostDocker();
  } catch {
    return undefined;
  }
}

/** Decides where `auto` runs a lab, from what the host engine and the sandbox can do. Pure. */
export function chooseAutoEngine(facts: {
  hostEngine: boolean;
  hostIpvs?: EngineFacts;
  sandbox: { ok: boolean; reason?: string };
}): { engine: 'docker' | 'sandbox' | 'none'; reason: string } {
  if (facts.hostEngine && facts.hostIpvs?.ipvs)
    return { engine: 'docker', reason: "the host engine's kernel has IPVS" };
  const hostWhy = facts.hostEngine
    ? `the host engine's kernel has no IPVS (${facts.hostIpvs?.ipvsReason ?? 'unknown'})`
    : 'no host Docker engine answers';
  if (facts.sandbox.ok) return { engine: 'sandbox', reason: `${hostWhy}; the sandbox's UML kernel has IPVS` };
  if (facts.hostEngine) {
    return {
      engine: 'docker',
      reason: `${hostWhy} and the sandbox cannot run here (${facts.sandbox.reason}): directors use the nftables stand-in`,
    };
  }
  return { engine: 'none', reason: `${hostWhy} and the sandbox cannot run here (${facts.sandbox.reason})` };
}

/** The engine `up` creates a lab on (starting the sandbox if that is the choice). */
export async function engineForUp(choice: EngineChoice, progress: Progress): Promise<Engine> {
  if (choice === 'docker') return hostEngine(await connectHostDocker(), 'chosen with --engine docker');
  if (choice === 'sandbox') return startedSandbox('chosen with --engine sandbox', progress);

  const host = await tryHostDocker();
  let hostIpvs: EngineFacts | undefined;
  if (host) {
    const image = await ensureNodeImage(host, { onProgress: progress });
    hostIpvs = await probeIpvs(host, image.ref);
  }
  const sandbox = hostIpvs?.ipvs ? { ok: false, reason: 'not needed' } : await canRunSandbox();
  const choice_ = chooseAutoEngine({ hostEngine: host !== undefined, hostIpvs, sandbox });
  if (choice_.engine === 'docker' && host) return hostEngine(host, choice_.reason);
  if (choice_.engine === 'sandbox') return startedSandbox(choice_.reason, progress);
  throw new Error(`no engine can run the lab: ${choice_.reason}`);
}

/**
 * What `up --engine CHOICE` would run a lab on, worked out without starting or creating anything:
 * `lblab plan` shows the engine, data plane and timers `up` will really use.
 */
export async function plannedEngine(
  choice: EngineChoice,
): Promise<{ facts: EngineFacts & { engine: 'docker' | 'sandbox' }; reason: string }> {
  if (choice === 'sandbox')
    return {
      facts: { engine: 'sandbox', splitsNodes: true, ipvs: true },
      reason: 'chosen with --engine sandbox',
    };
  const hostIpvs = await localKernelIpvs();
  if (choice === 'docker')
    return { facts: { engine: 'docker', ...hostIpvs }, reason: 'chosen with --engine docker' };
  const sandbox = hostIpvs.ipvs ? { ok: false, reason: 'not needed' } : await canRunSandbox();
  const auto = chooseAutoEngine({ hostEngine: true, hostIpvs, sandbox });
  return auto.engine === 'sandbox'
    ? { facts: { engine: 'sandbox', splitsNodes: true, ipvs: true }, reason: auto.reason }
    : { facts: { engine: 'docker', ...hostIpvs }, reason: auto.reason };
}

/** Whether the host engine's kernel (this one, when the engine is local) has IPVS, read from /proc and /lib/modules. */
async function localKernelIpvs(): Promise<EngineFacts> {
  if (!hostDockerEndpoint().startsWith('unix://'))
    return {
      ipvs: false,
      ipvsReason: `the engine at ${hostDockerEndpoint()} is remote; plan with --ipvs if its kernel has IPVS`,
    };
  if (existsSync('/proc/net/ip_vs')) return { ipvs: true };
  const modules = `/lib/modules/${release()}`;
  for (const index of ['modules.dep', 'modules.builtin']) {
    const text = await readFile(`${modules}/${index}`, 'utf8').catch(() => '');
    if (/(^|\/)ip_vs\.ko/m.test(text)) return { ipvs: true };
  }
  return { ipvs: false, ipvsReason: `kernel ${release()} has no ip_vs module` };
}

/** The engines that exist right now for this choice; nothing is started. */
export async function enginesInUse(choice: EngineChoice): Promise<Engine[]> {
  const engines: Engine[] = [];
  const host = choice === 'docker' ? await connectHostDocker() : await tryHostDocker();
  if (host && choice !== 'sandbox')
    engines.push(hostEngine(host, choice === 'docker' ? 'chosen with --engine docker' : 'host engine'));
  if (choice !== 'docker') {
    const endpoint = await runningSandboxEndpoint();
    if (endpoint) {
      engines.push(await sandboxEngine(endpoint, 'the sandbox is running'));
    } else if (host && (await hasSandboxLeftovers(host))) {
      // The guest is gone but its labs' host-side nodes are not: `down` must still find them.
      engines.push(stoppedSandboxEngine(host));
    } else if (choice === 'sandbox') {
      throw new Error(
        'the sandbox engine is not running; start it with `lblab engine start` or `lblab up --engine sandbox`',
      );
    }
  }
  if (engines.length === 0) {
    throw new Error('no engine is running: no host Docker engine answers and the sandbox is stopped');
  }
  return engines;
}

function sandboxHalfOnHost(host: DockerRuntime): DockerRuntime {
  return host.withScope(ENGINE_SCOPE.sandbox);
}

async function hasSandboxLeftovers(host: DockerRuntime): Promise<boolean> {
  const half = sandboxHalfOnHost(host);
  const filter = { [LABEL.lab]: true } as const;
  return (await half.listContainers(filter)).length + (await half.listNetworks(filter)).length > 0;
}

function stoppedSandboxEngine(host: DockerRuntime, name = 'sandbox'): Engine {
  return {
    name,
    kind: 'sandbox',
    runtime: sandboxHalfOnHost(host),
    capabilities: SANDBOX_CAPABILITIES,
    splitsNodes: true,
    reason: "the sandbox is stopped; its labs' host-side nodes are still on the host engine",
    prepareNodeImage: () => Promise.reject(new Error('the sandbox is stopped')),
  };
}
