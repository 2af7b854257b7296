/** What a node kind contributes to the plan; the registry maps kind names to these. */
import type { EngineFacts, EngineTuning } from '../core/engine.js';
import type { KindTrait } from '../core/kind-traits.js';
import type {
  DataPlane,
  KernelFeature,
  PlannedInterface,
  PlannedSetupStep,
  ReadinessCheck,
} from '../core/plan.js';
import type { FileSpec } from '../core/runtime.js';
import type { TopologyIssue } from '../core/issue.js';
import type { NodeConfig, OwnConfig, TopologyConfig } from '../core/topology.js';

export interface KindContext {
  name: string;
  node: NodeConfig;
  topology: TopologyConfig;
  interfaces: PlannedInterface[];
  interfacesOf(node: string): PlannedInterface[];
  facts: EngineFacts;
  tuning: EngineTuning;
  /** Networks that carry no multicast (Swarm overlays across engines): OSPF is unicast there. */
  unicastNetworks: ReadonlySet<string>;
  /** The node's own config file for `which` (its content), when it brings one (`config:`). */
  ownConfig(which: OwnConfig): string | undefined;
  /** The topology's nodes that have `trait` (asked of the registry), in file order. */
  nodesWith(trait: KindTrait): [string, NodeConfig][];
}

/** What a kind's topology check may ask beyond the node itself. */
export interface KindCheckContext {
  name: string;
  node: NodeConfig;
  topology: TopologyConfig;
  /** Whether kind `kind` has `trait` (asked of the registry). */
  kindHas(kind: string, trait: KindTrait): boolean;
}

export type SetupStep = PlannedSetupStep;

export interface KindOutput {
  files: FileSpec[];
  setup: SetupStep[];
  readiness: ReadinessCheck[];
  /** Log files of the daemons this kind starts, for the evidence of a failed readiness. */
  logs: string[];
  sysctls: Record<string, string>;
  dataPlane?: DataPlane;
  /** Directors: the forwarding method of their services. */
  forwarding?: string;
  /** Kernel features the node needs beyond a plain Linux one (IPVS is said by dataPlane). */
  kernel?: KernelFeature[];
  warnings: string[];
}

export interface NodeKind {
  name: string;
  description: string;
  /** Node keys this kind understands beyond the common ones (kind, image, networks, env, ...). */
  keys: readonly string[];
  /** Linux capabilities the kind needs and why (the most any of its nodes gets); never --privileged. */
  capabilities: Readonly<Record<string, string>>;
  /** The capabilities one node needs, when that depends on its config (least privilege). */
  capabilitiesFor?(node: NodeConfig): Readonly<Record<string, string>>;
  /** What the kind is or runs; the rest of lblab asks these instead of naming kinds. */
  traits: readonly KindTrait[];
  /** The `config:` files a node of this kind may bring instead of the rendered ones. */
  ownConfigs?: readonly OwnConfig[];
  /** Traits a node of this kind has only when its config says so (e.g. a director without OSPF). */
  traitWhen?: Partial<Record<KindTrait, (node: NodeConfig) => boolean>>;
  check(context: KindCheckContext): TopologyIssue[];
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
  'config',
  'placement',
] as const;

export const BASE_CAPABILITIES: Readonly<Record<string, string>> = {
  NET_ADMIN: 'addresses, routes, sysctl-free network setup (ip addr/route), nft and ipvsadm',
  NET_RAW: 'ping, tcpdump and OSPF raw sockets',
};
