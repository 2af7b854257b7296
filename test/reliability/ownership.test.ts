/**
 * Promise 4, ownership: lblab removes what carries its `lblab.lab` label and nothing else, however
 * much a foreign object looks like a lab's: a similar name, an unlabelled network on the lab's name
 * prefix, or some other `lblab.` label without `lblab.lab`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab } from '../support/cli.js';
import {
  docker,
  dockerQuiet,
  downLabs,
  ENGINE,
  labContainers,
  leftovers,
  linuxTopology,
  NOTHING_LEFT,
  removeTempDirs,
  tempDir,
  writeTopology,
} from './support.js';

const LAB = 'rel-own';
const FOREIGN = {
  /** Named like a node of the lab. */
  container: `lblab-${LAB}-router-foreign`,
  /** Named like the lab's network, unlabelled, on a subnet of its own. */
  network: `lblab-${LAB}-lan-foreign`,
  /** Carries lblab.node / lblab.kind labels, but no lblab.lab. */
  labelled: 'rel-own-lookalike',
  /** A network with another lblab. label (lblab.network) but no lblab.lab. */
  labelledNetwork: 'rel-own-lookalike-net',
  /** Someone's container, connected by hand to the lab's network. */
  visitor: 'rel-own-visitor',
};

let nodeImage: string;

async function removeForeign(): Promise<void> {
  await dockerQuiet(['rm', '-f', FOREIGN.container, FOREIGN.labelled, FOREIGN.visitor]);
  await dockerQuiet(['network', 'rm', FOREIGN.network, FOREIGN.labelledNetwork]);
}

async function exists(kind: 'container' | 'network', name: string): Promise<boolean> {
  const found = await docker(
    kind === 'container'
      ? ['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Names}}']
      : ['network', 'ls', '--filter', `name=^${name}$`, '--format', '{{.Name}}'],
  );
  return found === name;
}

beforeAll(async () => {
  await downLabs([LAB]);
  await removeForeign();
  nodeImage =
    (await docker(['images', 'lblab/node', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n')[0] ?? '';
  expect(nodeImage).toMatch(/^lblab\/node:/);
}, 120_000);

afterAll(async () => {
  await downLabs([LAB]);
  await removeForeign();
  await removeTempDirs();
}, 120_000);

describe('down removes only what is the lab’s', () => {
  it('foreign look-alikes survive down --all, the lab does not', async () => {
    await docker(['network', 'create', '--subnet', '10.245.9.0/24', FOREIGN.network]);
    await docker(['network', 'create', '--label', 'lblab.network=lan', FOREIGN.labelledNetwork]);
    await docker([
      'run',
      '-d',
      '--name',
      FOREIGN.container,
      '--network',
      FOREIGN.network,
      nodeImage,
      'sleep',
      'infinity',
    ]);
    await docker([
      'run',
      '-d',
      '--name',
      FOREIGN.labelled,
      '--label',
      'lblab.node=router',
      '--label',
      'lblab.kind=linux',
      '--network',
      FOREIGN.labelledNetwork,
      nodeImage,
      'sleep',
      'infinity',
    ]);

    const dir = await tempDir();
    const file = await writeTopology(
      dir,
      'own.yml',
      linuxTopology(LAB, '10.245.1.0/24', { router: { ip: '10.245.1.10' }, client: { ip: '10.245.1.11' } }),
    );
    const up = await lblab(['up', file, ...ENGINE]);
    expect(up.exitCode, String(up.stderr)).toBe(0);
    expect(Object.keys(await labContainers(LAB)).sort()).toEqual(['client', 'router']);

    const down = await lblab(['down', '--all', ...ENGINE]);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await leftovers(LAB)).toEqual({
      ...NOTHING_LEFT,
      // What is left with the lab's prefix is exactly the foreign look-alikes.
      named: [FOREIGN.container, FOREIGN.network],
    });
    for (const name of [FOREIGN.container, FOREIGN.labelled]) {
      expect(await exists('container', name), name).toBe(true);
      expect(await docker(['inspect', name, '--format', '{{.State.Running}}']), name).toBe('true');
    }
    for (const name of [FOREIGN.network, FOREIGN.labelledNetwork]) {
      expect(await exists('network', name), name).toBe(true);
    }
  }, 90_000);

  it('a container someone connected to the lab’s network: down removes the lab around it, leaves it running and says how to free the network', async () => {
    const dir = await tempDir();
    const file = await writeTopology(
      dir,
      'visited.yml',
      linuxTopology(LAB, '10.245.2.0/24', { router: { ip: '10.245.2.10' } }),
    );
    const up = await lblab(['up', file, ...ENGINE]);
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const network = `lblab-${LAB}-lan`;
    await docker(['run', '-d', '--name', FOREIGN.visitor, nodeImage, 'sleep', 'infinity']);
    await docker(['network', 'connect', network, FOREIGN.visitor]);

    const down = await lblab(['down', file, ...ENGINE]);
    expect(down.exitCode).not.toBe(0);
    expect(String(down.stderr)).toContain(
      `network ${network} is still used by ${FOREIGN.visitor}, not a container of the lab: ` +
        `disconnect it (docker network disconnect ${network} ${FOREIGN.visitor}) and run down again`,
    );
    expect(await labContainers(LAB)).toEqual({});
    expect(await docker(['inspect', FOREIGN.visitor, '--format', '{{.State.Running}}'])).toBe('true');

    // As the message says: then down finishes, and the visitor is still there.
    await docker(['network', 'disconnect', network, FOREIGN.visitor]);
    const again = await lblab(['down', file, ...ENGINE]);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect((await leftovers(LAB)).labelled).toEqual([]);
    expect(await exists('network', network)).toBe(false);
    expect(await exists('container', FOREIGN.visitor)).toBe(true);
  }, 90_000);
});
