/** ospf-full: the node's ospfd has N adjacencies in state Full. */
import { KIND_TRAIT } from '../core/kind-traits.js';
import type { ReadinessCheck } from '../core/plan.js';
import { firstLine } from '../util/text.js';
import { defineCheckType, type Observation } from './check-type.js';

export interface OspfFullCheck extends ReadinessCheck {
  type: 'ospf-full';
  neighbors: number;
}

export const ospfFullCheck = defineCheckType<OspfFullCheck>({
  type: 'ospf-full',
  waitKey: 'ospf-full',
  parse: (wait, timeoutMs) => ({
    type: 'ospf-full',
    node: wait.node,
    neighbors: wait['ospf-full'] as number,
    timeoutMs,
  }),
  // vtysh answers only where FRR runs.
  needsTrait: KIND_TRAIT.frr,
  describe: (check) => `${check.neighbors} OSPF neighbour(s) Full`,
  async observe(probe, check) {
    const result = await probe(['vtysh', '-c', 'show ip ospf neighbor json']);
    if (result.exitCode !== 0)
      return { ok: false, seen: `vtysh failed: ${firstLine(result.stderr || result.stdout)}` };
    return judgeOspfNeighbours(result.stdout, check.neighbors);
  },
  hint: 'rerun with --keep-on-failure, then look at OSPF: lblab exec <file> <node> -- vtysh -c "show ip ospf interface"',
});

interface OspfNeighbourJson {
  neighbors?: Record<string, { state?: string; nbrState?: string }[]>;
}

export function judgeOspfNeighbours(json: string, wanted: number): Observation {
  let parsed: OspfNeighbourJson;
  try {
    parsed = JSON.parse(json) as OspfNeighbourJson;
  } catch {
    return { ok: false, seen: 'ospfd not answering yet' };
  }
  const states = Object.entries(parsed.neighbors ?? {}).flatMap(([id, entries]) =>
    entries.map((entry) => `${id} ${entry.state ?? entry.nbrState ?? '?'}`),
  );
  const full = states.filter((state) => state.split(' ')[1]?.startsWith('Full')).length;
  return {
    ok: full >= wanted,
    seen: `${full} of ${wanted} Full${states.length ? ` (${states.join(', ')})` : ''}`,
  };
}
