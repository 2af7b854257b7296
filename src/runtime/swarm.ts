/**
 * Docker Swarm, only as far as a lab across engines needs it: attachable overlays. lblab joins the
 * engines of a pool into a Swarm when a lab spans them, and marks every engine it brought in (a
 * label on its Swarm node: the mark lives and dies with the membership), so `down` can put back
 * what it changed: an engine lblab brought in leaves, and a docker_gwbridge network Docker made for
 * the overlays goes. An engine that was in a Swarm already stays in it.
 */
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import type { DockerRuntime } from './docker-runtime.js';
import { LABEL } from '../core/labels.js';

/** The node labels lblab puts on the Swarm nodes it made. */
const JOINED = 'lblab.swarm-joined';
const GWBRIDGE_BEFORE = 'lblab.swarm-gwbridge-before';
const SWARM_PORT = 2377;
const GWBRIDGE = 'docker_gwbridge';

export interface SwarmMember {
  name: string;
  runtime: DockerRuntime;
}

interface SwarmInfo {
  NodeID?: string;
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  Cluster?: { ID?: string };
}

async function swarmInfo(member: SwarmMember): Promise<SwarmInfo> {
  const info = (await member.runtime.docker.info()) as { Swarm?: SwarmInfo };
  return info.Swarm ?? {};
}

async function hasGwbridge(member: SwarmMember): Promise<boolean> {
  const networks = await member.runtime.docker.listNetworks({ filters: { name: [GWBRIDGE] } });
  return networks.some((network) => network.Name === GWBRIDGE);
}

/** The host part of an engine's endpoint (tcp://h:p, ssh://u@h), or undefined for a local socket. */
export function endpointHost(endpoint: string): string | undefined {
  if (endpoint.startsWith('unix://')) return undefined;
  return new URL(endpoint).hostname;
}

/** The address this machine sends from towards `host` (no packet is sent: a UDP connect only routes). */
async function localAddressTowards(host: string): Promise<string> {
  const address = (await lookup(host, { family: 4 })).address;
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(9, address, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

/** Where a member's Swarm traffic (2377, VXLAN 4789, gossip 7946) reaches it, as the others see it. */
export async function advertiseAddress(member: SwarmMember, others: SwarmMember[]): Promise<string> {
  const host = endpointHost(member.runtime.endpoint);
  if (host) return (await lookup(host, { family: 4 })).address;
  const remote = others.map((other) => endpointHost(other.runtime.endpoint)).find((h) => h !== undefined);
  if (!remote) throw new Error(`the pool's engines are all local: a lab across them needs no Swarm`);
  return localAddressTowards(remote);
}

/**
 * Makes `members` one Swarm with the first as manager; returns the members lblab brought in.
 * A member already in another Swarm is refused: lblab does not move an engine between Swarms.
 */
export async function joinSwarm(
  members: SwarmMember[],
  onProgress: (line: string) => void,
): Promise<string[]> {
  const [manager, ...workers] = members;
  if (!manager) return [];
  const brought: string[] = [];
  const managerState = await swarmInfo(manager);
  if (managerState.LocalNodeState !== 'active') {
    const address = await advertiseAddress(manager, workers);
    const gwbridge = await hasGwbridge(manager);
    onProgress(`swarm: ${manager.name} starts a Swarm, advertising ${address}`);
    await manager.runtime.docker.swarmInit({ ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: address });
    // Labs need no routing mesh, and a worker that leaves keeps a stale ingress sandbox (Docker
    // 20.10), which pins its docker_gwbridge: with no ingress, nothing is left behind.
    await removeIngress(manager);
    await markNode(manager, (await swarmInfo(manager)).NodeID ?? '', gwbridge);
    brought.push(manager.name);
  } else if (!managerState.ControlAvailable) {
    throw new Error(
      `${manager.name} is a worker of a Swarm it did not start here; the first engine of the pool must be a manager or in no Swarm`,
    );
  }
  const swarm = (await manager.runtime.docker.swarmInspect()) as { JoinTokens?: { Worker?: string } };
  const managerAddress = await advertiseAddress(manager, workers);
  for (const worker of workers) {
    const state = await swarmInfo(worker);
    if (state.LocalNodeState === 'active') {
      // A worker cannot tell its cluster; the manager's node list can.
      const known = (await manager.runtime.docker.listNodes()) as { ID: string }[];
      if (known.some((node) => node.ID === state.NodeID)) continue;
      throw new Error(
        `${worker.name} is in another Swarm: leave it there (docker swarm leave) or use another engine`,
      );
    }
    const address = await advertiseAddress(worker, [manager]);
    const gwbridge = await hasGwbridge(worker);
    onProgress(`swarm: ${worker.name} joins, advertising ${address}`);
    await worker.runtime.docker.swarmJoin({
      ListenAddr: `0.0.0.0:${SWARM_PORT}`,
      AdvertiseAddr: address,
      RemoteAddrs: [`${managerAddress}:${SWARM_PORT}`],
      JoinToken: swarm.JoinTokens?.Worker ?? '',
    });
    await markNode(manager, (await swarmInfo(worker)).NodeID ?? '', gwbridge);
    brought.push(worker.name);
  }
  return brought;
}

async function removeIngress(manager: SwarmMember): Promise<void> {
  const ingress = await manager.runtime.docker.listNetworks({ filters: { name: ['ingress'] } });
  for (const network of ingress.filter((n) => n.Name === 'ingress'))
    await manager.runtime.docker.getNetwork(network.Id).remove();
}

/** `swarm leave --force`, again when a slow engine times out inside it (it then is still active). */
async function leave(member: SwarmMember): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await member.runtime.docker.swarmLeave({ force: true });
      return;
    } catch (error) {
      if ((await swarmInfo(member)).LocalNodeState === 'inactive') return;
      if (attempt >= 3) throw error;
    }
  }
}

/**
 * An engine whose Swarm is gone (its manager left or was lost while it was away) waits for it for
 * ever ("pending"). For an engine lblab owns outright (the sandbox guest) that is only a leftover
 * of an earlier lab: it leaves, so it can join anew. Returns whether it had to.
 */
export async function leaveLostSwarm(member: SwarmMember): Promise<boolean> {
  const state = (await swarmInfo(member)).LocalNodeState;
  if (state !== 'pending' && state !== 'error') return false;
  await leave(member);
  await member.runtime.docker
    .getNetwork(GWBRIDGE)
    .remove()
    .catch(() => undefined);
  return true;
}

/** Labels the Swarm node lblab brought in (on the manager, which holds the node list). */
async function markNode(manager: SwarmMember, nodeId: string, gwbridgeBefore: boolean): Promise<void> {
  const node = manager.runtime.docker.getNode(nodeId);
  const current = (await node.inspect()) as { Version: { Index: number }; Spec: Record<string, unknown> };
  const spec = current.Spec as { Labels?: Record<string, string> };
  await node.update({
    version: current.Version.Index,
    ...current.Spec,
    Labels: { ...spec.Labels, [JOINED]: 'true', [GWBRIDGE_BEFORE]: String(gwbridgeBefore) },
  });
}

/**
 * Whether a lab still uses the Swarm: one of its containers, on any member, is on an overlay. An
 * overlay with no container left goes with the Swarm (an attach that timed out can leave a task
 * that keeps the manager from removing it on its own).
 */
async function labsStillOnOverlays(members: SwarmMember[]): Promise<boolean> {
  const overlays = await members[0]!.runtime.docker.listNetworks({ filters: { driver: ['overlay'] } });
  const names = new Set(overlays.map((network) => network.Name));
  for (const member of members) {
    const containers = await member.runtime.docker.listContainers({
      all: true,
      filters: { label: [LABEL.lab] },
    });
    const onOverlay = containers.some((container) =>
      Object.keys(container.NetworkSettings?.Networks ?? {}).some((network) => names.has(network)),
    );
    if (onOverlay) return true;
  }
  return false;
}

/**
 * Puts back what joinSwarm changed, once no lab container is on an overlay: every engine lblab brought in
 * leaves (workers first), and loses the docker_gwbridge it did not have before. Returns who left.
 */
export async function restoreSwarm(
  members: SwarmMember[],
  onProgress: (line: string) => void,
): Promise<string[]> {
  const [manager, ...workers] = members;
  if (!manager) return [];
  const managerState = await swarmInfo(manager);
  if (managerState.LocalNodeState !== 'active' || !managerState.ControlAvailable) return [];
  if (await labsStillOnOverlays(members)) return [];
  const nodes = (await manager.runtime.docker.listNodes()) as {
    ID: string;
    Spec?: { Labels?: Record<string, string> };
  }[];
  const marks = new Map(nodes.map((node) => [node.ID, node.Spec?.Labels ?? {}]));
  const left: string[] = [];
  for (const member of [...workers, manager]) {
    const state = member === manager ? managerState : await swarmInfo(member);
    const labels = marks.get(state.NodeID ?? '');
    if (state.LocalNodeState !== 'active' || labels?.[JOINED] !== 'true') continue;
    onProgress(`swarm: ${member.name} leaves the Swarm lblab brought it into`);
    await leave(member);
    if (member !== manager && state.NodeID) {
      // The manager would list the worker as down for good; it is gone on purpose.
      await manager.runtime.docker
        .getNode(state.NodeID)
        .remove({ force: true })
        .catch(() => undefined);
    }
    if (labels[GWBRIDGE_BEFORE] === 'false') {
      await member.runtime.docker
        .getNetwork(GWBRIDGE)
        .remove()
        .catch(() => undefined);
    }
    left.push(member.name);
  }
  return left;
}
