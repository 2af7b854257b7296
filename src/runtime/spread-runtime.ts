/**
 * What a lab spread over several Docker engines does the same whichever way it is spread (the
 * sandbox's host/guest split, a pool's members): find the engine that holds a container, and ask
 * that engine. How networks are made, and where a container is created, is each spread's own.
 */
import type { DockerRuntime } from './docker-runtime.js';
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
} from '../core/runtime.js';

export abstract class SpreadRuntime implements ContainerRuntime {
  /** Container id or name → the engine that holds it. */
  private readonly sides = new Map<string, DockerRuntime>();

  /** Every engine, in order; the first is asked about a container none of them lists. */
  protected abstract readonly engines: readonly DockerRuntime[];

  abstract createNetwork(spec: NetworkSpec): Promise<string>;
  abstract removeNetwork(nameOrId: string): Promise<void>;
  abstract createContainer(spec: ContainerSpec): Promise<string>;
  abstract runHelper(spec: HelperSpec): Promise<ExecResult>;

  /** One entry per network, by name (its id here), whichever engines hold a part of it. */
  async listNetworks(labelFilter?: Record<string, string | true>): Promise<NetworkInfo[]> {
    const all = await Promise.all(this.engines.map((engine) => engine.listNetworks(labelFilter)));
    const byName = new Map<string, NetworkInfo>();
    for (const network of all.flat())
      if (!byName.has(network.name)) byName.set(network.name, { ...network, id: network.name });
    return [...byName.values()];
  }

  async listContainers(labelFilter?: Record<string, string | true>): Promise<ContainerInfo[]> {
    const all = await Promise.all(this.engines.map((engine) => engine.listContainers(labelFilter)));
    all.forEach((containers, i) => {
      for (const container of containers) this.remember(this.engines[i]!, container.id, container.name);
    });
    return all.flat();
  }

  async startContainer(nameOrId: string): Promise<void> {
    await (await this.sideOf(nameOrId)).startContainer(nameOrId);
  }

  async stopContainer(nameOrId: string, graceSeconds: number): Promise<void> {
    await (await this.sideOf(nameOrId)).stopContainer(nameOrId, graceSeconds);
  }

  async removeContainer(nameOrId: string): Promise<void> {
    await (await this.sideOf(nameOrId)).removeContainer(nameOrId);
  }

  async exec(container: string, cmd: string[], options?: ExecOptions): Promise<ExecResult> {
    return (await this.sideOf(container)).exec(container, cmd, options);
  }

  async runInNetns(spec: NetnsHelperSpec): Promise<ExecResult> {
    return (await this.sideOf(spec.target)).runInNetns(spec);
  }

  async endpointOf(container: string): Promise<string> {
    return (await this.sideOf(container)).endpoint;
  }

  protected remember(side: DockerRuntime, ...namesOrIds: string[]): void {
    for (const nameOrId of namesOrIds) this.sides.set(nameOrId, side);
  }

  protected async sideOf(nameOrId: string): Promise<DockerRuntime> {
    if (!this.sides.has(nameOrId)) await this.listContainers();
    return this.sides.get(nameOrId) ?? this.engines[0]!;
  }
}
