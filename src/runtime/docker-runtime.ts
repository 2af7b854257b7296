/** ContainerRuntime and ImageStore over dockerode; works against the host engine and the sandbox engine alike. */
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import pLimit, { type LimitFunction } from 'p-limit';
import tar from 'tar-stream';
import { LABEL } from '../core/labels.js';
import { logDocker } from '../util/log.js';
import { isNotFound, unlessNotFound } from '../util/not-found.js';
import { realClock, type Clock } from '../util/clock.js';
import { freeSubnets, prefixForHosts } from '../util/ipv4.js';
import { followDockerStream } from './docker-progress.js';
import type {
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ExecOptions,
  ExecResult,
  FileSpec,
  HelperSpec,
  ImageBuildSpec,
  ImageImportSpec,
  ImageStore,
  NetnsHelperSpec,
  NetworkInfo,
  NetworkSpec,
} from '../core/runtime.js';

/**
 * Where isolated networks get their Docker subnets: RFC 2544's range for benchmarking network
 * devices, which no real network routes. The lab's own addresses are set inside the nodes.
 */
function isolatedNetworkPool(): string {
  return process.env.LBLAB_ISOLATED_POOL || '198.18.0.0/15';
}

/** Docker's default read-only /proc paths, minus /proc/sys for helpers that set network sysctls. */
const READONLY_PATHS_WITHOUT_PROC_SYS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sysrq-trigger'];

/**
 * Docker's defaults with /proc/sys read-only entry by entry, all but /proc/sys/net. A container in
 * its own network namespace sees only that namespace's net sysctls there (the kernel registers the
 * global ones for the initial namespace only), so a node can change its own and nothing host-wide.
 * A superset of the kernel's top-level entries: runc skips the paths that do not exist.
 */
const PROC_SYS_BUT_NET = [
  'abi',
  'crypto',
  'debug',
  'dev',
  'fs',
  'fscache',
  'kernel',
  's390dbf',
  'sunrpc',
  'user',
  'vm',
  'xen',
];
const READONLY_PATHS_BUT_PROC_SYS_NET = [
  ...READONLY_PATHS_WITHOUT_PROC_SYS,
  ...PROC_SYS_BUT_NET.map((entry) => `/proc/sys/${entry}`),
];

export interface DockerRuntimeOptions {
  /**
   * At most this many execs run in the engine at once; the rest queue (and their timeout starts when
   * they run). A slow engine flooded with readiness probes starves the very daemons being probed.
   */
  maxParallelExecs?: number;
  /**
   * Labels this runtime stamps on everything it creates and requires of everything it lists: the
   * host engine holds both its own labs and the host-side nodes of sandbox labs, and each engine
   * must see only its own.
   */
  scope?: Record<string, string>;
  /** How waits inside the runtime tell time (tests pass a fake one). */
  clock?: Clock;
}

export class DockerRuntime implements ContainerRuntime, ImageStore {
  private readonly execSlots: LimitFunction | undefined;
  /** The labels this engine stamps on what it creates and filters by (see DockerRuntimeOptions.scope). */
  readonly scope: Record<string, string>;
  private readonly clock: Clock;

  constructor(
    readonly docker: Docker,
    /** Where the engine is, for messages: "unix:///var/run/docker.sock", "tcp://198.51.100.2:2375". */
    readonly endpoint: string,
    options: DockerRuntimeOptions = {},
  ) {
    this.execSlots = options.maxParallelExecs ? pLimit(options.maxParallelExecs) : undefined;
    this.scope = options.scope ?? {};
    this.clock = options.clock ?? realClock;
  }

  /** The same engine, stamping and filtering by another scope (a sandbox lab's host half). */
  withScope(scope: Record<string, string>): DockerRuntime {
    return new DockerRuntime(this.docker, this.endpoint, { scope, clock: this.clock });
  }

  /**
   * A search for lblab objects sees only this engine's; an unfiltered one (the preflight looking for
   * name and subnet clashes) sees everything on the engine.
   */
  private scoped(labelFilter: Record<string, string | true>): Record<string, string | true> {
    return Object.keys(labelFilter).length > 0 ? { ...labelFilter, ...this.scope } : {};
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    if (spec.subnet || spec.macvlanParent) return this.createNetworkAs(spec);
    // An isolated network: Docker's own pools hold ~30 networks, fewer than a class needs, so each
    // gets a small subnet of its own. Labs coming up side by side pick at random among the first
    // free ones, so they seldom collide; when they do, Docker refuses the second, which picks again.
    const prefixLength = prefixForHosts(spec.hostsNeeded ?? 13);
    for (let attempt = 1; ; attempt += 1) {
      const all = await timed('list networks', () => this.docker.listNetworks());
      const taken = all
        .flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? ''))
        .filter((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s));
      const free = freeSubnets(isolatedNetworkPool(), prefixLength, taken, 64);
      const subnet = free[Math.floor(Math.random() * free.length)];
      if (!subnet) {
        throw new Error(
          `no free /${prefixLength} left in ${isolatedNetworkPool()} for an isolated network (LBLAB_ISOLATED_POOL sets another range)`,
        );
      }
      try {
        return await this.createNetworkAs({ ...spec, subnet });
      } catch (error) {
        if (attempt >= 20 || !/overlap/i.test(String((error as Error).message))) throw error;
      }
    }
  }

  private async createNetworkAs(spec: NetworkSpec): Promise<string> {
    const network = await timed(`create network ${spec.name}`, () =>
      this.docker.createNetwork({
        Name: spec.name,
        CheckDuplicate: true,
        Labels: { ...spec.labels, ...this.scope },
        ...(spec.macvlanParent
          ? // The guest's half of a segment shared with the host engine (see split-runtime.ts).
            { Driver: 'macvlan', Options: { parent: spec.macvlanParent, macvlan_mode: 'bridge' } }
          : spec.overlay
            ? // One segment across a Swarm's engines; attachable, so plain containers can join it.
              { Driver: 'overlay', Attachable: true }
            : {
                Driver: 'bridge',
                // Labs need no way out, and Docker's MASQUERADE rule for one lab's subnet would rewrite
                // the traffic of another lab that uses the same subnet on an isolated network.
                Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
              }),
        IPAM: {
          Driver: 'default',
          Config: spec.subnet
            ? [
                {
                  Subnet: spec.subnet,
                  ...(spec.ipRange ? { IPRange: spec.ipRange } : {}),
                  ...(spec.gateway ? { Gateway: spec.gateway } : {}),
                },
              ]
            : [],
        },
      }),
    );
    return network.id;
  }

  /**
   * A loaded engine can keep a removed container's endpoint on its network (moby #17217, #33156):
   * the network then "has active endpoints" that no container owns, for good, until someone
   * disconnects them by force. Those are dropped; an endpoint of a container that still exists
   * (someone else's, connected by hand) is not, and the error names it and how to free the network.
   */
  async removeNetwork(nameOrId: string): Promise<void> {
    const network = this.docker.getNetwork(nameOrId);
    const until = this.clock.now() + 15_000;
    for (;;) {
      try {
        await unlessNotFound(() => timed(`remove network ${nameOrId}`, () => network.remove()));
        return;
      } catch (error) {
        if (!/active endpoints/i.test((error as Error).message)) throw error;
        const { name, dropped, holders } = await this.dropStaleEndpoints(network);
        if (holders.length > 0 && dropped === 0) {
          throw new Error(
            `network ${name ?? nameOrId} is still used by ${holders.join(', ')}, not a container of the lab: disconnect it (docker network disconnect ${name ?? nameOrId} ${holders[0]}) and run down again`,
            { cause: error },
          );
        }
        if (this.clock.now() > until) throw error;
        await this.clock.sleep(500);
      }
    }
  }

  /** Force-disconnects the network's endpoints whose container is gone; names those whose container exists. */
  private async dropStaleEndpoints(
    network: Docker.Network,
  ): Promise<{ name?: string; dropped: number; holders: string[] }> {
    const info = (await unlessNotFound(() => network.inspect())) as
      { Name?: string; Containers?: Record<string, { Name?: string }> } | undefined;
    const holders: string[] = [];
    let dropped = 0;
    for (const [id, endpoint] of Object.entries(info?.Containers ?? {})) {
      const container = endpoint.Name || id;
      const gone = await this.docker
        .getContainer(id)
        .inspect()
        .then(
          () => false,
          (error: unknown) => isNotFound(error),
        );
      if (!gone) {
        holders.push(container);
        continue;
      }
      // By name: Docker finds a stale endpoint by its container's name, not by the ep-… key.
      await timed(`disconnect stale endpoint ${container} from ${info?.Name ?? network.id}`, () =>
        network.disconnect({ Container: container, Force: true }),
      ).then(
        () => (dropped += 1),
        () => undefined,
      );
    }
    return { name: info?.Name, dropped, holders };
  }

  async listNetworks(labelFilter: Record<string, string | true> = {}): Promise<NetworkInfo[]> {
    const networks = await timed('list networks', () =>
      this.docker.listNetworks({ filters: { label: labelFilters(this.scoped(labelFilter)) } }),
    );
    return networks.map((network) => ({
      id: network.Id,
      name: network.Name,
      subnets: (network.IPAM?.Config ?? []).map((config) => config.Subnet ?? '').filter(Boolean),
      labels: network.Labels ?? {},
    }));
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const [first, ...rest] = spec.interfaces;
    const [entrypoint, ...args] = spec.cmd;
    const container = await timed(`create container ${spec.name}`, () =>
      this.docker.createContainer({
        name: spec.name,
        Hostname: spec.hostname,
        Image: spec.image,
        Labels: { ...spec.labels, ...this.scope },
        Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
        Entrypoint: entrypoint ? [entrypoint] : undefined,
        Cmd: args,
        ...(first ? { MacAddress: first.mac } : {}),
        HostConfig: {
          // tini as PID 1 reaps the zombies that daemons (FRR, keepalived, nginx) leave behind.
          Init: true,
          CapAdd: spec.capAdd,
          ...(spec.writableNetSysctls ? { ReadonlyPaths: READONLY_PATHS_BUT_PROC_SYS_NET } : {}),
          ...(spec.seccompProfile ? { SecurityOpt: [`seccomp=${spec.seccompProfile}`] } : {}),
          Sysctls: spec.sysctls,
          Binds: spec.binds,
          NetworkMode: first?.network ?? 'none',
        },
        NetworkingConfig: first
          ? {
              EndpointsConfig: {
                [first.network]: { ...endpointAddress(first.ip), MacAddress: first.mac },
              },
            }
          : undefined,
      }),
    );
    for (const iface of rest) {
      await timed(`connect ${spec.name} to ${iface.network}`, () =>
        this.docker.getNetwork(iface.network).connect({
          Container: container.id,
          EndpointConfig: { ...endpointAddress(iface.ip), MacAddress: iface.mac },
        }),
      );
    }
    if (spec.files.length > 0) {
      await timed(`copy ${spec.files.length} file(s) into ${spec.name}`, async () =>
        container.putArchive(tarOf(spec.files), { path: '/' }),
      );
    }
    return container.id;
  }

  async startContainer(nameOrId: string): Promise<void> {
    await timed(`start ${nameOrId}`, () => this.docker.getContainer(nameOrId).start());
  }

  async stopContainer(nameOrId: string, graceSeconds: number): Promise<void> {
    try {
      await timed(`stop ${nameOrId}`, () => this.docker.getContainer(nameOrId).stop({ t: graceSeconds }));
    } catch (error) {
      // 304 Not Modified: it was not running, which is what was asked for.
      if ((error as { statusCode?: number }).statusCode !== 304) throw error;
    }
  }

  async removeContainer(nameOrId: string): Promise<void> {
    await unlessNotFound(() =>
      timed(`remove container ${nameOrId}`, () =>
        this.docker.getContainer(nameOrId).remove({ force: true, v: true }),
      ),
    );
  }

  async listContainers(labelFilter: Record<string, string | true> = {}): Promise<ContainerInfo[]> {
    const containers = await timed('list containers', () =>
      this.docker.listContainers({
        all: true,
        filters: { label: labelFilters(this.scoped(labelFilter)) },
      }),
    );
    return containers.map((container) => ({
      id: container.Id,
      name: (container.Names[0] ?? '').replace(/^\//, ''),
      image: container.Image,
      state: container.State,
      labels: container.Labels ?? {},
      addresses: Object.fromEntries(
        Object.entries(container.NetworkSettings?.Networks ?? {}).map(([name, network]) => [
          name,
          network.IPAddress,
        ]),
      ),
    }));
  }

  async exec(container: string, cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.execSlots
      ? this.execSlots(() => this.execNow(container, cmd, options))
      : this.execNow(container, cmd, options);
  }

  private async execNow(container: string, cmd: string[], options: ExecOptions): Promise<ExecResult> {
    if (options.signal?.aborted) return { exitCode: 130, stdout: '', stderr: 'interrupted' };
    return timed(`exec ${container}: ${cmd.join(' ').slice(0, 80)}`, async () => {
      const exec = await this.docker.getContainer(container).exec({
        Cmd: cmd,
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: options.stdin !== undefined,
      });
      const stream = (await exec.start({
        hijack: true,
        stdin: options.stdin !== undefined,
      })) as NodeJS.ReadWriteStream;
      if (options.stdin !== undefined) stream.end(options.stdin);
      const output = this.collect(stream);
      const finished = await untilDone(output, options.timeoutMs, options.signal);
      if (finished === 'timeout' || finished === 'aborted') {
        stream.end();
        return finished === 'timeout'
          ? { exitCode: 124, stdout: '', stderr: `timed out after ${options.timeoutMs} ms` }
          : { exitCode: 130, stdout: '', stderr: 'interrupted' };
      }
      const { ExitCode } = await exec.inspect();
      return { exitCode: ExitCode ?? -1, ...finished };
    });
  }

  async runInNetns(spec: NetnsHelperSpec): Promise<ExecResult> {
    return this.runHelper({ ...spec, networkMode: `container:${spec.target}` });
  }

  async runHelper(spec: HelperSpec): Promise<ExecResult> {
    return timed(`helper (${spec.networkMode}): ${spec.cmd.join(' ').slice(0, 80)}`, async () => {
      const container = await this.docker.createContainer({
        Image: spec.image,
        Entrypoint: spec.cmd.slice(0, 1),
        Cmd: spec.cmd.slice(1),
        Labels: { ...spec.labels, ...this.scope, [LABEL.helper]: 'true' },
        HostConfig: {
          NetworkMode: spec.networkMode,
          CapAdd: spec.capAdd,
          ...(spec.writableProcSys ? { ReadonlyPaths: READONLY_PATHS_WITHOUT_PROC_SYS } : {}),
        },
      });
      try {
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
        const { stdout, stderr } = demuxBuffer(logs);
        return { exitCode: StatusCode, stdout, stderr };
      } finally {
        await container.remove({ force: true }).catch(() => undefined);
      }
    });
  }

  async endpointOf(_container: string): Promise<string> {
    return this.endpoint;
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async imageId(ref: string): Promise<string | undefined> {
    return unlessNotFound(async () => (await this.docker.getImage(ref).inspect()).Id);
  }

  async pullImage(
    ref: string,
    options: { answerTimeoutMs: number; pullTimeoutMs: number; onLine: (line: string) => void },
  ): Promise<void> {
    const abort = new AbortController();
    let timer = setTimeout(() => abort.abort(), options.answerTimeoutMs);
    try {
      const stream = await this.docker.pull(ref, { abortSignal: abort.signal });
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(), options.pullTimeoutMs);
      await followDockerStream(this.docker, stream, `docker pull ${ref}`, options.onLine);
    } finally {
      clearTimeout(timer);
    }
  }

  async buildImage(spec: ImageBuildSpec, onLine: (line: string) => void): Promise<void> {
    const stream = await this.docker.buildImage(
      { context: spec.context, src: spec.files },
      {
        t: spec.tag,
        dockerfile: spec.dockerfile,
        buildargs: spec.buildArgs,
        labels: spec.labels,
        // Failed builds leave no intermediate containers behind.
        rm: true,
        forcerm: true,
      },
    );
    await followDockerStream(this.docker, stream, `docker build ${spec.tag}`, onLine);
  }

  async importImage(spec: ImageImportSpec, onLine: (line: string) => void): Promise<void> {
    const stream = await this.docker.importImage(spec.tarball, {
      repo: spec.repo,
      tag: spec.tag,
      changes: spec.changes,
      message: spec.message,
    });
    await followDockerStream(this.docker, stream, `docker import ${spec.repo}:${spec.tag}`, onLine);
  }

  async copyImageTo(
    target: ImageStore,
    ref: string,
    operation: string,
    onBytes?: (bytesSoFar: number) => void,
  ): Promise<number> {
    let bytes = 0;
    const counted = new PassThrough();
    counted.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      onBytes?.(bytes);
    });
    const saved = await this.docker.getImage(ref).get();
    saved.on('error', (error) => counted.destroy(error));
    saved.pipe(counted);
    await target.loadImage(counted, operation);
    return bytes;
  }

  async loadImage(archive: NodeJS.ReadableStream, operation: string): Promise<void> {
    const response = await this.docker.loadImage(archive, { quiet: true });
    await followDockerStream(this.docker, response, operation, () => {});
  }

  private collect(stream: NodeJS.ReadableStream): Promise<{ stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => out.push(chunk));
    stderr.on('data', (chunk: Buffer) => err.push(chunk));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    return new Promise((resolve, reject) => {
      stream.on('end', () =>
        resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
      );
      stream.on('error', reject);
    });
  }
}

function endpointAddress(ip: string | undefined): { IPAMConfig?: { IPv4Address: string } } {
  return ip ? { IPAMConfig: { IPv4Address: ip } } : {};
}

function labelFilters(filter: Record<string, string | true>): string[] {
  return Object.entries(filter).map(([key, value]) => (value === true ? key : `${key}=${value}`));
}

function tarOf(files: FileSpec[]): NodeJS.ReadableStream {
  const pack = tar.pack();
  for (const file of files) {
    pack.entry({ name: file.path.replace(/^\//, ''), mode: file.mode }, file.content);
  }
  pack.finalize();
  return pack as unknown as NodeJS.ReadableStream; // tar-stream's Pack is a streamx Readable, not typed as Node's
}

/** Docker's multiplexed log format: 8-byte header (stream, 0, 0, 0, size32) then the payload. */
function demuxBuffer(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const streamType = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + size);
    (streamType === 2 ? err : out).push(payload);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** The promise's value, or why we stopped waiting for it. */
async function untilDone<T>(
  promise: Promise<T>,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<T | 'timeout' | 'aborted'> {
  if (signal?.aborted) return 'aborted';
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stops: Promise<'timeout' | 'aborted'>[] = [];
  if (timeoutMs)
    stops.push(new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))));
  if (signal) {
    stops.push(
      new Promise((resolve) => {
        onAbort = () => resolve('aborted');
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    );
  }
  try {
    return await Promise.race([promise, ...stops]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

async function timed<T>(what: string, action: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    const result = await action();
    logDocker('%s (%d ms)', what, Math.round(performance.now() - started));
    return result;
  } catch (error) {
    logDocker(
      '%s failed after %d ms: %s',
      what,
      Math.round(performance.now() - started),
      (error as Error).message,
    );
    throw error;
  }
}
