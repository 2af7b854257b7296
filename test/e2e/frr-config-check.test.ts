/**
 * FRR's boot-time config load can miss a slow daemon (ospfd running with nothing but its hostname).
 * These labs reproduce that on purpose with an `exec:` line that, once the boot load is done, strips
 * `router ospf` from the running daemon: `up` must notice, load the config itself and converge, or,
 * when loading cannot help, fail naming the daemon and what it lacks, with the node's FRR log.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerObjectsLabelled, lblab, SEED_TOPOLOGY } from '../support/cli.js';

const ENGINE = ['--engine', 'docker'];
const LAB = 'frr-sabotage';

/** Waits for the boot load to reach ospfd, then takes `router ospf` away again. */
const STRIP_OSPF =
  'for i in $(seq 100); do vtysh -c "show running-config" | grep -q "^router ospf" && break; sleep 0.1; done; ' +
  'vtysh -c "configure terminal" -c "no router ospf"';

let dir: string;

/** The seed lab under its own name and subnet, with `lines` added to `node`'s exec. */
async function sabotaged(node: string, lines: string[]): Promise<string> {
  const seed = await readFile(SEED_TOPOLOGY, 'utf8');
  const exec = `      exec:\n${lines.map((line) => `        - ${JSON.stringify(line)}`).join('\n')}\n`;
  const text = seed
    .replace(/^name: ecmp-lvs-dr$/m, `name: ${LAB}`)
    .replace(`    ${node}:\n`, `    ${node}:\n${exec}`)
    .replace(/^verify:[\s\S]*$/m, '');
  expect(text).toContain(STRIP_OSPF.slice(0, 20));
  const file = path.join(dir, `${node}.yml`);
  await writeFile(file, text);
  return file;
}

describe('FRR that started without its configuration', () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lblab-frr-'));
    await lblab(['down', '--name', LAB, ...ENGINE]);
  }, 120_000);

  afterAll(async () => {
    await lblab(['down', '--name', LAB, ...ENGINE]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('is detected and repaired by up: the router gets its OSPF back and ECMP converges', async () => {
    const file = await sabotaged('router', [STRIP_OSPF]);
    const up = await lblab(['up', file, '--isolate', ...ENGINE], { timeoutMs: 240_000 });
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const stderr = String(up.stderr);
    expect(stderr).toMatch(/router: readiness: ospfd lacks "router ospf".*\(attempt 1 of 3\)/);
    expect(stderr).toContain('router: ready: kernel route to 172.16.253.100/32 with 2 nexthop(s)');

    const config = await lblab([
      'exec',
      file,
      'router',
      ...ENGINE,
      '--',
      'vtysh',
      '-c',
      'show running-config',
    ]);
    expect(String(config.stdout)).toMatch(/^router ospf$/m);
    expect((await lblab(['down', file, ...ENGINE])).exitCode).toBe(0);
  }, 300_000);

  it('is reported, with the daemon, what it lacks and the FRR log, when loading cannot fix it', async () => {
    // The config file itself loses `router ospf`, so loading it again cannot bring it back.
    const file = await sabotaged('lb1', ["sed -i '/^router ospf/,/^!/d' /etc/frr/frr.conf", STRIP_OSPF]);
    const up = await lblab(['up', file, '--isolate', ...ENGINE], { timeoutMs: 240_000 });
    expect(up.exitCode).toBe(1);
    const stderr = String(up.stderr);
    expect(stderr).toMatch(
      /lb1: readiness: FRR configured \(ospfd: 5 settings\) not reached: lblab stopped waiting after \d+ s of 60 s, as 3 repairs did not help \(last seen: ospfd lacks "router ospf", "ospf router-id 172\.16\.253\.129"/,
    );
    expect(stderr).toContain('repaired 3 of 3 times');
    // Its consequence, lb1's neighbours never coming Full, is reported after it, not instead of it.
    expect(stderr).toMatch(/\n {2}also lb1: 2 OSPF neighbour\(s\) Full not reached/);
    // The other nodes stopped waiting then too: up fails (and rolls back) without waiting out 60 s.
    expect(stderr).toMatch(/not reached: lblab stopped waiting after \d+ s of 60 s, as lb1 failed/);
    expect(stderr).toContain("lb1's logs:\n--- /var/log/frr/frr.log");
    expect(stderr).toContain('Try this: FRR did not load /etc/frr/frr.conf');
    // Rolled back: nothing of the lab is left.
    const left = await dockerObjectsLabelled(`lblab.lab=${LAB}`);
    expect(left.containers).toEqual([]);
    expect(left.networks).toEqual([]);
  }, 300_000);
});
