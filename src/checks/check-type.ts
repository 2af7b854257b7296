/**
 * What a readiness or wait check type owns, whole: how it is written in a `wait:` step or a node's
 * `ready:` list, what the schema cannot check, how it reads in a plan or a report, how it is observed
 * in a node, how what it saw is judged, and what to try when it never held. One module per type,
 * listed once in registry.ts; `up` and verify's `wait` both go through it.
 */
import type { TopologyIssue } from '../core/issue.js';
import type { KindTrait } from '../core/kind-traits.js';
import type { ReadinessCheck } from '../core/plan.js';
import type { ExecResult } from '../core/runtime.js';
import type { WaitCondition } from '../core/topology.js';
import type { PollResult } from '../util/poll.js';

/** What one probe saw; `repair` is a command that should bring the node to the wanted state. */
export interface Observation extends PollResult {
  repair?: { cmd: string[]; what: string };
}

/** Runs one command in the node being observed (one exec, bounded by the probe timeout). */
export type Probe = (cmd: string[]) => Promise<ExecResult>;

/** Where a semantic issue of a wait condition goes: `at('port')` is the path of its `port` key. */
export interface CheckIssueContext {
  at: (...rest: (string | number)[]) => (string | number)[];
}

export interface CheckType<C extends ReadinessCheck = ReadinessCheck> {
  /** The check's `type` in a plan. */
  type: string;
  /**
   * The key that selects this type in a `wait:` or `ready:` item (e.g. `route`); absent for checks
   * only kinds create. The schema fragment for it lives in schema/verify.schema.json (waitCondition).
   */
  waitKey?: string;
  /** A `wait:`/`ready:` item that has `waitKey` (schema-valid, `node` filled in) to the check. */
  parse?(condition: WaitCondition & { node: string }, timeoutMs: number): C;
  /** A trait the node must have for the check to make sense (asked of kinds/registry.ts), e.g. `frr`. */
  needsTrait?: KindTrait;
  /** What the schema cannot check about a parsed condition. */
  issues?(check: C, context: CheckIssueContext): TopologyIssue[];
  /** The condition in words: "kernel route to 172.16.253.100/32 with 2 nexthop(s)". */
  describe(check: C): string;
  /** One observation of the node; never throws for what the node says, only reports it. */
  observe(probe: Probe, check: C): Promise<Observation>;
  /** What to try when the check never held (shown under `up`'s readiness error). */
  hint?: string;
}

/** A check type as the registry holds it: its own field types erased. */
export type AnyCheckType = CheckType<ReadinessCheck>;

/** Lets a typed check module be listed beside others (the registry only calls it with its own checks). */
export function defineCheckType<C extends ReadinessCheck>(type: CheckType<C>): AnyCheckType {
  return type as unknown as AnyCheckType;
}
