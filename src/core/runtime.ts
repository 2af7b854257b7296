/**
 * The one seam between lblab and a container engine. Everything that touches Docker goes through
 * this interface, so the apply/teardown/verify logic can be driven by the host engine, the sandbox
 * engine (a Docker engine inside a User-Mode Linux guest) or a fake in unit tests.
 */

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the process's stdin, then stdin is closed. */
  stdin?: string;
  /** Kill the wait (not the process) after this long and report exit code 124, like timeout(1). */
  timeoutMs?: number;
  /** Stop waiting when this aborts (Ctrl-C during `up`) and report exit code 130. */
  signal?: AbortSignal;
}

export interface NetworkSpec {
  name: string;
  /**
   * Omitted: the runtime picks a free one (`hostsNeeded` addresses at least). The lab's own
   * addresses are set by the nodes then, so this subnet only keeps Docker's bookkeeping apart.
   */
  subnet?: string;
  /** Without a subnet: how many endpoints the network will hold (its nodes), to size the one picked. */
  hostsNeeded?: number;
  /** Docker's dynamic address pool inside the subnet; keeps the VIP and extra sources out of it. */
  ipRange?: string;
  gateway?: string;
  labels: Record<string, string>;
  /** A macvlan network on this interface instead of a bridge (the sandbox guest's lab links). */
  macvlanParent?: string;
  /** Pool labs: the members whose nodes attach to it (see PlannedNetwork.members). */
  members?: string[];
  /** An attachable Swarm overlay (VXLAN between engines) instead of a bridge. */
  overlay?: boolean;
}

export interface ContainerInterfaceSpec {
  network: string;
  /** Omitted: Docker assigns one (isolated networks, where lblab sets the lab address itself). */
  ip?: string;
  mac: string;
}

export interface FileSpec {
  path: string;
  content: string;
  /** Octal file mode, e.g. 0o644. */
  mode: number;
}

export interface ContainerSpec {
  name: string;
  hostname: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  capAdd: string[];
  /** A seccomp profile (JSON) replacing Docker's default one. */
  seccompProfile?: string;
  sysctls: Record<string, string>;
  /** /proc/sys/net (this container's network namespace only) writable; the rest of /proc/sys stays read-only. */
  writableNetSysctls: boolean;
  /** First entry is attached at create time; the rest are connected before start, in order. */
  interfaces: ContainerInterfaceSpec[];
  binds: string[];
  /** PID 1 command; lblab always runs an init (tini) in front of it so zombies are reaped. */
  cmd: string[];
  /** Files written into the container after create and before start. */
  files: FileSpec[];
}

/** One-shot helper container, removed when it exits. */
export interface HelperSpec {
  image: string;
  /** Docker network mode: `none`, or `container:<name>` to share a node's network namespace. */
  networkMode: string;
  cmd: string[];
  capAdd: string[];
  /** Leave all of /proc/sys writable in the helper only (a long-lived node gets at most /proc/sys/net). */
  writableProcSys: boolean;
  labels: Record<string, string>;
}

/** A helper in a node's network namespace (e.g. to change a net.* sysctl of a running node). */
export interface NetnsHelperSpec extends Omit<HelperSpec, 'networkMode'> {
  target: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  state: string;
  labels: Record<string, string>;
  /** network name -> IPv4 address */
  addresses: Record<string, string>;
}

export interface NetworkInfo {
  id: string;
  name: string;
  subnets: string[];
  labels: Record<string, string>;
}

export interface ContainerRuntime {
  createNetwork(spec: NetworkSpec): Promise<string>;
  removeNetwork(nameOrId: string): Promise<void>;
  listNetworks(labelFilter?: Record<string, string | true>): Promise<NetworkInfo[]>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(nameOrId: string): Promise<void>;
  /** Stops a running container (SIGTERM to its init, SIGKILL after `graceSeconds`); a stopped one is left as is. */
  stopContainer(nameOrId: string, graceSeconds: number): Promise<void>;
  /** Force-removes the container and its anonymous volumes; a missing container is not an error. */
  removeContainer(nameOrId: string): Promise<void>;
  listContainers(labelFilter?: Record<string, string | true>): Promise<ContainerInfo[]>;
  exec(container: string, cmd: string[], options?: ExecOptions): Promise<ExecResult>;
  runHelper(spec: HelperSpec): Promise<ExecResult>;
  runInNetns(spec: NetnsHelperSpec): Promise<ExecResult>;
  /** Where the engine that holds the container listens, as DOCKER_HOST takes it (for the docker CLI). */
  endpointOf(container: string): Promise<string>;
}

/** What building lblab's node image and moving it between engines needs of an engine. */
export interface ImageBuildSpec {
  /** The build context directory, and the files of it to send. */
  context: string;
  files: string[];
  dockerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
}

export interface ImageImportSpec {
  /** A root filesystem tarball on the host. */
  tarball: string;
  repo: string;
  tag: string;
  /** Dockerfile instructions applied on import, e.g. `LABEL ...`. */
  changes: string[];
  message: string;
}

/**
 * Images on one engine. Each operation reports the engine's progress lines and rejects naming what
 * failed (a build step and its last output, say), since engines report failures inside the stream.
 */
export interface ImageStore {
  /** Where the engine is, for messages. */
  readonly endpoint: string;
  /** Resolves when the engine answers. */
  ping(): Promise<void>;
  /** The image's ID, or undefined when the engine does not have it. */
  imageId(ref: string): Promise<string | undefined>;
  /** Pulls from a registry: `answerTimeoutMs` for the registry to start answering, `pullTimeoutMs` for the rest. */
  pullImage(
    ref: string,
    options: { answerTimeoutMs: number; pullTimeoutMs: number; onLine: (line: string) => void },
  ): Promise<void>;
  buildImage(spec: ImageBuildSpec, onLine: (line: string) => void): Promise<void>;
  importImage(spec: ImageImportSpec, onLine: (line: string) => void): Promise<void>;
  /**
   * Copies `ref` from this engine into `target` (docker save here, docker load there), streaming;
   * returns the bytes sent. `operation` names the copy in errors; `onBytes` hears the bytes sent so far.
   */
  copyImageTo(
    target: ImageStore,
    ref: string,
    operation: string,
    onBytes?: (bytesSoFar: number) => void,
  ): Promise<number>;
  /** Loads an image archive (as `docker save` writes it); `operation` names the load in errors. */
  loadImage(archive: NodeJS.ReadableStream, operation: string): Promise<void>;
}
