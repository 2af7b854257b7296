/**
 * What a node kind is or runs. Code that cares asks the kinds registry which kinds have a trait
 * (kinds/registry.ts) instead of listing kind names, so a new kind is one entry there.
 */
export const KIND_TRAIT = {
  /** Speaks OSPF: a neighbour of every other speaker on its networks. */
  ospf: 'ospf',
  /** Runs FRR, so vtysh answers in it. */
  frr: 'frr',
  /** An LVS director: holds a VIP, advertises it over OSPF and forwards it over a data plane. */
  director: 'director',
  /** Can be a real server behind a director. */
  realServer: 'real-server',
} as const;

export type KindTrait = (typeof KIND_TRAIT)[keyof typeof KIND_TRAIT];
