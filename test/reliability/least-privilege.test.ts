/**
 * Promise 7, least privilege: after a real `up` with one node of each kind, no container is privileged,
 * each has exactly its kind's capabilities, a node can set its own network namespace's net.* sysctls
 * while every other part of /proc/sys stays read-only (and the host's sysctls stay as they were),
 * nothing is published on the host, no host namespace is shared, and every bind source (symlinks
 * resolved) lies inside the topology file's directory. A bind that would reach outside it, or that
 * Docker would create on the host, is refused before anything is created.
 */
import { mkdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
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

const ARP_IGNORE = 'net.ipv4.conf.lo.arp_ignore';
/** Host-wide sysctls whose value one more than the host's is harmless, should a write ever get through. */
const HOST_WIDE = ['kernel.printk_ratelimit', 'vm.stat_interval'];
const SEPARATOR = '----';
/** Files under /proc/sys the node could write, by access(2): a read-only mount answers EROFS. */
const FIND_WRITABLE = 'find /proc/sys -type f -writable 2>/dev/null';

function inNode(node: string, script: string) {
  return lblab(['exec', file, node, ...ENGINE, '--', 'sh', '-c', script]);
}

function procSysPath(key: string): string {
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

async function hostSysctl(key: string): Promise<string> {
  return (await readFile(procSysPath(key), 'utf8')).trim();
}

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

  it('/proc/sys is read-only entry by entry, all but net', () => {
    for (const node of Object.keys(EXPECTED_CAPS)) {
      const readonly = inspected[node]?.HostConfig.ReadonlyPaths ?? [];
      expect(readonly, node).not.toContain('/proc/sys');
      expect(readonly, node).not.toContain('/proc/sys/net');
      expect(readonly, node).toEqual(
        expect.arrayContaining(['/proc/sys/kernel', '/proc/sys/vm', '/proc/sys/fs']),
      );
    }
  });

  it('a node sets its own net.* sysctl and reads it back; the host keeps its value', async () => {
    const hostBefore = await hostSysctl(ARP_IGNORE);
    // A value the host does not have, so a write that reached the host would show.
    const value = hostBefore === '1' ? '2' : '1';
    for (const node of Object.keys(EXPECTED_CAPS)) {
      const write = await inNode(node, `sysctl -w ${ARP_IGNORE}=${value} && sysctl -n ${ARP_IGNORE}`);
      expect(write.exitCode, `${node}: ${String(write.stderr)}`).toBe(0);
      expect(String(write.stdout), node).toBe(`${ARP_IGNORE} = ${value}\n${value}`);
    }
    expect(await hostSysctl(ARP_IGNORE)).toBe(hostBefore);
  }, 60_000);

  it('kernel.* and vm.* writes fail on a read-only file system; the host keeps its values', async () => {
    const hostBefore = await Promise.all(HOST_WIDE.map(hostSysctl));
    for (const node of Object.keys(EXPECTED_CAPS)) {
      for (const [index, key] of HOST_WIDE.entries()) {
        const value = Number(hostBefore[index]) + 1;
        // sysctl(8) says "permission denied" for any failed write; the shell names the errno.
        const write = await inNode(
          node,
          `sysctl -w ${key}=${value} && echo sysctl-wrote; echo ${value} > ${procSysPath(key)}`,
        );
        expect(String(write.stdout), `${node} ${key}`).not.toContain('sysctl-wrote');
        expect(write.exitCode, `${node} ${key}`).not.toBe(0);
        expect(String(write.stderr), `${node} ${key}`).toMatch(/Read-only file system/);
      }
    }
    expect(await Promise.all(HOST_WIDE.map(hostSysctl))).toEqual(hostBefore);
  }, 60_000);

  it('every top-level entry of /proc/sys but net is a read-only mount, with nothing writable below it', async () => {
    for (const node of Object.keys(EXPECTED_CAPS)) {
      const look = await inNode(
        node,
        `ls -1 /proc/sys; echo ${SEPARATOR}; cat /proc/self/mountinfo; echo ${SEPARATOR}; ${FIND_WRITABLE}`,
      );
      expect(look.exitCode, `${node}: ${String(look.stderr)}`).toBe(0);
      const [entries = '', mountinfo = '', writable = ''] = String(look.stdout).split(`${SEPARATOR}\n`);
      const names = entries.split('\n').filter(Boolean);
      expect(names, node).toEqual(expect.arrayContaining(['kernel', 'net', 'vm']));
      const mountOptions = new Map(
        mountinfo
          .split('\n')
          .map((line) => line.split(' '))
          .map((fields) => [fields[4] ?? '', (fields[5] ?? '').split(',')] as const),
      );
      for (const name of names.filter((entry) => entry !== 'net'))
        expect(mountOptions.get(`/proc/sys/${name}`), `${node} /proc/sys/${name}`).toContain('ro');
      expect(mountOptions.get('/proc/sys/net') ?? [], node).not.toContain('ro');
      // access(2) says what a write would meet: writable files under net only (the check can see one).
      const writableFiles = writable.split('\n').filter(Boolean);
      expect(writableFiles, node).toContain('/proc/sys/net/ipv4/conf/lo/arp_ignore');
      expect(
        writableFiles.filter((path) => !path.startsWith('/proc/sys/net/')),
        node,
      ).toEqual([]);
    }
  }, 60_000);

  it('no node can unmount or remount a read-only part of /proc/sys, not even router/director with SYS_ADMIN', async () => {
    // Without SYS_ADMIN the kernel says no; with it (FRR needs it) lblab's no-mount seccomp profile does.
    for (const node of Object.keys(EXPECTED_CAPS)) {
      const attempt = await inNode(
        node,
        'umount /proc/sys/kernel; mount -o remount,rw /proc/sys/kernel; mount -o remount,rw /proc/sys; ' +
          FIND_WRITABLE,
      );
      const writableFiles = String(attempt.stdout).split('\n').filter(Boolean);
      expect(writableFiles.length, node).toBeGreaterThan(0);
      expect(
        writableFiles.filter((path) => !path.startsWith('/proc/sys/net/')),
        node,
      ).toEqual([]);
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
