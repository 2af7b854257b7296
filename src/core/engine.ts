/** What the plan and the kinds know about the engine a lab runs on. */
import type { ResolvedOspfTimers } from './topology.js';

export type EngineName = 'docker' | 'sandbox';

/**
 * Timers and timeouts that fit the engine (the table is plan/engine-tuning.ts): the sandbox runs every
 * syscall through a User-Mode Linux kernel, so it gets steadier OSPF timers and longer readiness waits.
 */
export interface EngineTuning {
  engine: EngineName;
  /** The OSPF timer profile for nodes whose topology says `auto` (or nothing). */
  ospfTimers: ResolvedOspfTimers;
  /** Readiness timeouts lblab sets itself are multiplied by this (a user's `timeout:` is kept). */
  timeoutScale: number;
  /** How often a readiness condition is probed (each probe is one exec in the node). */
  pollIntervalMs: number;
  /** Why, in a sentence `plan` and `up` print. */
  why: string;
}

/** What the engine can do, learned by the preflight (or assumed by `lblab plan`). */
export interface EngineFacts {
  /** The engine the lab runs on; its timers and timeouts follow (plan/engine-tuning.ts). Default docker. */
  engine?: EngineName;
  /** Sandbox only: nodes that need the guest's kernel run in the guest, the rest on the host engine. */
  splitsNodes?: boolean;
  ipvs: boolean;
  /** Why IPVS is missing, to repeat in warnings and errors. */
  ipvsReason?: string;
  /**
   * A lab spread over a pool's engines (`up --pool`): each node runs on one member, and a network
   * whose nodes sit on several members is a Swarm overlay (no multicast across it). In pool order;
   * the first is the Swarm manager and takes the nodes nothing places elsewhere.
   */
  members?: PoolMemberFacts[];
}

/** One pool engine as compile sees it: its name in the pool file and what its kernel has. */
export interface PoolMemberFacts {
  name: string;
  kind: EngineName;
  ipvs: boolean;
  ipvsReason?: string;
}
