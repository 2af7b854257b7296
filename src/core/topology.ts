/** The topology file's shape after schema validation (see schema/topology.schema.json). */

/** A timer profile, or `auto`: the engine's default (see plan/engine-tuning.ts). */
export type OspfTimers = ResolvedOspfTimers | 'auto';
export type ResolvedOspfTimers = 'article' | 'fast' | 'steady';

export interface OspfConfig {
  'router-id'?: string;
  area?: number | string;
  networks?: string[];
  timers?: OspfTimers;
}

export interface HealthCheckConfig {
  'http-get'?: string;
  status?: number;
  'connect-timeout'?: number;
  'delay-loop'?: number;
}

export interface RealServerConfig {
  node: string;
  weight?: number;
}

export interface ServiceConfig {
  port: number;
  protocol?: 'tcp' | 'udp';
  scheduler?: string;
  method?: 'dr' | 'nat' | 'tun';
  persistence?: number;
  'health-check'?: HealthCheckConfig;
  'real-servers': RealServerConfig[];
}

export interface NodeConfig {
  kind: string;
  image?: string;
  networks: Record<string, string>;
  env?: Record<string, string | number | boolean>;
  sysctls?: Record<string, string | number>;
  binds?: string[];
  exec?: string[];
  /** The pool engine that runs this node (`up --pool`), by the pool's name for it. */
  placement?: string;
  ospf?: OspfConfig;
  vip?: string;
  /** Where a director holds its VIP: `lo` (advertised by OSPF) or one of its networks (answers ARP there). */
  'vip-on'?: string;
  lvs?: 'keepalived' | 'ipvsadm';
  engine?: 'auto' | 'ipvs' | 'nftables';
  services?: ServiceConfig[];
  http?: { port?: number; identity?: string };
  /** A UDP responder (server kind), answering each datagram with X-Host and X-Remote-IP lines. */
  udp?: { port?: number };
  ready?: WaitCondition[];
  /** The user's own config files (paths relative to the topology file) instead of rendered ones. */
  config?: Partial<Record<OwnConfig, string>>;
}

/** Config files a node may bring instead of lblab's rendered ones. */
export type OwnConfig = 'frr' | 'keepalived' | 'nginx';

export interface NetworkConfig {
  subnet: string;
  'ip-range'?: string;
  gateway?: string;
  isolated?: boolean;
}

export interface TopologyConfig {
  name: string;
  description?: string;
  topology: {
    defaults?: {
      image?: string;
      env?: Record<string, string | number | boolean>;
      'ospf-timers'?: OspfTimers;
    };
    networks: Record<string, NetworkConfig>;
    nodes: Record<string, NodeConfig>;
  };
  verify?: unknown[];
}

/**
 * A `wait` condition as written (also a node's `ready:` item, where `node` is implied): `node`,
 * `timeout`, and the keys of one check type (e.g. `route` and `nexthops`), which parses the rest.
 */
export interface WaitCondition {
  node?: string;
  timeout?: string;
  [key: string]: unknown;
}
