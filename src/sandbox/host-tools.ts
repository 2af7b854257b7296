/**
 * What the host needs to run the sandbox, and the host facts the engine reads: the UML kernel's
 * version and the host's routes.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { findOnPath } from '../util/path-lookup.js';
import type { HostRoute } from './link-address.js';

export const UML_BINARY = 'linux.uml';
/** Where Debian's user-mode-linux package puts the kernel modules, one directory per version. */
export const UML_MODULES_DIR = '/usr/lib/uml/modules';

interface HostTool {
  command: string;
  debianPackage: string;
  /** Only needed while the guest root is (re)built. */
  buildOnly: boolean;
}

const HOST_TOOLS: readonly HostTool[] = [
  { command: UML_BINARY, debianPackage: 'user-mode-linux', buildOnly: false },
  { command: 'ip', debianPackage: 'iproute2', buildOnly: false },
  { command: 'mmdebstrap', debianPackage: 'mmdebstrap', buildOnly: true },
  { command: 'mkfs.ext4', debianPackage: 'e2fsprogs', buildOnly: true },
];

/** root's tools live in sbin, which a non-login PATH may lack. */
const EXTRA_SEARCH_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export interface SandboxPrerequisites {
  ok: boolean;
  /** Why the sandbox cannot run here, and what to do about it. */
  reason?: string;
  /** Debian packages that are missing but can be installed with apt-get (startSandbox does). */
  missingPackages: string[];
}

/** Where a sandbox tool is: PATH, then root's sbin directories. */
export async function findSandboxTool(command: string): Promise<string | undefined> {
  return findOnPath(command, { extraDirs: EXTRA_SEARCH_DIRS });
}

/** Linux, root, /dev/net/tun, and the tools present or installable with apt-get. */
export async function canRunSandbox(options: { rootBuilt?: boolean } = {}): Promise<SandboxPrerequisites> {
  const refuse = (reason: string): SandboxPrerequisites => ({ ok: false, reason, missingPackages: [] });
  if (process.platform !== 'linux') return refuse(`the sandbox needs Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) {
    return refuse(
      'the sandbox needs root: it creates a tap device and builds the guest root (run with sudo)',
    );
  }
  try {
    const tun = await stat('/dev/net/tun');
    if (!tun.isCharacterDevice()) return refuse('/dev/net/tun is not a character device');
  } catch {
    return refuse(
      '/dev/net/tun is missing: load the tun module (modprobe tun) or give the container the device',
    );
  }
  const missingPackages = await missingHostPackages(options.rootBuilt ?? false);
  if (missingPackages.length > 0 && !(await findSandboxTool('apt-get'))) {
    return refuse(`missing ${missingPackages.join(', ')} and no apt-get to install them with`);
  }
  return { ok: true, missingPackages };
}

export async function missingHostPackages(rootBuilt: boolean): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of HOST_TOOLS) {
    if (rootBuilt && tool.buildOnly) continue;
    if (!(await findSandboxTool(tool.command))) missing.push(tool.debianPackage);
  }
  return missing;
}

export async function installHostPackages(
  packages: readonly string[],
  onProgress: (line: string) => void,
): Promise<void> {
  if (packages.length === 0) return;
  onProgress(`Installing ${packages.join(', ')} with apt-get`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execa('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
  try {
    await install();
  } catch {
    // Usually stale package lists on a fresh machine.
    await execa('apt-get', ['update'], { env });
    await install();
  }
}

export async function umlKernelVersion(): Promise<string> {
  const binary = await findSandboxTool(UML_BINARY);
  if (!binary) throw new Error(`${UML_BINARY} is not installed: apt-get install user-mode-linux`);
  const { stdout } = await execa(binary, ['--version']);
  const version = stdout.trim();
  if (!/^\d+\.\d+/.test(version))
    throw new Error(`${binary} --version printed "${version}", not a kernel version`);
  return version;
}

export function umlModulesDir(kernelVersion: string): string {
  return path.join(UML_MODULES_DIR, kernelVersion);
}

/** Every IPv4 route the host has, local and connected ones included (table all). */
export async function readHostRoutes(): Promise<HostRoute[]> {
  const { stdout } = await execa('ip', ['-4', '-j', 'route', 'show', 'table', 'all']);
  const rows = JSON.parse(stdout || '[]') as { dst?: string; dev?: string }[];
  return rows.flatMap((row) => (row.dst === undefined ? [] : [{ dst: row.dst, dev: row.dev }]));
}
