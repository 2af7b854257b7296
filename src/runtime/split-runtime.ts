/**
 * A sandbox lab split over two engines: the nodes that need the guest's kernel (IPVS directors) run
 * in the UML guest, everything else on the host engine at host speed. Each lab network is one L2
 * segment across both: a bridge network on the host with a tap (a "lab link") as one of its ports,
 * and a macvlan network in the guest on the vecN interface at the tap's other end. Multicast (OSPF
 * hellos), ARP and DR's MAC rewriting cross it like any bridge port.
 */
import { LABEL } from '../core/labels.js';
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

/** The host ends of the guest's lab links (see sandbox/lab-links.ts). */
export interface LabLinks {
  /** Makes a free link's host tap a port of `bridge`; returns the guest interface at its other end. */
  attach(bridge: string): Promise<string>;
}

export class SplitRuntime implements ContainerRuntime {
  /** Container id or name → the engine that holds it. */
  private readonly sides = new Map<string, DockerRuntime>();

  constructor(
    readonly host: DockerRuntime,
    readonly guest: DockerRuntime,
    private readonly links: LabLinks,
  ) {}

  async createNetwork(spec: NetworkSpec): Promise<string> {
    const id = await this.host.createNetwork(spec);
    try {
      const guestInterface = await this.links.attach(`br-${id.slice(0, 12)}`);
      // A guest network still on this interface belongs to a lab whose host half is gone.
      for (const stale of await this.guest.listNetworks({ [LABEL.labLink]: guestInterface }))
        await this.guest.removeNetwork(stale.id);
      await this.guest.createNetwork({
        ...spec,
        macvlanParent: guestInterface,
        labels: { ...spec.labels, [LABEL.labLink]: guestInterface },
      });
    } catch (error) {
      await this.host.removeNetwork(id);
      throw error;
    }
    return id;
  }

  /** Both halves go; removing the host bridge frees its lab link for the next network. */
  async removeNetwork(nameOrId: string): Promise<void> {
    await Promise.all([this.host.removeNetwork(nameOrId), this.guest.removeNetwork(nameOrId)]);
  }

  /** One entry per segment, by name (its id here), whether one half or both exist. */
  async listNetworks(labelFilter?: Record<string, string | true>): Promise<NetworkInfo[]> {
    const [host, guest] = await Promise.all([
      this.host.listNetworks(labelFilter),
      this.guest.listNetworks(labelFilter),
    ]);
    const byName = new Map<string, NetworkInfo>();
    for (const network of [...host, ...guest])
      if (!byName.has(network.name)) byName.set(network.name, { ...network, id: network.name });
    return [...byName.values()];
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const side = spec.labels[LABEL.placement] === 'guest' ? this.guest : this.host;
    const id = await side.createContainer(spec);
    this.sides.set(id, side).set(spec.name, side);
    return id;
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

  async listContainers(labelFilter?: Record<string, string | true>): Promise<ContainerInfo[]> {
    const [host, guest] = await Promise.all([
      this.host.listContainers(labelFilter),
      this.guest.listContainers(labelFilter),
    ]);
    for (const [side, containers] of [
      [this.host, host],
      [this.guest, guest],
    ] as const)
      for (const container of containers) this.sides.set(container.id, side).set(container.name, side);
    return [...host, ...guest];
  }

  async exec(container: string, cmd: string[], options?: ExecOptions): Promise<ExecResult> {
    return (await this.sideOf(container)).exec(container, cmd, options);
  }

  /** Helpers (the IPVS probe) ask about the guest's kernel. */
  async runHelper(spec: HelperSpec): Promise<ExecResult> {
    return this.guest.runHelper(spec);
  }

  async runInNetns(spec: NetnsHelperSpec): Promise<ExecResult> {
    return (await this.sideOf(spec.target)).runInNetns(spec);
  }

  async endpointOf(container: string): Promise<string> {
    return (await this.sideOf(container)).endpoint;
  }

  private async sideOf(nameOrId: string): Promise<DockerRuntime> {
    if (!this.sides.has(nameOrId)) await this.listContainers();
    return this.sides.get(nameOrId) ?? this.host;
  }
}
