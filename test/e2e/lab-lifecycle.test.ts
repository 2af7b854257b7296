/**
 * The seed lab on the host Docker engine, for real: up converges OSPF to two ECMP nexthops, the VIP
 * answers with an X-Host, a second up is a no-op, and down leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dockerObjectsLabelled,
  dockerObjectsNamed,
  lblab,
  lblabJson,
  SEED_TOPOLOGY,
} from '../support/cli.js';

const ENGINE = ['--engine', 'docker'];

interface UpJson {
  lab: string;
  outcome: 'created' | 'unchanged';
  engine: string;
  dataPlanes: Record<string, string>;
  timings: Record<string, number>;
}

describe('seed lab on the host engine', () => {
  beforeAll(async () => {
    await lblab(['down', '--all', ...ENGINE]);
  }, 120_000);

  afterAll(async () => {
    await lblab(['down', '--all', ...ENGINE]);
  }, 120_000);

  it('comes up with an ECMP route to the VIP and serves it', async () => {
    const { result, json } = await lblabJson<UpJson>(['up', SEED_TOPOLOGY, ...ENGINE]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(json.outcome).toBe('created');
    expect(json.engine).toBe('docker');
    expect(Object.keys(json.dataPlanes).sort()).toEqual(['lb1', 'lb2']);

    const route = await lblab([
      'exec',
      SEED_TOPOLOGY,
      'router',
      ...ENGINE,
      '--',
      'ip',
      '-j',
      'route',
      'show',
      '172.16.253.100/32',
    ]);
    expect(route.exitCode).toBe(0);
    const [entry] = JSON.parse(String(route.stdout)) as { nexthops?: { gateway: string }[] }[];
    expect(entry?.nexthops?.map((hop) => hop.gateway).sort()).toEqual(['172.16.253.129', '172.16.253.131']);

    const ospf = await lblab([
      'exec',
      SEED_TOPOLOGY,
      'router',
      ...ENGINE,
      '--',
      'vtysh',
      '-c',
      'show ip route ospf',
    ]);
    expect(String(ospf.stdout)).toMatch(/O>\* 172\.16\.253\.100\/32 .* via 172\.16\.253\.(129|131)/);

    const curl = await lblab([
      'exec',
      SEED_TOPOLOGY,
      'router',
      ...ENGINE,
      '--',
      'curl',
      '-s',
      '-D',
      '-',
      '-o',
      '/dev/null',
      '--max-time',
      '3',
      'http://172.16.253.100:8080/',
    ]);
    expect(curl.exitCode).toBe(0);
    expect(String(curl.stdout)).toMatch(/^HTTP\/1\.1 200/);
    expect(String(curl.stdout)).toMatch(/X-Host: server[12]/);
    expect(String(curl.stdout)).toMatch(/X-Remote-IP: 172\.16\.253\.135/);
  }, 300_000);

  it('reports the nodes in status, then a second up is a no-op', async () => {
    const { json: status } = await lblabJson<{ nodes: { node: string; state: string }[] }>([
      'status',
      SEED_TOPOLOGY,
      ...ENGINE,
    ]);
    expect(status.nodes.map((n) => `${n.node}:${n.state}`).sort()).toEqual(
      ['lb1', 'lb2', 'router', 'server1', 'server2'].map((n) => `${n}:running`),
    );
    const { result, json } = await lblabJson<UpJson>(['up', SEED_TOPOLOGY, ...ENGINE]);
    expect(result.exitCode).toBe(0);
    expect(json.outcome).toBe('unchanged');
  }, 120_000);

  it("exec returns the command's exit code", async () => {
    const result = await lblab(['exec', SEED_TOPOLOGY, 'server1', ...ENGINE, '--', 'sh', '-c', 'exit 7']);
    expect(result.exitCode).toBe(7);
  }, 60_000);

  it('down removes every container, network and volume of the lab', async () => {
    const result = await lblab(['down', SEED_TOPOLOGY, ...ENGINE]);
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout)).toMatch(/removed 5 container\(s\) and 1 network\(s\)/);
    expect(await dockerObjectsLabelled('lblab.lab=ecmp-lvs-dr')).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
    expect(await dockerObjectsNamed('lblab-ecmp-lvs-dr')).toEqual({ containers: [], networks: [] });
    const again = await lblab(['down', SEED_TOPOLOGY, ...ENGINE]);
    expect(again.exitCode).toBe(0);
    expect(String(again.stdout)).toMatch(/nothing to remove/);
  }, 120_000);
});
