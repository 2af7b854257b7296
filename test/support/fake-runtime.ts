/**
 * A ContainerRuntime in memory, for orchestration tests that run in milliseconds: networks and
 * containers with their labels (filtered the way Docker filters them), a log of every call, and
 * execs answered by a responder the test chooses. `healthyNode` answers every built-in readiness
 * probe as a node that came up well would.
 */
import type {
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ExecOptions,
  ExecResult,
  HelperSpec,
  NetnsHelperSpec,
  NetworkInfo,
  NetworkSpec,
} from '../../src/core/runtime.js';
import type { Engine } from '../../src/runtime/engine.js';

export type ExecResponder = (container: FakeContainer, cmd: string[], options?: ExecOptions) => ExecResult;

export interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: 'created' | 'running' | 'exited';
}

export const ok = (stdout = ''): ExecResult => ({ exitCode: 0, stdout, stderr: '' });

export class FakeRuntime implements ContainerRuntime {
  readonly networks = new Map<string, NetworkInfo>();
  readonly containers = new Map<string, FakeContainer>();
  /** Every call, in order: `createNetwork lblab-x-lan`, `exec lblab-x-web sh /etc/lblab/setup.sh`, ... */
  readonly calls: string[] = [];
  /** Answers execs; the default answers every readiness probe as a healthy node. */
  respond: ExecResponder = healthyNode;
  /** Answers one-shot helpers (the IPVS probe); the default says the kernel has IPVS. */
  helper: (spec: HelperSpec) => ExecResult = () => ok();
  private nextId = 1;

  async createNetwork(spec: NetworkSpec): Promise<string> {
    this.calls.push(`createNetwork ${spec.name}`);
    if ([...this.networks.values()].some((n) => n.name === spec.name))
      throw new Error(`network ${spec.name} exists`);
    const id = `net${this.nextId++}`;
    this.networks.set(id, {
      id,
      name: spec.name,
      subnets: spec.subnet ? [spec.subnet] : [],
      labels: spec.labels,
    });
    return id;
  }

  async removeNetwork(nameOrId: string): Promise<void> {
    this.calls.push(`removeNetwork ${nameOrId}`);
    for (const [id, network] of this.networks)
      if (id === nameOrId || network.name === nameOrId) this.networks.delete(id);
  }

  async listNetworks(labelFilter: Record<string, string | true> = {}): Promise<NetworkInfo[]> {
    return [...this.networks.values()].filter((n) => matches(n.labels, labelFilter));
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    this.calls.push(`createContainer ${spec.name}`);
    if (this.find(spec.name)) throw new Error(`container ${spec.name} exists`);
    const id = `ctr${this.nextId++}`;
    this.containers.set(id, { id, spec, state: 'created' });
    return id;
  }

  async startContainer(nameOrId: string): Promise<void> {
    this.calls.push(`startContainer ${nameOrId}`);
    this.get(nameOrId).state = 'running';
  }

  async stopContainer(nameOrId: string): Promise<void> {
    this.calls.push(`stopContainer ${nameOrId}`);
    this.get(nameOrId).state = 'exited';
  }

  async removeContainer(nameOrId: string): Promise<void> {
    this.calls.push(`removeContainer ${nameOrId}`);
    const container = this.find(nameOrId);
    if (container) this.containers.delete(container.id);
  }

  async listContainers(labelFilter: Record<string, string | true> = {}): Promise<ContainerInfo[]> {
    return [...this.containers.values()]
      .filter((c) => matches(c.spec.labels, labelFilter))
      .map((c) => ({
        id: c.id,
        name: c.spec.name,
        image: c.spec.image,
        state: c.state,
        labels: c.spec.labels,
        addresses: Object.fromEntries(c.spec.interfaces.map((i) => [i.network, i.ip ?? ''])),
      }));
  }

  async exec(container: string, cmd: string[], options?: ExecOptions): Promise<ExecResult> {
    this.calls.push(`exec ${container} ${cmd.join(' ')}`);
    return this.respond(this.get(container), cmd, options);
  }

  async runHelper(spec: HelperSpec): Promise<ExecResult> {
    this.calls.push(`runHelper ${spec.cmd.join(' ')}`);
    return this.helper(spec);
  }

  async runInNetns(spec: NetnsHelperSpec): Promise<ExecResult> {
    this.calls.push(`runInNetns ${spec.target} ${spec.cmd.join(' ')}`);
    return this.helper({ ...spec, networkMode: `container:${spec.target}` });
  }

  async endpointOf(container: string): Promise<string> {
    this.get(container);
    return 'unix:///run/fake-docker.sock';
  }

  /** Container names, sorted: what is left on the engine. */
  containerNames(): string[] {
    return [...this.containers.values()].map((c) => c.spec.name).sort();
  }

  private find(nameOrId: string): FakeContainer | undefined {
    return (
      this.containers.get(nameOrId) ?? [...this.containers.values()].find((c) => c.spec.name === nameOrId)
    );
  }

  private get(nameOrId: string): FakeContainer {
    const container = this.find(nameOrId);
    if (!container) throw Object.assign(new Error(`no such container: ${nameOrId}`), { statusCode: 404 });
    return container;
  }
}

function matches(labels: Record<string, string>, filter: Record<string, string | true>): boolean {
  return Object.entries(filter).every(([key, value]) =>
    value === true ? key in labels : labels[key] === value,
  );
}

/** A node that came up well: its setup succeeds and every built-in readiness probe holds. */
export function healthyNode(container: FakeContainer, cmd: string[], _options?: ExecOptions): ExecResult {
  const [program, ...args] = cmd;
  const text = cmd.join(' ');
  if (program === 'sh' && args[0] === '/etc/lblab/setup.sh') return ok();
  if (program === 'curl') {
    const identity = container.spec.labels['lblab.node'] ?? '';
    return ok(`HTTP/1.1 200 OK\r\nX-Host: ${identity}\r\n\r\n`);
  }
  if (program === 'bash' && text.includes('/dev/tcp/')) return ok();
  throw new Error(`the fake node ${container.spec.name} has no answer for: ${text}`);
}

/** An Engine around a fake runtime: the host engine's capabilities, an image that is always there. */
export function fakeEngine(runtime: ContainerRuntime, overrides: Partial<Engine> = {}): Engine {
  return {
    name: 'docker',
    kind: 'docker',
    runtime,
    capabilities: { binds: true },
    splitsNodes: false,
    reason: 'a fake engine for unit tests',
    prepareNodeImage: async () => ({ ref: 'lblab/node:test', built: false, source: 'existing' }),
    ...overrides,
  };
}
