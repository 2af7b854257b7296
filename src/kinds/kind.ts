/** What a node kind contributes to the plan; the registry maps kind names to these. */
import type { EngineName, EngineTuning } from '../plan/engine-tuning.js';
import type { DataPlane, PlannedInterface, ReadinessCheck } from '../plan/plan.js';
import type { FileSpec } from '../runtime/runtime.js';
import type { TopologyIssue } from '../topology/issue.js';
import type { NodeConfig, TopologyConfig } from '../topology/types.js';

/** What the engine can do, learned by the preflight (or assumed by `lblab plan`). */
export interface EngineFacts {
  /** The engine the lab runs on; its timers and timeouts follow (plan/engine-tuning.ts). Default docker. */
  engine?: EngineName;
  /** Sandbox only: nodes that need the guest's kernel run in the guest, the rest on the host engine. */
  splitsNodes?: boolean;
  ipvs: boolean;
  /** Why IPVS is missing, to repeat in warnings and errors. */
  ipvsReason?: string;
}

export interface KindContext {
  name: string;
  node: NodeConfig;
  topology: TopologyConfig;
  interfaces: PlannedInterface[];
  interfacesOf(node: string): PlannedInterface[];
  facts: EngineFacts;
  tuning: EngineTuning;
}

export interface SetupStep {
  summary: string;
  commands: string[];
}

export interface KindOutput {
  files: FileSpec[];
  setup: SetupStep[];
  readiness: ReadinessCheck[];
  /** Log files of the daemons this kind starts, for the evidence of a failed readiness. */
  logs: string[];
  sysctls: Record<string, string>;
  dataPlane?: DataPlane;
  warnings: string[];
}

export interface NodeKind {
  name: string;
  description: string;
  /** Node keys this kind understands beyond the common ones (kind, image, networks, env, ...). */
  keys: readonly string[];
  /** Linux capabilities the kind needs and why; nothing is ever --privileged. */
  capabilities: Readonly<Record<string, string>>;
  check(name: string, node: NodeConfig, topology: TopologyConfig): TopologyIssue[];
  build(context: KindContext): KindOutput;
}

export const COMMON_NODE_KEYS = [
  'kind',
  'image',
  'networks',
  'env',
  'sysctls',
  'binds',
  'exec',
  'ready',
] as const;

export const BASE_CAPABILITIES: Readonly<Record<string, string>> = {
  NET_ADMIN: 'addresses, routes, sysctl-free network setup (ip addr/route), nft and ipvsadm',
  NET_RAW: 'ping, tcpdump and OSPF raw sockets',
};
