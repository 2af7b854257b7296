/** `up` and `verify` orchestration on the fake runtime: success, rollback, --keep-on-failure, a changed file. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import { matchRunningTopology, upLab, verifyLab } from '../../src/lab/lab.js';
import { topologyHashOf } from '../../src/plan/compile.js';
import { InterruptedError } from '../../src/util/interrupt.js';
import { fakeEngine, FakeRuntime, healthyNode } from '../support/fake-runtime.js';

const TOPOLOGY = `name: tiny
topology:
  networks:
    lan: { subnet: 10.77.0.0/24 }
  nodes:
    web:
      kind: server
      networks: { lan: 10.77.0.10 }
    client:
      kind: linux
      networks: { lan: 10.77.0.20 }
verify:
  - wait: { node: client, tcp: "10.77.0.10:8080" }
`;

let dir: string;
let file: string;
let stateDir: string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lblab-up-'));
  file = path.join(dir, 'tiny.yml');
  // The lab lock lives in the state directory; keep it out of /var/lib/lblab.
  stateDir = process.env.LBLAB_STATE_DIR;
  process.env.LBLAB_STATE_DIR = path.join(dir, 'state');
});

afterAll(async () => {
  if (stateDir === undefined) delete process.env.LBLAB_STATE_DIR;
  else process.env.LBLAB_STATE_DIR = stateDir;
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await writeFile(file, TOPOLOGY);
});

/** A runtime whose node `node` fails its setup script. */
function failingSetup(node: string): FakeRuntime {
  const runtime = new FakeRuntime();
  runtime.respond = (container, cmd, options) =>
    container.spec.labels['lblab.node'] === node && cmd.join(' ') === 'sh /etc/lblab/setup.sh'
      ? { exitCode: 1, stdout: '', stderr: 'lblab: setup failed at: nginx (exit 1)\n' }
      : healthyNode(container, cmd, options);
  return runtime;
}

describe('upLab', () => {
  it('creates the network and every node, runs each setup once and waits for readiness', async () => {
    const runtime = new FakeRuntime();
    const result = await upLab(fakeEngine(runtime), file);
    expect(result.outcome).toBe('created');
    expect(runtime.containerNames()).toEqual(['lblab-tiny-client', 'lblab-tiny-web']);
    expect([...runtime.containers.values()].every((c) => c.state === 'running')).toBe(true);
    expect([...runtime.networks.values()].map((n) => n.name)).toEqual(['lblab-tiny-lan']);
    expect(runtime.calls.filter((call) => call.endsWith('sh /etc/lblab/setup.sh'))).toHaveLength(2);
    // The server's readiness: its nginx answers with its own identity.
    expect(runtime.calls.some((call) => call.startsWith('exec lblab-tiny-web curl'))).toBe(true);
  });

  it('does nothing for a lab that is already up from the same file', async () => {
    const runtime = new FakeRuntime();
    await upLab(fakeEngine(runtime), file);
    const callsBefore = runtime.calls.length;
    const again = await upLab(fakeEngine(runtime), file);
    expect(again.outcome).toBe('unchanged');
    expect(runtime.calls.slice(callsBefore).filter((call) => !call.startsWith('list'))).toEqual([]);
  });

  it('rolls everything back when a node fails its setup', async () => {
    const runtime = failingSetup('web');
    const error = await upLab(fakeEngine(runtime), file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LabError);
    expect(error).toMatchObject({ stage: 'setup', options: { node: 'web' } });
    expect((error as Error).message).toContain('setup failed at: nginx');
    expect(runtime.containerNames()).toEqual([]);
    expect(runtime.networks.size).toBe(0);
  });

  it('with --keep-on-failure leaves the failed lab up and says how to look inside', async () => {
    const runtime = failingSetup('web');
    const error = await upLab(fakeEngine(runtime), file, { keepOnFailure: true }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).hint).toContain('lblab exec --name tiny');
    expect(runtime.containerNames()).toEqual(['lblab-tiny-client', 'lblab-tiny-web']);
    expect(runtime.networks.size).toBe(1);
    expect(runtime.calls.some((call) => call.startsWith('removeContainer'))).toBe(false);
  });

  it('rolls back after an interrupt even with --keep-on-failure', async () => {
    const runtime = new FakeRuntime();
    const controller = new AbortController();
    controller.abort('SIGTERM');
    const error = await upLab(fakeEngine(runtime), file, {
      keepOnFailure: true,
      signal: controller.signal,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InterruptedError);
    expect(runtime.containerNames()).toEqual([]);
    expect(runtime.networks.size).toBe(0);
  });

  it('refuses binds on an engine that cannot see host paths, before creating anything', async () => {
    await writeFile(file, TOPOLOGY.replace('kind: linux\n', 'kind: linux\n      binds: [tiny.yml:/x:ro]\n'));
    const runtime = new FakeRuntime();
    const engine = fakeEngine(runtime, { capabilities: { binds: false } });
    await expect(upLab(engine, file)).rejects.toMatchObject({ stage: 'preflight' });
    expect(runtime.calls.filter((call) => call.startsWith('create'))).toEqual([]);
  });
});

describe('verifyLab runs against what is running', () => {
  it('says nothing extra when the file is the one the lab was brought up from', async () => {
    const runtime = new FakeRuntime();
    const engine = fakeEngine(runtime);
    await upLab(engine, file);
    const report = await verifyLab(engine, file);
    expect(report.ok).toBe(true);
    expect(report.warnings).toBeUndefined();
  });

  it('warns, in the report, when the topology file changed since up', async () => {
    const runtime = new FakeRuntime();
    const engine = fakeEngine(runtime);
    await upLab(engine, file);
    await writeFile(file, TOPOLOGY.replace('10.77.0.10:8080', '10.77.0.10:8081'));
    const report = await verifyLab(engine, file);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings?.[0]).toContain(`${file} changed since lab tiny was brought up`);
    expect(report.warnings?.[0]).toContain('--force');
  });
});

describe('matchRunningTopology', () => {
  const text = 'name: x\n';
  it('recognises the same text, with and without --isolate', () => {
    expect(matchRunningTopology(text, [topologyHashOf(text, false)])).toMatchObject({
      isolate: false,
      changedSinceUp: false,
    });
    expect(
      matchRunningTopology(text, [topologyHashOf(text, true), topologyHashOf(text, true)]),
    ).toMatchObject({
      isolate: true,
      changedSinceUp: false,
    });
  });

  it('tells an edited file, and a lab whose nodes disagree, from the running one', () => {
    expect(matchRunningTopology(`${text}# edited\n`, [topologyHashOf(text, false)]).changedSinceUp).toBe(
      true,
    );
    expect(
      matchRunningTopology(text, [topologyHashOf(text, false), topologyHashOf('other', false)])
        .changedSinceUp,
    ).toBe(true);
  });
});
