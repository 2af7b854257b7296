/**
 * A lab across a pool's engines (`up --pool`): each node runs on the member its plan names
 * (the placement label), a network on one member is a bridge there, and a network across members is
 * an attachable Swarm overlay created on the manager (the first member), which any member's
 * containers can join. The Swarm itself is made and put back by swarm.ts.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { LABEL } from '../core/labels.js';
import type { DockerRuntime } from './docker-runtime.js';
import type { ContainerSpec, ExecResult, HelperSpec, NetworkSpec } from '../core/runtime.js';
import { SpreadRuntime } from './spread-runtime.js';
import type { SwarmMember } from './swarm.js';

/**
 * A worker's first attach to an overlay asks the manager for an address over the Swarm's control
 * channel; on a slow engine (the sandbox guest) that can time out once ("context deadline
 * exceeded") and work the next time.
 */
const ATTACH_RETRYABLE =
  /context deadline exceeded|attaching to network failed|network .* not found|could not find/i;
const ATTACH_ATTEMPTS = 4;
const ATTACH_PAUSE_MS = 2_000;

export class PoolRuntime extends SpreadRuntime {
  protected readonly engines: readonly DockerRuntime[];
  private readonly byName: Map<string, DockerRuntime>;
  /**
   * A worker starts its containers one at a time: each start attaches to the overlays through the
   * manager, and several at once on a slow engine time out and leave a half-made attachment
   * holding the address ("Address already in use" on the next try).
   */
  private readonly workerStarts = new Map<DockerRuntime, LimitFunction>();
  /** The overlays this runtime made, and the workers that have attached to each once already. */
  private readonly overlays = new Set<string>();
  private readonly warmed = new Set<string>();

  constructor(
    readonly members: SwarmMember[],
    /** Where helpers run (the IPVS probe asks about the member that has the kernel for it). */
    private readonly helperMember: string,
  ) {
    super();
    this.engines = members.map((member) => member.runtime);
    this.byName = new Map(members.map((member) => [member.name, member.runtime]));
  }

  get manager(): DockerRuntime {
    return this.members[0]!.runtime;
  }

  private member(name: string | undefined): DockerRuntime {
    return (name !== undefined ? this.byName.get(name) : undefined) ?? this.manager;
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    if (!spec.overlay) return this.member(spec.members?.[0]).createNetwork(spec);
    const id = await this.manager.createNetwork(spec);
    this.overlays.add(spec.name);
    return id;
  }

  /**
   * Wherever it is: a bridge on its member, an overlay on the manager. A worker's view of an overlay
   * goes with the manager's (removing it there is refused), so only the manager's answer counts for it.
   */
  async removeNetwork(nameOrId: string): Promise<void> {
    await removeAnchors(this.manager, nameOrId);
    const results = await Promise.allSettled(
      this.members.map((member, i) =>
        i === 0
          ? retryWhileInUse(() => member.runtime.removeNetwork(nameOrId))
          : member.runtime.removeNetwork(nameOrId),
      ),
    );
    const failed = results.flatMap((result, i) =>
      result.status === 'rejected' && (i === 0 || !/swarm|scope/i.test(String(result.reason)))
        ? [result.reason]
        : [],
    );
    if (failed.length > 0) throw failed[0];
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const side = this.member(spec.labels[LABEL.placement]);
    if (side !== this.manager) await this.warmUp(side, spec);
    const id = await retryAttach(
      () => side.createContainer(spec),
      async () => {
        await side.removeContainer(spec.name).catch(() => undefined);
      },
    );
    this.remember(side, id, spec.name);
    return id;
  }

  /**
   * A worker sets an overlay up when the first container on it attaches, and tears it down when the
   * last one leaves. A plain container's attach must be done in Docker's fixed 20 s, which a slow
   * engine's set-up can outlast; an attach that timed out keeps a task that holds its address, so a
   * retry with the same fixed address fails. So before the lab's first container on a worker, a
   * Swarm service (whose tasks have no such deadline) runs an anchor there on each overlay, for the
   * lab's life: the lab's containers then find the overlay set up and attach in a few seconds.
   */
  private async warmUp(side: DockerRuntime, spec: ContainerSpec): Promise<void> {
    const oneAtATime = this.workerStarts.get(side) ?? pLimit(1);
    this.workerStarts.set(side, oneAtATime);
    await oneAtATime(async () => {
      for (const network of new Set(spec.interfaces.map((iface) => iface.network))) {
        const key = `${side.endpoint} ${network}`;
        if (!this.overlays.has(network) || this.warmed.has(key)) continue;
        await anchorOverlay(this.manager, side, network, spec.image, spec.labels[LABEL.lab] ?? '');
        this.warmed.add(key);
      }
    });
  }

  override async startContainer(nameOrId: string): Promise<void> {
    const side = await this.sideOf(nameOrId);
    if (side === this.manager) return side.startContainer(nameOrId);
    const oneAtATime = this.workerStarts.get(side) ?? pLimit(1);
    this.workerStarts.set(side, oneAtATime);
    await oneAtATime(() => retryAttach(() => side.startContainer(nameOrId)));
  }

  async runHelper(spec: HelperSpec): Promise<ExecResult> {
    return this.member(this.helperMember).runHelper(spec);
  }
}

/** The label that marks an anchor service with the overlay it holds on a worker. */
const ANCHOR_OF = 'lblab.anchor-of';
const ANCHOR_WAIT_MS = 240_000;

/** Runs an anchor on `network` on the worker `side`, through a service, and waits until it runs. */
async function anchorOverlay(
  manager: DockerRuntime,
  side: DockerRuntime,
  network: string,
  image: string,
  lab: string,
): Promise<void> {
  const info = (await side.docker.info()) as { Swarm?: { NodeID?: string } };
  const nodeId = info.Swarm?.NodeID ?? '';
  const labels = { [LABEL.lab]: lab, [LABEL.helper]: 'overlay anchor', [ANCHOR_OF]: network };
  const service = (await manager.docker.createService({
    Name: `${network}-anchor-${nodeId.slice(0, 8)}`,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: { Image: image, Command: ['sleep', 'infinity'], Labels: { ...side.scope, ...labels } },
      Placement: { Constraints: [`node.id == ${nodeId}`] },
      Networks: [{ Target: network }],
      RestartPolicy: { Condition: 'none' },
    },
    Mode: { Replicated: { Replicas: 1 } },
  })) as { id?: string; ID?: string };
  const serviceId = service.id ?? service.ID ?? '';
  const until = performance.now() + ANCHOR_WAIT_MS;
  for (;;) {
    const tasks = (await manager.docker.listTasks({ filters: { service: [serviceId] } })) as {
      Status?: { State?: string; Err?: string };
    }[];
    const states = tasks.map((task) => task.Status?.State ?? '');
    if (states.includes('running')) return;
    const failed = tasks.find((task) => ['failed', 'rejected'].includes(task.Status?.State ?? ''));
    if (failed || performance.now() > until) {
      throw new Error(
        `the overlay ${network} could not be set up on ${side.endpoint}: ${failed?.Status?.Err ?? `its anchor is ${states.join(', ') || 'not scheduled'} after ${ANCHOR_WAIT_MS / 1000} s`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** The anchor services of an overlay go before it (a service keeps its network in use). */
async function removeAnchors(manager: DockerRuntime, network: string): Promise<void> {
  const services = (await manager.docker
    .listServices({ filters: { label: [`${ANCHOR_OF}=${network}`] } })
    .catch(() => [])) as { ID: string }[];
  for (const service of services)
    await manager.docker
      .getService(service.ID)
      .remove()
      .catch(() => undefined);
}

/**
 * The manager refuses to remove an overlay while a worker's attachment task for a container that is
 * already gone still holds it; a slow worker releases it within seconds.
 */
async function retryWhileInUse(remove: () => Promise<void>, deadlineMs = 20_000): Promise<void> {
  const until = performance.now() + deadlineMs;
  for (;;) {
    try {
      return await remove();
    } catch (error) {
      if (performance.now() > until || !/in use by task/i.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** Runs `attempt` again (after `undo`) while it fails the way a slow first overlay attach does. */
export async function retryAttach<T>(
  attempt: () => Promise<T>,
  undo: () => Promise<void> = async () => {},
  pauseMs = ATTACH_PAUSE_MS,
): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= ATTACH_ATTEMPTS || !ATTACH_RETRYABLE.test((error as Error).message)) throw error;
      await undo();
      await new Promise((resolve) => setTimeout(resolve, pauseMs * tries));
    }
  }
}
