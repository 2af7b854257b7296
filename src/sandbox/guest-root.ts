/**
 * Builds the guest root (a Debian directory made by mmdebstrap from the host's apt sources, booted
 * through hostfs) and the ext4 disk that holds the guest's /var/lib/docker. Both are built once and
 * rebuilt together when the hash of their inputs changes: a new Docker in the root must not inherit
 * the old one's storage.
 */
import { access, cp, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { defaultGuestRootInputs, hashGuestRootInputs, type GuestRootInputs } from './guest-root-hash.js';
import { umlModulesDir } from './host-tools.js';
import type { SandboxPaths } from './sandbox-paths.js';

export interface EnsureGuestRootOptions {
  kernelVersion: string;
  diskSizeGiB: number;
  onProgress: (line: string) => void;
}

export interface GuestRootResult {
  rootHash: string;
  /** True when the root or the disk was (re)built by this call. */
  built: boolean;
  seconds: number;
}

/** How many of mmdebstrap's last lines explain a failure. */
const FAILURE_CONTEXT_LINES = 15;

export async function readRootHash(paths: SandboxPaths): Promise<string | undefined> {
  try {
    return (await readFile(paths.rootHashFile, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function ensureGuestRoot(
  paths: SandboxPaths,
  options: EnsureGuestRootOptions,
): Promise<GuestRootResult> {
  const startedAt = performance.now();
  const seconds = (): number => Math.round((performance.now() - startedAt) / 100) / 10;
  const inputs = defaultGuestRootInputs(options.kernelVersion);
  const rootHash = hashGuestRootInputs(inputs);
  const upToDate = (await readRootHash(paths)) === rootHash && (await exists(paths.rootDir));
  if (upToDate && (await exists(paths.diskImage))) return { rootHash, built: false, seconds: seconds() };

  // The stamp goes first, so an interrupted build is never mistaken for a finished one.
  await rm(paths.rootHashFile, { force: true });
  if (!upToDate) {
    options.onProgress(`Building the sandbox guest root (Debian ${inputs.suite}, ~30 s) in ${paths.rootDir}`);
    await buildRoot(paths, inputs, options.onProgress);
  }
  options.onProgress(
    `Creating the guest's Docker disk (${options.diskSizeGiB} GiB, sparse) ${paths.diskImage}`,
  );
  await createDockerDisk(paths.diskImage, options.diskSizeGiB);
  await writeFile(paths.rootHashFile, `${rootHash}\n`);
  options.onProgress(`Guest root ${rootHash} ready after ${seconds()} s`);
  return { rootHash, built: true, seconds: seconds() };
}

async function buildRoot(
  paths: SandboxPaths,
  inputs: GuestRootInputs,
  onProgress: (line: string) => void,
): Promise<void> {
  const modulesSource = umlModulesDir(inputs.kernelVersion);
  if (!(await exists(modulesSource))) {
    throw new Error(
      `the UML kernel ${inputs.kernelVersion} has no modules at ${modulesSource}; reinstall user-mode-linux`,
    );
  }
  const partial = paths.partialRootDir;
  await rm(partial, { recursive: true, force: true });
  await runMmdebstrap(
    ['--variant=apt', `--include=${inputs.packages.join(',')}`, inputs.suite, partial],
    onProgress,
  );
  // The UML kernel has no nf_tables for IPv4, so dockerd and the init script need the legacy iptables.
  for (const tool of ['iptables', 'ip6tables']) {
    await execa('chroot', [partial, 'update-alternatives', '--set', tool, `/usr/sbin/${tool}-legacy`]);
  }
  await cp(modulesSource, path.join(partial, 'usr/lib/modules', inputs.kernelVersion), { recursive: true });
  await rm(paths.rootDir, { recursive: true, force: true });
  await rename(partial, paths.rootDir);
}

async function runMmdebstrap(args: string[], onProgress: (line: string) => void): Promise<void> {
  const subprocess = execa('mmdebstrap', args, { all: true, reject: false });
  const recent: string[] = [];
  for await (const line of subprocess.iterable({ from: 'all' })) {
    recent.push(line);
    if (recent.length > FAILURE_CONTEXT_LINES) recent.shift();
    // Its informational lines say which stage it is in; the rest is apt's and dpkg's detail.
    if (/^[IWE]: /.test(line)) onProgress(`  mmdebstrap: ${line}`);
  }
  const result = await subprocess;
  if (result.exitCode !== 0) {
    throw new Error(
      `mmdebstrap failed (exit ${result.exitCode}) building the guest root:\n${recent.join('\n')}`,
    );
  }
}

async function createDockerDisk(diskImage: string, sizeGiB: number): Promise<void> {
  await rm(diskImage, { force: true });
  await mkdir(path.dirname(diskImage), { recursive: true });
  const file = await open(diskImage, 'w');
  try {
    await file.truncate(sizeGiB * 2 ** 30);
  } finally {
    await file.close();
  }
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'lblab-docker', diskImage]);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
