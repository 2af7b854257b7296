/**
 * The sandbox engine's lifecycle: a Docker engine inside a User-Mode Linux guest whose kernel has
 * IPVS, which the host kernel may lack. The guest is an ordinary host process (no KVM), detached
 * from lblab, reachable over a tap link; its state lives in one directory (sandbox-paths.ts).
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LABEL } from '../core/labels.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import { dockerClientFor } from '../runtime/engine.js';
import { realClock, type Clock } from '../util/clock.js';
import { log } from '../util/log.js';
import { pollUntil } from '../util/poll.js';
import { stripAnsi } from '../util/text.js';
import {
  DOCKER_API_PORT,
  HALT_PORT,
  defaultDockerdFlags,
  guestKernelModules,
  renderGuestInit,
} from './guest-init.js';
import { pingDockerd, requestHalt } from './guest-link.js';
import { ensureGuestRoot, readRootHash } from './guest-root.js';
import {
  UML_BINARY,
  canRunSandbox,
  findSandboxTool,
  installHostPackages,
  readHostRoutes,
  umlKernelVersion,
} from './host-tools.js';
import { createLabLinkTaps, deleteLabLinkTaps, labLinksOf, type LabLink } from './lab-links.js';
import { linkCidrFromEnv, planLinkAddresses } from './link-address.js';
import { GUEST_INIT_PATH, sandboxPaths, type SandboxPaths } from './sandbox-paths.js';
import { withSandboxLock } from './state-lock.js';
import { DEFAULT_TAP, createTap, deleteTap, tapExists, validateTapName } from './tap-device.js';
import { UML_UMID, umlKernelArgs } from './uml-command-line.js';
import {
  findSandboxProcesses,
  findTapUsers,
  isSandboxProcess,
  signalProcess,
  signalProcessGroup,
} from './uml-process.js';

export interface StartSandboxOptions {
  /** The sandbox's state directory; defaults to $LBLAB_STATE_DIR/sandbox. */
  stateDir?: string;
  /** IPv4 network of the host-guest link; defaults to $LBLAB_SANDBOX_LINK or 198.51.100.0/30. */
  linkCidr?: string;
  tap?: string;
  /** Guest RAM, e.g. "1536M"; the host only commits what the guest touches. */
  memory?: string;
  /** Size of the sparse disk holding the guest's /var/lib/docker, used when it is (re)created. */
  diskSizeGiB?: number;
  /** Let dockerd manage iptables in the guest (NAT, isolation); slower to start under UML. */
  dockerIptables?: boolean;
  /** How long to wait for the guest's dockerd to answer after the kernel starts. */
  readyTimeoutMs?: number;
  /** apt-get install missing host packages (user-mode-linux, mmdebstrap, ...); on by default. */
  installMissingPackages?: boolean;
  onProgress?: (line: string) => void;
  clock?: Clock;
}

/** How to reach a running guest; written to endpoint.json once its dockerd answered. */
export interface SandboxEndpoint {
  /** e.g. tcp://198.51.100.2:2375, usable as DOCKER_HOST. */
  dockerHost: string;
  pid: number;
  tap: string;
  hostAddress: string;
  guestAddress: string;
  prefixLength: number;
  haltPort: number;
  rootHash: string;
  startedAt: string;
  /** Taps the lab networks reach the guest by (absent in guests started by older lblab versions). */
  labLinks?: LabLink[];
}

export interface StartSandboxResult {
  endpoint: SandboxEndpoint;
  stateDir: string;
  /** The guest was already up; nothing was started. */
  alreadyRunning: boolean;
  /** The guest root or its Docker disk was (re)built by this start. */
  rootBuilt: boolean;
  buildSeconds: number;
  /** From starting the UML kernel to dockerd answering. */
  bootSeconds: number;
}

export interface StopSandboxOptions {
  stateDir?: string;
  /** How long the guest gets to halt by itself before it is killed. */
  haltTimeoutMs?: number;
  onProgress?: (line: string) => void;
  clock?: Clock;
}

export interface StopSandboxResult {
  stateDir: string;
  wasRunning: boolean;
  /** clean: the guest halted itself (disk unmounted); forced: it had to be killed; none: nothing ran. */
  halt: 'clean' | 'forced' | 'none';
  seconds: number;
}

export interface SandboxStatus {
  /** The guest's kernel process is alive. */
  running: boolean;
  /** Its dockerd answered /_ping (only probed while running). */
  answering: boolean;
  pid?: number;
  dockerHost?: string;
  tap?: string;
  stateDir: string;
  rootHash?: string;
  consoleLog: string;
  /** A pid file or tap name left by a guest that is gone; the next start or stop cleans it up. */
  stale: boolean;
}

const DEFAULT_MEMORY = '1536M';
const DEFAULT_DISK_SIZE_GIB = 16;
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_HALT_TIMEOUT_MS = 30_000;
const KILL_TIMEOUT_MS = 5_000;
const PING_TIMEOUT_MS = 1_500;
/** A running guest under load may miss one ping; it is not declared hung for that. */
const RUNNING_PING_ATTEMPTS = 3;
const CONSOLE_TAIL_LINES = 25;
/** The guest kernel's niceness: ahead of ordinary host processes (CPU hogs, builds) on a busy host. */
const GUEST_NICE = -10;

const noProgress = (): void => {};

export async function startSandbox(options: StartSandboxOptions = {}): Promise<StartSandboxResult> {
  const paths = sandboxPaths(options.stateDir);
  const progress = options.onProgress ?? noProgress;
  await mkdir(paths.stateDir, { recursive: true });
  return withSandboxLock(
    paths,
    async () => {
      const running = await answeringEndpoint(paths);
      if (running) {
        progress(`The sandbox is already running (pid ${running.pid}) at ${running.dockerHost}`);
        return {
          endpoint: running,
          stateDir: paths.stateDir,
          alreadyRunning: true,
          rootBuilt: false,
          buildSeconds: 0,
          bootSeconds: 0,
        };
      }
      await shutDownGuest(paths, {
        haltTimeoutMs: KILL_TIMEOUT_MS,
        progress,
        clock: options.clock,
        reason: 'stale',
      });
      return bootGuest(paths, options, progress);
    },
    { onWait: progress, clock: options.clock },
  );
}

export async function stopSandbox(options: StopSandboxOptions = {}): Promise<StopSandboxResult> {
  const paths = sandboxPaths(options.stateDir);
  const progress = options.onProgress ?? noProgress;
  const startedAt = performance.now();
  await mkdir(paths.stateDir, { recursive: true });
  const { wasRunning, halt } = await withSandboxLock(
    paths,
    () =>
      shutDownGuest(paths, {
        haltTimeoutMs: options.haltTimeoutMs ?? DEFAULT_HALT_TIMEOUT_MS,
        progress,
        clock: options.clock,
        reason: 'stop',
      }),
    { onWait: progress, clock: options.clock },
  );
  return { stateDir: paths.stateDir, wasRunning, halt, seconds: secondsSince(startedAt) };
}

export async function sandboxStatus(
  options: { stateDir?: string; probe?: boolean } = {},
): Promise<SandboxStatus> {
  const paths = sandboxPaths(options.stateDir);
  const pid = await readPid(paths);
  const endpoint = await readEndpoint(paths);
  const tap = await readTap(paths);
  const running = pid !== undefined && (await isSandboxProcess(pid, paths.rootDir));
  const answering =
    running && endpoint !== undefined && (options.probe ?? true)
      ? (await pingDockerd(endpoint.guestAddress, DOCKER_API_PORT, PING_TIMEOUT_MS)).ok
      : false;
  return {
    running,
    answering,
    pid: running ? pid : undefined,
    dockerHost: running ? endpoint?.dockerHost : undefined,
    tap: running ? tap : undefined,
    stateDir: paths.stateDir,
    rootHash: await readRootHash(paths),
    consoleLog: paths.consoleLog,
    stale: !running && (pid !== undefined || tap !== undefined),
  };
}

/** The endpoint of the running sandbox, if it is alive and answering; starts nothing. */
export async function runningSandboxEndpoint(
  options: { stateDir?: string } = {},
): Promise<SandboxEndpoint | undefined> {
  return answeringEndpoint(sandboxPaths(options.stateDir));
}

/** The recorded endpoint of a guest that is alive and whose dockerd answers; undefined otherwise. */
async function answeringEndpoint(paths: SandboxPaths): Promise<SandboxEndpoint | undefined> {
  const pid = await readPid(paths);
  const endpoint = await readEndpoint(paths);
  if (pid === undefined || endpoint === undefined || endpoint.pid !== pid) return undefined;
  if (!(await isSandboxProcess(pid, paths.rootDir))) return undefined;
  for (let attempt = 0; attempt < RUNNING_PING_ATTEMPTS; attempt++) {
    if ((await pingDockerd(endpoint.guestAddress, DOCKER_API_PORT, PING_TIMEOUT_MS)).ok) return endpoint;
  }
  return undefined;
}

async function bootGuest(
  paths: SandboxPaths,
  options: StartSandboxOptions,
  progress: (line: string) => void,
): Promise<StartSandboxResult> {
  const prerequisites = await canRunSandbox({ rootBuilt: (await readRootHash(paths)) !== undefined });
  if (!prerequisites.ok) throw new Error(`cannot run the sandbox here: ${prerequisites.reason}`);
  if (prerequisites.missingPackages.length > 0) {
    if (options.installMissingPackages === false) {
      throw new Error(`missing host packages: apt-get install ${prerequisites.missingPackages.join(' ')}`);
    }
    await installHostPackages(prerequisites.missingPackages, progress);
  }

  const kernelVersion = await umlKernelVersion();
  const root = await ensureGuestRoot(paths, {
    kernelVersion,
    diskSizeGiB: options.diskSizeGiB ?? DEFAULT_DISK_SIZE_GIB,
    onProgress: progress,
  });

  const tap = options.tap ?? DEFAULT_TAP;
  validateTapName(tap);
  const tapUsers = await findTapUsers(tap);
  if (tapUsers.length > 0) {
    throw new Error(
      `the tap device ${tap} is in use by UML process ${tapUsers[0]}, another sandbox (another LBLAB_STATE_DIR?); ` +
        'stop that one, or give this one its own tap and link',
    );
  }
  // Nothing uses it, so it is a leftover of a guest that died without lblab noticing.
  await deleteTap(tap);
  const link = planLinkAddresses(options.linkCidr ?? linkCidrFromEnv(), await readHostRoutes(), tap);
  const dockerIptables = options.dockerIptables ?? false;
  const labLinks = labLinksOf(tap);
  await writeFile(
    paths.initScript,
    renderGuestInit({
      guestAddress: link.guestAddress,
      prefixLength: link.prefixLength,
      modules: guestKernelModules(dockerIptables),
      dockerdFlags: defaultDockerdFlags(dockerIptables),
      labInterfaces: labLinks.map((link) => link.guestInterface),
    }),
    { mode: 0o755 },
  );

  const umlBinary = (await findSandboxTool(UML_BINARY)) ?? UML_BINARY;
  const args = umlKernelArgs({
    memory: options.memory ?? DEFAULT_MEMORY,
    rootDir: paths.rootDir,
    initPath: GUEST_INIT_PATH,
    diskImage: paths.diskImage,
    tap,
    labTaps: labLinks.map((link) => link.hostTap),
    umlDir: paths.umlDir,
  });
  const bootStartedAt = performance.now();
  let spawned = false;
  try {
    await createTap(tap, link);
    await writeFile(paths.tapFile, `${tap}\n`);
    await createLabLinkTaps(labLinks);
    await mkdir(paths.umlDir, { recursive: true });
    progress(`Booting the sandbox guest (UML ${kernelVersion}, ${link.guestAddress} on ${tap})`);
    log('starting %s %s', umlBinary, args.join(' '));
    // The guest's one CPU runs every lab process in it: on a busy host it must not get the share of
    // one ordinary process, or its daemons miss their timers. nice(1) execs the kernel in place, so
    // the pid and command line stay the kernel's.
    const guest = await spawnDetached(
      'nice',
      ['-n', String(GUEST_NICE), umlBinary, ...args],
      paths.consoleLog,
    );
    spawned = true;
    await writeFile(paths.pidFile, `${guest.pid}\n`);
    const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    await pollUntil(
      async () => {
        const exit = guest.exitStatus();
        if (exit !== undefined) throw new Error(`the UML kernel exited (${exit}) before dockerd answered`);
        return pingDockerd(link.guestAddress, DOCKER_API_PORT, PING_TIMEOUT_MS);
      },
      {
        timeoutMs: readyTimeoutMs,
        intervalMs: 250,
        clock: options.clock,
        onTimeout: (lastSeen) =>
          new Error(
            `the guest's dockerd did not answer on ${link.guestAddress}:${DOCKER_API_PORT} ` +
              `within ${readyTimeoutMs / 1000} s (last: ${lastSeen})`,
          ),
      },
    );
    const endpoint: SandboxEndpoint = {
      dockerHost: `tcp://${link.guestAddress}:${DOCKER_API_PORT}`,
      pid: guest.pid,
      tap,
      hostAddress: link.hostAddress,
      guestAddress: link.guestAddress,
      prefixLength: link.prefixLength,
      haltPort: HALT_PORT,
      rootHash: root.rootHash,
      startedAt: new Date().toISOString(),
      labLinks,
    };
    await writeFile(paths.endpointFile, `${JSON.stringify(endpoint, null, 2)}\n`);
    const bootSeconds = secondsSince(bootStartedAt);
    progress(`The sandbox's dockerd answered after ${bootSeconds} s`);
    await removeLeftLabObjects(endpoint.dockerHost, progress);
    return {
      endpoint,
      stateDir: paths.stateDir,
      alreadyRunning: false,
      rootBuilt: root.built,
      buildSeconds: root.seconds,
      bootSeconds,
    };
  } catch (error) {
    const consoleLines = spawned
      ? `\nLast lines of the guest console (${paths.consoleLog}):\n${await consoleTail(paths)}`
      : '';
    await shutDownGuest(paths, { haltTimeoutMs: 0, progress, clock: options.clock, reason: 'failed' });
    throw new Error(`the sandbox did not start: ${(error as Error).message}${consoleLines}`, {
      cause: error,
    });
  }
}

/**
 * A guest that just booted runs no lab, so every lab container or network its disk still holds was
 * left by a guest that stopped or died mid-up: without this, the next `up` finds a half-built lab.
 */
async function removeLeftLabObjects(dockerHost: string, progress: (line: string) => void): Promise<void> {
  const guest = new DockerRuntime(dockerClientFor(dockerHost), dockerHost);
  const containers = await guest.listContainers({ [LABEL.lab]: true });
  for (const container of containers) await guest.removeContainer(container.id);
  const networks = await guest.listNetworks({ [LABEL.lab]: true });
  for (const network of networks) await guest.removeNetwork(network.id);
  if (containers.length + networks.length > 0) {
    progress(
      `Removed ${containers.length} container(s) and ${networks.length} network(s) an earlier guest left on its disk`,
    );
  }
}

interface DetachedProcess {
  pid: number;
  /** How the process ended, while this lblab process is still around to see it. */
  exitStatus(): string | undefined;
}

/**
 * Starts the UML kernel in its own session (so it outlives lblab and its whole process tree is one
 * process group), with its console going to the log file.
 */
async function spawnDetached(binary: string, args: string[], consoleLog: string): Promise<DetachedProcess> {
  const logFile = await open(consoleLog, 'w');
  try {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', logFile.fd, logFile.fd] });
    let exitStatus: string | undefined;
    child.once('exit', (code, signal) => (exitStatus = signal ? `signal ${signal}` : `exit code ${code}`));
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', reject);
    });
    child.unref();
    return { pid, exitStatus: () => exitStatus };
  } finally {
    await logFile.close();
  }
}

interface ShutDownOptions {
  haltTimeoutMs: number;
  progress: (line: string) => void;
  clock?: Clock;
  /** Only changes what is reported: a stop, a stale guest found by start, or a failed start. */
  reason: 'stop' | 'stale' | 'failed';
}

/**
 * Brings the state directory back to "not running": halts the guest cleanly when it can, kills
 * what is left, removes the tap and the run files. Safe to call when nothing runs.
 */
async function shutDownGuest(
  paths: SandboxPaths,
  options: ShutDownOptions,
): Promise<{ wasRunning: boolean; halt: StopSandboxResult['halt'] }> {
  const clock = options.clock ?? realClock;
  const pid = await readPid(paths);
  const endpoint = await readEndpoint(paths);
  const tap = (await readTap(paths)) ?? endpoint?.tap;
  const wasRunning = pid !== undefined && (await isSandboxProcess(pid, paths.rootDir));
  let halt: StopSandboxResult['halt'] = 'none';

  if (options.reason === 'stale' && (pid !== undefined || tap !== undefined)) {
    options.progress(
      wasRunning
        ? `Replacing a sandbox guest that does not answer (pid ${pid})`
        : `Cleaning up after a sandbox guest that is gone (pid ${pid ?? 'unknown'})`,
    );
  }

  if (wasRunning && pid !== undefined) {
    halt = 'forced';
    if (endpoint !== undefined && options.haltTimeoutMs > 0) {
      options.progress(`Halting the sandbox guest (pid ${pid})`);
      try {
        await requestHalt(endpoint.guestAddress, endpoint.haltPort, Math.min(options.haltTimeoutMs, 5_000));
        if (await waitUntilGone(() => isSandboxProcess(pid, paths.rootDir), options.haltTimeoutMs, clock)) {
          halt = 'clean';
        }
      } catch (error) {
        options.progress(`The guest did not take the halt request: ${(error as Error).message}`);
      }
    }
    if (halt === 'forced') {
      options.progress(`Killing the sandbox guest (pid ${pid})`);
      signalProcessGroup(pid, 'SIGKILL');
    }
  }

  // Guest processes outside the kernel's group, or left by an earlier guest whose kernel died.
  const leftovers = await findSandboxProcesses(paths.rootDir);
  for (const leftover of leftovers) signalProcess(leftover, 'SIGKILL');
  const allGone = await waitUntilGone(
    async () => (await findSandboxProcesses(paths.rootDir)).length > 0,
    KILL_TIMEOUT_MS,
    clock,
  );
  if (!allGone) {
    const still = await findSandboxProcesses(paths.rootDir);
    throw new Error(
      `sandbox processes ${still.join(', ')} survived SIGKILL; check them with ps -o pid,stat,args`,
    );
  }

  if (tap !== undefined) {
    await deleteLabLinkTaps(labLinksOf(tap));
    if (await tapExists(tap)) await deleteTap(tap);
  }
  await rm(path.join(paths.umlDir, UML_UMID), { recursive: true, force: true });
  for (const file of [paths.endpointFile, paths.pidFile, paths.tapFile]) await rm(file, { force: true });
  return { wasRunning, halt };
}

/** Polls `stillThere` until it is false; false when `timeoutMs` passed first. */
async function waitUntilGone(
  stillThere: () => Promise<boolean>,
  timeoutMs: number,
  clock: Clock,
): Promise<boolean> {
  const stillThereAtDeadline = new Error('still there');
  return pollUntil(async () => ({ ok: !(await stillThere()), seen: 'still there' }), {
    timeoutMs,
    intervalMs: 100,
    clock,
    onTimeout: () => stillThereAtDeadline,
  }).then(
    () => true,
    (error: unknown) => {
      if (error === stillThereAtDeadline) return false;
      throw error;
    },
  );
}

async function readPid(paths: SandboxPaths): Promise<number | undefined> {
  const pid = Number((await readOptional(paths.pidFile))?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function readTap(paths: SandboxPaths): Promise<string | undefined> {
  return (await readOptional(paths.tapFile))?.trim() || undefined;
}

async function readEndpoint(paths: SandboxPaths): Promise<SandboxEndpoint | undefined> {
  const text = await readOptional(paths.endpointFile);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as SandboxEndpoint;
  } catch {
    return undefined;
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function consoleTail(paths: SandboxPaths): Promise<string> {
  const text = (await readOptional(paths.consoleLog)) ?? '(no console output)';
  return stripAnsi(text).trimEnd().split('\n').slice(-CONSOLE_TAIL_LINES).join('\n');
}

function secondsSince(startedAt: number): number {
  return Math.round((performance.now() - startedAt) / 100) / 10;
}
