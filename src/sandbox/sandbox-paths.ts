/**
 * Where the sandbox engine keeps its state: one directory, `$LBLAB_STATE_DIR/sandbox`
 * (LBLAB_STATE_DIR defaults to /var/lib/lblab). Commands, the engine and the tests all go through
 * these functions so they agree on every path.
 *
 *   root/            the guest's root filesystem, used by the UML kernel through hostfs
 *   root.partial/    a root being built; renamed to root/ only once it is complete
 *   root.hash        hash of the inputs root/ and docker.ext4 were built from, written last
 *   docker.ext4      the guest's /var/lib/docker (overlay2 needs a real block device, not hostfs)
 *   uml.pid          pid of the UML kernel process (also its process group)
 *   tap.name         the host tap device the running guest is attached to
 *   endpoint.json    how to reach the guest's dockerd, written once it answered
 *   console.log      the guest console: kernel messages, init, containerd and dockerd
 *   uml/             UML's own runtime directory (its mconsole socket and pid file)
 *   lock             held by the lblab process that is starting or stopping the sandbox
 */
import path from 'node:path';

export const DEFAULT_LBLAB_STATE_DIR = '/var/lib/lblab';

/** Path of the guest's init inside the guest; on the host it lives under root/. */
export const GUEST_INIT_PATH = '/usr/local/sbin/lblab-sandbox-init';

export interface SandboxPaths {
  stateDir: string;
  rootDir: string;
  partialRootDir: string;
  rootHashFile: string;
  /** The guest init as seen from the host. */
  initScript: string;
  diskImage: string;
  pidFile: string;
  tapFile: string;
  endpointFile: string;
  consoleLog: string;
  umlDir: string;
  lockFile: string;
  /** What a probe learned about the guest's kernel, for the guest that is running now. */
  kernelFactsFile: string;
}

export function lblabStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LBLAB_STATE_DIR || DEFAULT_LBLAB_STATE_DIR;
}

export function sandboxStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(lblabStateDir(env), 'sandbox');
}

export function sandboxPaths(stateDir: string = sandboxStateDir()): SandboxPaths {
  const dir = path.resolve(stateDir);
  const rootDir = path.join(dir, 'root');
  return {
    stateDir: dir,
    rootDir,
    partialRootDir: path.join(dir, 'root.partial'),
    rootHashFile: path.join(dir, 'root.hash'),
    initScript: path.join(rootDir, GUEST_INIT_PATH),
    diskImage: path.join(dir, 'docker.ext4'),
    pidFile: path.join(dir, 'uml.pid'),
    tapFile: path.join(dir, 'tap.name'),
    endpointFile: path.join(dir, 'endpoint.json'),
    consoleLog: path.join(dir, 'console.log'),
    umlDir: path.join(dir, 'uml'),
    lockFile: path.join(dir, 'lock'),
    kernelFactsFile: path.join(dir, 'kernel-facts.json'),
  };
}
