/**
 * Promise 7, least privilege: after a real `up` with one node of each kind, no container is privileged,
 * each has exactly its kind's capabilities, /proc/sys stays read-only, nothing is published on the
 * host, no host namespace is shared, and every bind source (symlinks resolved) lies inside the topology
 * file's directory. A bind that would reach outside it, or that Docker would create on the host, is
 * refused before anything is created.
 */
import { mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab } from '../support/cli.js';
import {
  createdSomething,
  docker,
  downLabs,
  ENGINE,
  leftovers,
  linuxTopology,
  NOTHING_LEFT,
  removeTempDirs,
  tempDir,
  writeTopology,
} from './support.js';

const LAB = 'rel-priv';
const ESCAPE = 'rel-priv-escape';
const MISSING = 'rel-priv-missing';
const BASE = ['NET_ADMIN', 'NET_RAW'];
const EXPECTED_CAPS: Record<string, string[]> = {
  router: [...BASE, 'SYS_ADMIN'],
  lb1: [...BASE, 'SYS_ADMIN'],
  server1: BASE,
  client: BASE,
};

interface Inspect {
  Name: string;
  HostConfig: {
    Privileged: boolean;
    CapAdd: string[] | null;
    PortBindings: Record<string, unknown> | null;
    PublishAllPorts: boolean;
    NetworkMode: string;
    PidMode: string;
    IpcMode: string;
    UTSMode: string;
    UsernsMode: string;
    ReadonlyPaths: string[] | null;
    Devices: unknown[] | null;
    SecurityOpt: string[] | null;
  };
  NetworkSettings: { Ports: Record<string, unknown> | null };
  Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[];
}

let dir: string;
let file: string;
const inspected: Record<string, Inspect> = {};

beforeAll(async () => {
  await downLabs([LAB, ESCAPE, MISSING]);
  dir = await tempDir();
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'greeting'), 'hello\n');
  file = await writeTopology(
    dir,
    'kinds.yml',
    `name: ${LAB}
topology:
  networks:
    lan: { subnet: 10.248.1.0/24, ip-range: 10.248.1.128/25 }
  nodes:
    router:
      kind: router
      networks: { lan: 10.248.1.135 }
      ospf: { area: 0, networks: [10.248.1.0/24] }
    lb1:
      kind: director
      networks: { lan: 10.248.1.129 }
      vip: 10.248.1.100
      engine: nftables
      ospf: { area: 0, networks: [10.248.1.0/24] }
      services:
        - { port: 8080, scheduler: rr, method: dr, real-servers: [{ node: server1, weight: 1 }] }
    server1:
      kind: server
      networks: { lan: 10.248.1.130 }
      vip: 10.248.1.100
      http: { port: 8080, identity: server1 }
    client:
      kind: linux
      networks: { lan: 10.248.1.140 }
      binds: ["./data:/data:ro"]
`,
  );
  const up = await lblab(['up', file, ...ENGINE], { timeoutMs: 120_000 });
  expect(up.exitCode, String(up.stderr)).toBe(0);
  for (const node of Object.keys(EXPECTED_CAPS)) {
    const [info] = JSON.parse(await docker(['inspect', `lblab-${LAB}-${node}`])) as Inspect[];
    if (info) inspected[node] = info;
  }
}, 150_000);

afterAll(async () => {
  await downLabs([LAB, ESCAPE, MISSING]);
  await removeTempDirs();
}, 120_000);

describe('a running lab holds no more privilege than its kinds need', () => {
  it('no container is privileged; capabilities are exactly the kind’s', () => {
    expect(Object.keys(inspected).sort()).toEqual(Object.keys(EXPECTED_CAPS).sort());
    for (const [node, info] of Object.entries(inspected)) {
      expect(info.HostConfig.Privileged, node).toBe(false);
      expect([...(info.HostConfig.CapAdd ?? [])].sort(), node).toEqual(
        [...(EXPECTED_CAPS[node] ?? [])].sort(),
      );
      expect(info.HostConfig.Devices ?? [], node).toEqual([]);
    }
  });

  it('nothing is published on the host and no host namespace is shared', () => {
    for (const [node, info] of Object.entries(inspected)) {
      expect(info.HostConfig.PortBindings ?? {}, node).toEqual({});
      expect(info.HostConfig.PublishAllPorts, node).toBe(false);
      expect(info.NetworkSettings.Ports ?? {}, node).toEqual({});
      expect(info.HostConfig.NetworkMode, node).toBe(`lblab-${LAB}-lan`);
      for (const mode of ['PidMode', 'IpcMode', 'UTSMode', 'UsernsMode'] as const)
        expect(info.HostConfig[mode], `${node} ${mode}`).not.toBe('host');
    }
  });

  it('/proc/sys is read-only in every long-lived node: a write fails', async () => {
    for (const node of Object.keys(EXPECTED_CAPS)) {
      expect(inspected[node]?.HostConfig.ReadonlyPaths ?? [], node).toContain('/proc/sys');
      const write = await lblab([
        'exec',
        file,
        node,
        ...ENGINE,
        '--',
        'sh',
        '-c',
        'echo 1 > /proc/sys/net/ipv4/ip_forward',
      ]);
      expect(write.exitCode, node).not.toBe(0);
      expect(String(write.stderr), node).toMatch(/Read-only file system/);
    }
  }, 60_000);

  it('no node can remount /proc/sys read-write, not even router/director with SYS_ADMIN', async () => {
    // Without SYS_ADMIN the kernel says no; with it (FRR needs it) lblab's no-mount seccomp profile does.
    for (const node of Object.keys(EXPECTED_CAPS)) {
      const remount = await lblab([
        'exec',
        file,
        node,
        ...ENGINE,
        '--',
        'sh',
        '-c',
        'mount -o remount,rw /proc/sys && echo 1 > /proc/sys/kernel/core_pattern',
      ]);
      expect(remount.exitCode, node).not.toBe(0);
    }
    for (const node of ['router', 'lb1']) {
      expect(inspected[node]?.HostConfig.SecurityOpt?.join(' ') ?? '', node).toMatch(/seccomp=.*"mount"/);
    }
  }, 60_000);

  it('bind sources resolve inside the topology file’s directory', async () => {
    const labDir = await realpath(dir);
    const mounts = Object.values(inspected).flatMap((info) => info.Mounts);
    expect(mounts.map((m) => `${m.Type} ${m.Destination} ${m.RW ? 'rw' : 'ro'}`)).toEqual(['bind /data ro']);
    for (const mount of mounts) {
      const inside = relative(labDir, await realpath(mount.Source));
      expect(inside, mount.Source).toBe('data');
    }
    const read = await lblab(['exec', file, 'client', ...ENGINE, '--', 'cat', '/data/greeting']);
    expect(String(read.stdout)).toBe('hello'); // execa strips the final newline
  }, 60_000);
});

describe('a bind Docker would resolve outside the lab directory is refused before anything exists', () => {
  it('a symlink inside the directory that points outside it', async () => {
    const escapeDir = await tempDir();
    await symlink('/etc', join(escapeDir, 'etc-link'));
    const escapeFile = await writeTopology(
      escapeDir,
      'escape.yml',
      linuxTopology(ESCAPE, '10.248.2.0/24', {
        a: { ip: '10.248.2.10', extra: ['binds: ["./etc-link:/mnt/host-etc:ro"]'] },
      }),
    );
    const result = await lblab(['up', escapeFile, ...ENGINE, '--verbose']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(/^Error: a: preflight: bind source .*etc-link resolves to \/etc, outside /m);
    expect(createdSomething(stderr), stderr).toBe(false);
    expect(await leftovers(ESCAPE)).toEqual(NOTHING_LEFT);
  }, 60_000);

  it('a source that does not exist (Docker would create it on the host, as root, and keep it)', async () => {
    const missingDir = await tempDir();
    const missingFile = await writeTopology(
      missingDir,
      'missing.yml',
      linuxTopology(MISSING, '10.248.3.0/24', {
        a: { ip: '10.248.3.10', extra: ['binds: ["./state:/var/lib/state"]'] },
      }),
    );
    const result = await lblab(['up', missingFile, ...ENGINE, '--verbose']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(stderr).toMatch(/^Error: a: preflight: bind source .*state cannot be used/m);
    expect(createdSomething(stderr), stderr).toBe(false);
    expect(existsSync(join(missingDir, 'state'))).toBe(false);
    expect(await leftovers(MISSING)).toEqual(NOTHING_LEFT);
  }, 60_000);
});
