/**
 * The Plan: everything `lblab up` will create, computed purely from the topology (and the facts the
 * preflight learned about the engine). `lblab plan` prints it; `apply` executes it and nothing else.
 */
import type { FileSpec } from './runtime.js';
import type { EngineTuning } from './engine.js';

export type DataPlane = 'ipvs' | 'nftables';

/**
 * A condition polled until it holds or its timeout expires; used by `up` (a node's readiness) and by
 * verify's `wait` step. `type` names a check type (checks/registry.ts), which owns the other fields.
 */
export interface ReadinessCheck {
  type: string;
  /** The topology node it is observed on. */
  node: string;
  timeoutMs: number;
  readonly [field: string]: unknown;
}

export interface PlannedNetwork {
  /** Name in the topology file, e.g. `lan`. */
  name: string;
  /** Docker network name: `lblab-<lab>-<network>`. */
  dockerName: string;
  subnet: string;
  ipRange: string;
  gateway: string;
  /**
   * Docker provides only the L2 segment (addresses from its own pool) and the setup script puts the
   * lab's addresses on the interfaces, so copies of a lab can share a subnet on one engine.
   */
  isolated: boolean;
  labels: Record<string, string>;
  /**
   * Pool labs: the members whose nodes attach to it. With more than one it is a Swarm overlay
   * (created on the manager, attachable, VXLAN between the engines) and OSPF is unicast on it.
   */
  members?: string[];
  overlay?: boolean;
}

export interface PlannedInterface {
  network: string;
  dockerNetwork: string;
  /** eth0, eth1, ... in declaration order. */
  ifname: string;
  ip: string;
  prefixLength: number;
  /** Fixed at compile time so the nftables director can be rendered without asking Docker. */
  mac: string;
  /** The network is isolated: the setup script, not Docker, assigns `ip`. */
  selfAddressed: boolean;
}

/** Where a node's setup script is, in its container: run again when a stopped node starts. */
export const SETUP_SCRIPT_PATH = '/etc/lblab/setup.sh';

export interface PlannedSetupStep {
  summary: string;
  commands: string[];
  /** The daemons (process names) these commands start: a `daemon` step starts one again with them. */
  daemons?: string[];
  /** Commands that start them again in a node where they ran before, when `commands` assume a fresh node. */
  restart?: string[];
}

export interface PlannedNode {
  name: string;
  kind: string;
  containerName: string;
  hostname: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  capAdd: string[];
  /** Set for nodes with SYS_ADMIN: a profile that keeps them from mounting (see kinds/seccomp.ts). */
  seccomp?: { name: string; description: string; profile: string };
  sysctls: Record<string, string>;
  /** The node may set its own net.* sysctls (`sysctl -w` in its shell); the rest of /proc/sys is read-only. */
  writableNetSysctls: boolean;
  binds: string[];
  interfaces: PlannedInterface[];
  files: FileSpec[];
  /** One shell script per node, run in a single `docker exec` after start (one exec costs ~60 ms). */
  setupScript: string;
  /** The steps the setup script runs, each with its commands (for `lblab plan`). */
  setup: PlannedSetupStep[];
  readiness: ReadinessCheck[];
  /** Log files of the daemons the node runs, shown (their last lines) when the node fails readiness. */
  logs: string[];
  /**
   * Sandbox labs: `guest` for a node that runs in the UML guest (it needs its kernel), else `host`.
   * Pool labs: the name of the pool member that runs it.
   */
  placement?: string;
  /** Directors only: which data plane forwards the VIP traffic. */
  dataPlane?: DataPlane;
  /** Kernel features the node needs from its engine's kernel (a TUN real server: ipip). */
  kernel?: KernelFeature[];
  /** Directors only: the forwarding method of its services (dr, nat; see kinds/forwarding.ts). */
  forwarding?: string;
}

/** What a node may need from its kernel beyond network namespaces, bridges and veths. */
export type KernelFeature = 'ipvs' | 'ipip';

export interface Plan {
  lab: string;
  topologyFile: string;
  topologyHash: string;
  lblabVersion: string;
  networks: PlannedNetwork[];
  nodes: PlannedNode[];
  /** The engine the plan is for, and the timers and timeouts chosen for it. */
  tuning: EngineTuning;
  /** Non-fatal notes for the user, e.g. why a director falls back to nftables. */
  warnings: string[];
}
