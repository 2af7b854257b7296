/**
 * Promise 5, several labs at once: a second copy of a lab on the same subnet is refused before anything
 * is created (naming the first lab's network); with --isolate both copies run, each node reaching its
 * own lab's peer; status lists both; `down` of one leaves the other untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab, lblabJson } from '../support/cli.js';
import {
  createdSomething,
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

const A = 'rel-copy-a';
const B = 'rel-copy-b';

let file: string;

beforeAll(async () => {
  await downLabs([A, B]);
  const dir = await tempDir();
  file = await writeTopology(
    dir,
    'copy.yml',
    linuxTopology('rel-copy', '10.246.1.0/24', { n1: { ip: '10.246.1.10' }, n2: { ip: '10.246.1.11' } }),
  );
}, 120_000);

afterAll(async () => {
  await downLabs([A, B]);
  await removeTempDirs();
}, 120_000);

function exec(lab: string, node: string, command: string[]) {
  return lblab(['exec', '--name', lab, node, ...ENGINE, '--', ...command]);
}

/** n1 pings n2 (the same address in both labs); returns the MAC n1 learnt for it and n2's own MAC. */
async function pingPeer(lab: string): Promise<{ learnt: string; peer: string }> {
  const ping = await exec(lab, 'n1', ['ping', '-c', '1', '-W', '2', '10.246.1.11']);
  expect(ping.exitCode, `${lab}: ${String(ping.stdout)}${String(ping.stderr)}`).toBe(0);
  const neigh = await exec(lab, 'n1', ['ip', '-j', 'neigh', 'show', '10.246.1.11']);
  const [entry] = JSON.parse(String(neigh.stdout)) as { lladdr?: string }[];
  const own = await exec(lab, 'n2', ['cat', '/sys/class/net/eth0/address']);
  return { learnt: entry?.lladdr ?? '', peer: String(own.stdout).trim() };
}

describe('copies of one topology side by side', () => {
  it('a second copy on the same subnet is refused before anything is created, naming the first lab’s network', async () => {
    const first = await lblab(['up', file, '--name', A, ...ENGINE]);
    expect(first.exitCode, String(first.stderr)).toBe(0);

    const second = await lblab(['up', file, '--name', B, ...ENGINE, '--verbose']);
    const stderr = String(second.stderr);
    expect(second.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(
      /^Error: preflight: network "lblab-rel-copy-a-lan" \(lab rel-copy-a\) already uses 10\.246\.1\.0\/24.*add --isolate/m,
    );
    expect(createdSomething(stderr), stderr).toBe(false);
    expect(await leftovers(B)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it('with --isolate both copies run and each reaches its own peer', async () => {
    const second = await lblab(['up', file, '--name', B, '--isolate', ...ENGINE]);
    expect(second.exitCode, String(second.stderr)).toBe(0);

    const inA = await pingPeer(A);
    const inB = await pingPeer(B);
    expect(inA.learnt).toBe(inA.peer);
    expect(inB.learnt).toBe(inB.peer);
    // Same address, different machines: each lab talks to its own n2.
    expect(inA.peer).not.toBe(inB.peer);

    const { json } = await lblabJson<{ nodes: { lab: string; node: string; state: string }[] }>([
      'status',
      '--all',
      ...ENGINE,
    ]);
    const ours = json.nodes
      .filter((n) => n.lab === A || n.lab === B)
      .map((n) => `${n.lab}/${n.node}:${n.state}`)
      .sort();
    expect(ours).toEqual([`${A}/n1:running`, `${A}/n2:running`, `${B}/n1:running`, `${B}/n2:running`]);
  }, 60_000);

  it('down of one copy leaves the other untouched', async () => {
    const before = await labContainers(B);
    const down = await lblab(['down', '--name', A, ...ENGINE]);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(await leftovers(A)).toEqual(NOTHING_LEFT);
    expect(await labContainers(B)).toEqual(before);
    const inB = await pingPeer(B);
    expect(inB.learnt).toBe(inB.peer);
  }, 60_000);
});
