/**
 * A sandbox lab split over two engines: the nodes that need the guest's kernel (IPVS directors) run
 * in the UML guest, everything else on the host engine at host speed. Each lab network is one L2
 * segment across both: a bridge network on the host with a tap (a "lab link") as one of its ports,
 * and a macvlan network in the guest on the vecN interface at the tap's other end. Multicast (OSPF
 * hellos), ARP and DR's MAC rewriting cross it like any bridge port.
 */
import { LABEL } from '../core/labels.js';
import type { DockerRuntime } from './docker-runtime.js';
import type { ContainerSpec, ExecResult, HelperSpec, NetworkSpec } from '../core/runtime.js';
import { SpreadRuntime } from './spread-runtime.js';

/** The host ends of the guest's lab links (see sandbox/lab-links.ts). */
export interface LabLinks {
  /** Makes a free link's host tap a port of `bridge`; returns the guest interface at its other end. */
  attach(bridge: string): Promise<string>;
}

export class SplitRuntime extends SpreadRuntime {
  protected readonly engines: readonly DockerRuntime[];

  constructor(
    readonly host: DockerRuntime,
    readonly guest: DockerRuntime,
    private readonly links: LabLinks,
  ) {
    super();
    this.engines = [host, guest];
  }

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

  async createContainer(spec: ContainerSpec): Promise<string> {
    const side = spec.labels[LABEL.placement] === 'guest' ? this.guest : this.host;
    const id = await side.createContainer(spec);
    this.remember(side, id, spec.name);
    return id;
  }

  /** Helpers (the IPVS probe) ask about the guest's kernel. */
  async runHelper(spec: HelperSpec): Promise<ExecResult> {
    return this.guest.runHelper(spec);
  }
}
