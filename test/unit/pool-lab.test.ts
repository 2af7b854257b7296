/**
 * A lab spread over a pool's engines (`up --pool`): where compile places each node, which networks
 * become Swarm overlays, and how OSPF turns to unicast on them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LABEL } from '../../src/core/labels.js';
import type { EngineFacts } from '../../src/core/engine.js';
import type { Plan, PlannedNode } from '../../src/core/plan.js';
import { compile, overlayDynamicRange } from '../../src/plan/compile.js';
import { renderPlan } from '../../src/plan/render-plan.js';
import { parseTopologyText } from '../../src/topology/load.js';
import { validateTopology } from '../../src/topology/validate.js';
import { placementIssues } from '../../src/lab/pool-lab.js';

const FILE = '/labs/ecmp-lvs-dr.yml';
const SEED_TEXT = readFileSync('topologies/ecmp-lvs-dr.yml', 'utf8');
const POOL: EngineFacts = {
  engine: 'sandbox',
  ipvs: true,
  members: [
    { name: 'host', kind: 'docker', ipvs: false, ipvsReason: 'no ip_vs module' },
    { name: 'guest', kind: 'sandbox', ipvs: true },
  ],
};

function plan(text: string, facts: EngineFacts = POOL): Plan {
  const config = validateTopology(parseTopologyText(FILE, Buffer.from(text)));
  return compile(config, { file: FILE, text, defaultImage: 'lblab/node:test', facts });
}

function node(compiled: Plan, name: string): PlannedNode {
  const found = compiled.nodes.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no node ${name}`);
  return found;
}

function frrConf(compiled: Plan, name: string): string {
  return node(compiled, name).files.find((file) => file.path === '/etc/frr/frr.conf')?.content ?? '';
}

describe('the seed lab over a pool of a host engine without IPVS and a guest with it', () => {
  const compiled = plan(SEED_TEXT);

  it('places the directors on the member with IPVS and everything else on the first member', () => {
    const placements = Object.fromEntries(compiled.nodes.map((n) => [n.name, n.placement]));
    expect(placements).toEqual({
      router: 'host',
      lb1: 'guest',
      lb2: 'guest',
      server1: 'host',
      server2: 'host',
    });
    expect(node(compiled, 'lb1').labels[LABEL.placement]).toBe('guest');
    expect(node(compiled, 'lb1').dataPlane).toBe('ipvs');
  });

  it('makes the one network an overlay across both members, its dynamic range clear of every node', () => {
    expect(compiled.networks.map((n) => [n.name, n.overlay, n.members, n.ipRange])).toEqual([
      ['lan', true, ['host', 'guest'], '172.16.253.240/28'],
    ]);
  });

  it('renders OSPF non-broadcast with unicast neighbours; the directors stand aside for the router as DR', () => {
    const router = frrConf(compiled, 'router');
    expect(router).toContain(' ip ospf network non-broadcast\n');
    expect(router).toContain(' ip ospf priority 1\n');
    expect(router).toContain(' neighbor 172.16.253.129 poll-interval 1\n');
    expect(router).toContain(' neighbor 172.16.253.131 poll-interval 1\n');
    expect(router).not.toContain('point-to-multipoint');
    const lb1 = frrConf(compiled, 'lb1');
    expect(lb1).toContain(' ip ospf priority 0\n');
    expect(lb1).toContain(' neighbor 172.16.253.135 poll-interval 1\n');
    // lb2 may not be DR either: they never become adjacent, so lb1 does not call on it.
    expect(lb1).not.toContain('neighbor 172.16.253.131');
  });

  it('waits for the adjacencies that reach Full: the router with both, each director with the router', () => {
    const full = (name: string) =>
      node(compiled, name).readiness.find((c) => c.type === 'ospf-full')?.neighbors;
    expect(full('router')).toBe(2);
    expect(full('lb1')).toBe(1);
    expect(full('lb2')).toBe(1);
  });

  it('says so in the plan', () => {
    const text = renderPlan(compiled);
    expect(text).toContain(
      'network lblab-ecmp-lvs-dr-lan: Swarm overlay across host, guest (attachable; OSPF non-broadcast, hellos by unicast)',
    );
    expect(text).toContain('node lb1 (director, data plane ipvs, runs on pool engine guest)');
    expect(text).toContain('node router (router, runs on pool engine host)');
  });
});

describe('placement:', () => {
  it('puts a node where it says, and a network on one member stays a multicast bridge', () => {
    const everythingInGuest = SEED_TEXT.replace(
      /(\n {4}(router|server1|server2):\n)/g,
      '$1      placement: guest\n',
    );
    const compiled = plan(everythingInGuest);
    expect(compiled.nodes.map((n) => n.placement)).toEqual(['guest', 'guest', 'guest', 'guest', 'guest']);
    expect(compiled.networks[0]).toMatchObject({ overlay: false, members: ['guest'] });
    expect(frrConf(compiled, 'router')).toContain('point-to-multipoint');
    expect(frrConf(compiled, 'router')).not.toContain('neighbor');
    expect(node(compiled, 'lb1').readiness.find((c) => c.type === 'ospf-full')?.neighbors).toBe(2);
  });

  it('a director placed on a member without IPVS gets that member facts (the nftables stand-in)', () => {
    const compiled = plan(SEED_TEXT.replace(/(\n {4}lb2:\n)/, '$1      placement: host\n'));
    expect(node(compiled, 'lb2')).toMatchObject({ placement: 'host', dataPlane: 'nftables' });
    expect(node(compiled, 'lb1')).toMatchObject({ placement: 'guest', dataPlane: 'ipvs' });
  });

  it('changes nothing without a pool', () => {
    const compiled = plan(SEED_TEXT.replace(/(\n {4}lb2:\n)/, '$1      placement: host\n'), { ipvs: true });
    expect(compiled.nodes.every((n) => n.placement === undefined)).toBe(true);
    expect(compiled.networks[0]?.overlay).toBeUndefined();
  });
});

describe('overlayDynamicRange: where Swarm may put its own per-engine addresses', () => {
  it('takes the highest /28 of the range that no node uses', () => {
    expect(overlayDynamicRange('10.0.0.128/25', ['10.0.0.129', '10.0.0.250'])).toBe('10.0.0.224/28');
  });
  it('goes down to smaller blocks in a crowded range, and keeps the range when nothing is free', () => {
    expect(overlayDynamicRange('10.0.0.0/28', ['10.0.0.1', '10.0.0.9'])).toBe('10.0.0.12/30');
    const all = Array.from({ length: 4 }, (_, i) => `10.0.0.${i}`);
    expect(overlayDynamicRange('10.0.0.0/30', all)).toBe('10.0.0.0/30');
  });
});

describe('placementIssues: placements that cannot be, located in the topology', () => {
  const config = (text: string) => validateTopology(parseTopologyText(FILE, Buffer.from(text)));
  const lb2On = (member: string) => SEED_TEXT.replace(/(\n {4}lb2:\n)/, `$1      placement: ${member}\n`);

  it('a name the pool does not have: the fix lists the names', () => {
    expect(placementIssues(config(lb2On('rack9')), POOL.members, [])).toEqual([
      {
        path: ['topology', 'nodes', 'lb2', 'placement'],
        message: 'node lb2 is placed on "rack9", which is not an engine of the pool',
        fix: 'use one of: host, guest',
      },
    ]);
  });

  it('a director that needs IPVS on an engine without it: the fix names the engine with IPVS', () => {
    const demanded = [{ node: 'lb2', why: 'it sets engine: ipvs' }];
    expect(placementIssues(config(lb2On('host')), POOL.members, demanded)).toEqual([
      {
        path: ['topology', 'nodes', 'lb2', 'placement'],
        message: 'lb2 needs IPVS (it sets engine: ipvs), but the kernel of host has none (no ip_vs module)',
        fix: 'place it on guest, or remove placement: and lblab picks one with IPVS',
      },
    ]);
    expect(placementIssues(config(lb2On('guest')), POOL.members, demanded)).toEqual([]);
  });

  it('a placement with no pool at all', () => {
    const issues = placementIssues(config(lb2On('guest')), undefined, []);
    expect(issues.map((issue) => issue.fix)).toEqual([
      'run it across engines with up --pool FILE, or remove placement:',
    ]);
  });
});
