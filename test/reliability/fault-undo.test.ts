/**
 * Faults are undone: a fault step's change is put back when verify ends, whether it passed or was
 * stopped by a signal in the middle of a long step (which ends early rather than making Ctrl-C wait).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab } from '../support/cli.js';
import {
  docker,
  downLabs,
  ENGINE,
  linuxTopology,
  removeTempDirs,
  startCommand,
  tempDir,
  writeTopology,
} from './support.js';

const LAB = 'rel-fault-undo';
const STOP_LAB = 'rel-fault-stop';
let file: string;
let stopFile: string;

beforeAll(async () => {
  await downLabs([LAB, STOP_LAB]);
  const dir = await tempDir();
  stopFile = await writeTopology(
    dir,
    `${STOP_LAB}.yml`,
    `${linuxTopology(STOP_LAB, '10.244.8.0/24', {
      a: { ip: '10.244.8.10' },
      b: { ip: '10.244.8.11', extra: ['exec: ["ip route add 10.98.0.0/16 via 10.244.8.10"]'] },
    })}verify:
  - name: traffic to b while it is stopped
    http-load:
      node: a
      url: http://10.244.8.11:8080/
      rate: 5/s
      duration: 60s
      during:
        - at: 1s
          stop: { node: b }
      expect: { min-failures: 1 }
`,
  );
  const upStop = await lblab(['up', stopFile, ...ENGINE]);
  expect(upStop.exitCode, String(upStop.stderr)).toBe(0);
  const lab = linuxTopology(LAB, '10.244.7.0/24', {
    a: { ip: '10.244.7.10', extra: ['exec: ["ip route add 10.99.0.0/16 via 10.244.7.11"]'] },
    b: { ip: '10.244.7.11' },
  });
  file = await writeTopology(
    dir,
    `${LAB}.yml`,
    `${lab}verify:
  - name: a loses its link
    link: { node: a, dev: eth0, state: down }
  - name: b's link gets slow
    impair: { node: b, dev: eth0, delay: 100ms, loss: 1% }
  - name: a long experiment
    exec: { node: b, cmd: "sleep 60", timeout: 2m }
`,
  );
  const up = await lblab(['up', file, ...ENGINE]);
  expect(up.exitCode, String(up.stderr)).toBe(0);
}, 180_000);

afterAll(async () => {
  await downLabs([LAB, STOP_LAB]);
  await removeTempDirs();
}, 120_000);

/** eth0's state and a's routes, as the node sees them. */
async function linkAndRoutes(): Promise<string> {
  const result = await lblab([
    'exec',
    file,
    'a',
    ...ENGINE,
    '--',
    'sh',
    '-c',
    'ip -o link show dev eth0 | grep -o "state [A-Z]*"; ip -4 route',
  ]);
  return String(result.stdout);
}

/** b's qdiscs, egress filters, links, /run and any delay-line process: all an impairment touches. */
async function impairmentOfB(): Promise<string> {
  const result = await lblab([
    'exec',
    file,
    'b',
    ...ENGINE,
    '--',
    'sh',
    '-c',
    'tc qdisc show; tc filter show dev eth0 egress; ip -o link show | cut -d" " -f2; ls /run; pgrep -f "lblab [d]elay line"; true',
  ]);
  return String(result.stdout);
}

describe('faults injected by verify', () => {
  it('SIGTERM during the next, long step: the step ends early, the link, its route and the slow link come back, exit 143', async () => {
    const before = await linkAndRoutes();
    expect(before).toContain('state UP');
    expect(before).toContain('10.99.0.0/16 via 10.244.7.11 dev eth0');
    const bBefore = await impairmentOfB();

    const started = Date.now();
    const verify = startCommand('verify', [file, ...ENGINE]);
    await verify.waitFor('eth0 up -> down');
    expect(await linkAndRoutes()).toContain('state DOWN');
    // netem where the kernel has it, else lblab's delay line: either changes what b shows.
    await verify.waitFor('(b): eth0: ');
    expect(await impairmentOfB()).not.toBe(bBefore);
    verify.child.kill('SIGTERM');
    const result = await verify.child;
    expect(result.exitCode).toBe(143);
    expect(verify.stderr()).toContain('verify: undone: eth0 up on a');
    expect(verify.stderr()).toContain('verify: undone: eth0 on b unimpaired');
    expect(verify.stderr()).toContain(
      'interrupted by SIGTERM; verify interrupted in step 3 of 3 ("a long experiment"); 2 fault(s) undone',
    );
    // The 60 s step did not hold Ctrl-C back.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await linkAndRoutes()).toBe(before);
    expect(await impairmentOfB()).toBe(bBefore);
  }, 150_000);
});

describe('a node stopped by verify', () => {
  /** b's container state and, when it runs, its routes (the one its setup added among them). */
  async function stateOfB(): Promise<string> {
    const state = await docker(['inspect', '-f', '{{.State.Status}}', `lblab-${STOP_LAB}-b`]);
    if (state !== 'running') return state;
    const routes = await lblab(['exec', stopFile, 'b', ...ENGINE, '--', 'ip', '-4', 'route']);
    return `${state}\n${String(routes.stdout)}`;
  }

  it('SIGTERM while traffic runs with b stopped: b is started and set up again, exit 143', async () => {
    const before = await stateOfB();
    expect(before).toContain('10.98.0.0/16 via 10.244.8.10 dev eth0');

    const verify = startCommand('verify', [stopFile, ...ENGINE]);
    await verify.waitFor('running -> stopped');
    expect(await stateOfB()).toBe('exited');
    verify.child.kill('SIGTERM');
    const result = await verify.child;
    expect(result.exitCode).toBe(143);
    expect(verify.stderr()).toContain('verify: undone: start b');
    expect(await stateOfB()).toBe(before);
  }, 120_000);
});
