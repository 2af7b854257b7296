/**
 * The configuration lblab renders, checked by the real tools in the node image: keepalived
 * --config-test, FRR's vtysh --dryrun, and nft -c on a throwaway veth named eth0. Each checker is shown to reject a
 * broken file too, so a pass means something.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { nodeImageRef } from '../../src/images/node-image.js';
import { planTopology } from '../../src/plan/compile.js';
import { openTopology } from '../../src/topology/open.js';
import type { Plan } from '../../src/core/plan.js';
import { SEED_TOPOLOGY } from '../support/cli.js';

const image = await nodeImageRef();

async function planFor(ipvs: boolean): Promise<Plan> {
  return planTopology(await openTopology(SEED_TOPOLOGY), { defaultImage: image, facts: { ipvs } });
}

function fileOf(plan: Plan, node: string, path: string): string {
  const content = plan.nodes.find((n) => n.name === node)?.files.find((f) => f.path === path)?.content;
  if (content === undefined) throw new Error(`${node} has no ${path}`);
  return content;
}

/** Runs `check` in a throwaway node container with `content` at /tmp/config. */
async function checkInImage(content: string, check: string) {
  return execa(
    'docker',
    [
      'run',
      '--rm',
      '-i',
      '--network',
      'none',
      '--cap-add',
      'NET_ADMIN',
      '--entrypoint',
      'sh',
      image,
      '-c',
      `cat > /tmp/config && ${check}`,
    ],
    { input: content, reject: false },
  );
}

const KEEPALIVED = 'keepalived --config-test -f /tmp/config';
const FRR = 'vtysh --dryrun -f /tmp/config';
const NFT = 'ip link add eth0 type veth peer name peer0 && nft -c -f /tmp/config';

describe('rendered configuration passes the real tools', () => {
  it('keepalived.conf of both directors', async () => {
    const plan = await planFor(true);
    for (const node of ['lb1', 'lb2']) {
      const result = await checkInImage(fileOf(plan, node, '/etc/keepalived/keepalived.conf'), KEEPALIVED);
      expect(result.exitCode, `${node}: ${result.stderr}`).toBe(0);
    }
    const broken = await checkInImage('virtual_server 1.2.3.4 80 { lvs_sched bogus }', KEEPALIVED);
    expect(broken.exitCode).not.toBe(0);
  }, 60_000);

  it('frr.conf of the router and a director', async () => {
    const plan = await planFor(true);
    for (const node of ['router', 'lb1']) {
      const result = await checkInImage(fileOf(plan, node, '/etc/frr/frr.conf'), FRR);
      expect(result.exitCode, `${node}: ${result.stdout}${result.stderr}`).toBe(0);
    }
    const broken = await checkInImage('router ospf\n bogus command\n', FRR);
    expect(broken.exitCode).not.toBe(0);
  }, 60_000);

  it('the nftables DR ruleset', async () => {
    const plan = await planFor(false);
    const result = await checkInImage(fileOf(plan, 'lb1', '/etc/lblab/dr.nft'), NFT);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const broken = await checkInImage('table netdev x { chain y { ether daddr set nonsense } }', NFT);
    expect(broken.exitCode).not.toBe(0);
  }, 60_000);
});
