/**
 * The sandbox engine for real: builds the guest root if needed, boots the UML guest, runs IPVS in a
 * container inside it, and stops it. Uses its own state directory, tap and link, so a sandbox that
 * someone is using at the same time is left alone. Needs root, /dev/net/tun and Debian's apt.
 */
import { execFileSync } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followDockerStream } from '../../src/runtime/docker-progress.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { dockerClientFor } from '../../src/runtime/engine.js';
import { umlKernelVersion } from '../../src/sandbox/host-tools.js';
import {
  canRunSandbox,
  findSandboxProcesses,
  hostEngineBesides,
  lblabStateDir,
  loadImagesIntoSandbox,
  sandboxPaths,
  sandboxStatus,
  startSandbox,
  stopSandbox,
  type StartSandboxOptions,
  type StartSandboxResult,
} from '../../src/sandbox/index.js';

const stateDir = path.join(lblabStateDir(), 'sandbox-e2e');
const paths = sandboxPaths(stateDir);
const sandboxOptions: StartSandboxOptions = {
  stateDir,
  tap: 'lblab-e2e',
  linkCidr: process.env.LBLAB_E2E_SANDBOX_LINK ?? '198.51.100.4/30',
  onProgress: (line) => console.log(`[sandbox] ${line}`),
};
const PROBE_IMAGE = 'lblab/sandbox-probe:e2e';
const BUILD_AND_BOOT_TIMEOUT_MS = 10 * 60_000;

const prerequisites = await canRunSandbox();
if (!prerequisites.ok) console.log(`Skipping the sandbox e2e test: ${prerequisites.reason}`);

describe.skipIf(!prerequisites.ok)('sandbox engine: Docker with IPVS in a UML guest', () => {
  let started: StartSandboxResult;
  let guest: Dockerode;
  let host: Dockerode | undefined;
  // The same engines behind lblab's image interface.
  let guestImages: DockerRuntime;
  let hostImages: DockerRuntime | undefined;

  beforeAll(async () => {
    // Whatever an earlier, interrupted run left behind is cleaned up, so this start really boots.
    await stopSandbox({ stateDir });
    started = await startSandbox(sandboxOptions);
    guest = dockerClientFor(started.endpoint.dockerHost);
    guestImages = new DockerRuntime(guest, started.endpoint.dockerHost);
    hostImages = await hostEngineBesides(started.endpoint.dockerHost);
    host = hostImages?.docker;
  }, BUILD_AND_BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await stopSandbox({ stateDir });
    await host
      ?.getImage(PROBE_IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
  }, 60_000);

  it('booted a guest whose dockerd answers on the guest end of the link', async () => {
    expect(started.alreadyRunning).toBe(false);
    expect(started.endpoint.dockerHost).toBe('tcp://198.51.100.6:2375');
    expect(started.endpoint.hostAddress).toBe('198.51.100.5');
    expect(execFileSync('ip', ['-br', 'addr', 'show', 'dev', 'lblab-e2e'], { encoding: 'utf8' })).toContain(
      '198.51.100.5/30',
    );
    expect(await guest.ping()).toBeTruthy();
  });

  it('treats a second start as a no-op that returns the same endpoint', async () => {
    const again = await startSandbox(sandboxOptions);
    expect(again.alreadyRunning).toBe(true);
    expect(again.endpoint).toEqual(started.endpoint);
  });

  it("reports the UML kernel's version and overlay2 storage", async () => {
    const info = (await guest.info()) as { KernelVersion: string; Driver: string; NCPU: number };
    expect(info.KernelVersion).toBe(await umlKernelVersion());
    expect(info.Driver).toBe('overlay2');
    expect(info.NCPU).toBe(1);
  });

  it('loads images from the host engine once, then skips them', async ({ skip }) => {
    if (host === undefined) skip('no host engine answers');
    const hostDocker = host as Dockerode;
    await guest
      .getImage(PROBE_IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
    await importProbeImage(hostDocker, paths.rootDir);
    const first = await loadImagesIntoSandbox(hostImages as DockerRuntime, guestImages, [PROBE_IMAGE]);
    expect(first).toMatchObject([{ ref: PROBE_IMAGE, loaded: true }]);
    const second = await loadImagesIntoSandbox(hostImages as DockerRuntime, guestImages, [PROBE_IMAGE]);
    expect(second).toMatchObject([{ ref: PROBE_IMAGE, loaded: false }]);
  }, 120_000);

  it('gives a container with NET_ADMIN real IPVS, on a UML CPU', async () => {
    if (host === undefined) await importProbeImage(guest, paths.rootDir);
    const result = await runInGuest(guest, PROBE_IMAGE, [
      '/bin/sh',
      '-c',
      '/sbin/ipvsadm -A -t 10.9.9.9:80 -s rr && /sbin/ipvsadm -a -t 10.9.9.9:80 -r 10.9.9.10:80 -g && ' +
        '/sbin/ipvsadm -Ln && busybox grep -m1 vendor_id /proc/cpuinfo',
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toMatch(/TCP {2}10\.9\.9\.9:80 rr/);
    expect(result.output).toMatch(/-> 10\.9\.9\.10:80 +Route/);
    expect(result.output).toContain('User Mode Linux');
  }, 120_000);

  it("runs ipvsadm in lblab's node image when the host engine has one", async ({ skip }) => {
    const nodeImages =
      host === undefined ? [] : await host.listImages({ filters: { reference: ['lblab/node'] } });
    const ref = nodeImages[0]?.RepoTags?.[0];
    if (host === undefined || ref === undefined) skip('no lblab/node image on a host engine');
    await loadImagesIntoSandbox(hostImages as DockerRuntime, guestImages, [ref as string]);
    const result = await runInGuest(guest, ref as string, [
      'sh',
      '-c',
      'ipvsadm -A -t 10.9.9.9:80 -s rr && ipvsadm -Ln',
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toMatch(/TCP {2}10\.9\.9\.9:80 rr/);
  }, 300_000);

  it('replaces a guest that died behind its back, cleaning up its pid file and tap', async () => {
    const killed = started.endpoint.pid;
    process.kill(-killed, 'SIGKILL');
    await expect.poll(() => findSandboxProcesses(paths.rootDir), { timeout: 10_000 }).toEqual([]);
    expect(await sandboxStatus({ stateDir })).toMatchObject({ running: false, stale: true });

    started = await startSandbox(sandboxOptions);
    expect(started.alreadyRunning).toBe(false);
    expect(started.endpoint.pid).not.toBe(killed);
    expect(await sandboxStatus({ stateDir })).toMatchObject({ running: true, answering: true, stale: false });
  }, 120_000);

  it('stops cleanly and leaves no process, tap or running state behind', async () => {
    const { pid } = started.endpoint;
    const stopped = await stopSandbox({ stateDir });
    expect(stopped).toMatchObject({ wasRunning: true, halt: 'clean' });

    expect(await findSandboxProcesses(paths.rootDir)).toEqual([]);
    const pidLeft = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    expect(pidLeft).not.toContain(`rootflags=${paths.rootDir}`);
    expect(() => execFileSync('ip', ['link', 'show', 'dev', 'lblab-e2e'], { stdio: 'pipe' })).toThrow();

    const status = await sandboxStatus({ stateDir });
    expect(status).toMatchObject({ running: false, answering: false, stale: false });
    await expect(access(paths.pidFile)).rejects.toThrow(/ENOENT/);
    await expect(access(paths.endpointFile)).rejects.toThrow(/ENOENT/);

    // The guest unmounted its Docker disk before powering off.
    const superblock = execFileSync('dumpe2fs', ['-h', paths.diskImage], { encoding: 'utf8', stdio: 'pipe' });
    expect(superblock).toMatch(/Filesystem state:\s+clean/);
  }, 60_000);
});

/**
 * A 3 MB image made of the guest root's own ipvsadm and busybox: the test needs no registry and no
 * image build.
 */
async function importProbeImage(docker: Dockerode, rootDir: string): Promise<void> {
  const files: [string, string][] = [
    ['bin/busybox', 'usr/bin/busybox'],
    ['sbin/ipvsadm', 'usr/sbin/ipvsadm'],
    ['lib64/ld-linux-x86-64.so.2', 'usr/lib64/ld-linux-x86-64.so.2'],
    ...['libc.so.6', 'libresolv.so.2', 'libpopt.so.0', 'libnl-3.so.200', 'libnl-genl-3.so.200'].map(
      (lib): [string, string] => [`lib/x86_64-linux-gnu/${lib}`, `usr/lib/x86_64-linux-gnu/${lib}`],
    ),
  ];
  const tar = pack();
  for (const dir of ['bin', 'sbin', 'lib', 'lib/x86_64-linux-gnu', 'lib64', 'proc', 'sys', 'dev', 'etc']) {
    tar.entry({ name: dir, type: 'directory', mode: 0o755 });
  }
  for (const [name, source] of files) {
    tar.entry({ name, mode: 0o755 }, await readFile(path.join(rootDir, source)));
  }
  tar.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox' });
  tar.finalize();
  const [repo, tag] = PROBE_IMAGE.split(':');
  const response = await docker.importImage(Readable.from(tar), { repo, tag });
  await followDockerStream(docker, response, `import of ${PROBE_IMAGE}`, () => {});
}

async function runInGuest(
  docker: Dockerode,
  image: string,
  cmd: string[],
): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    Tty: true,
    Entrypoint: [],
    HostConfig: { CapAdd: ['NET_ADMIN'] },
    Labels: { 'lblab.test': 'sandbox-e2e' },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    return { exitCode: StatusCode, output };
  } finally {
    await container.remove({ force: true });
  }
}
