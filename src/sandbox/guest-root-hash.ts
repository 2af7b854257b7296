/**
 * What the guest root (and the Docker disk that goes with it) is built from, and its hash: the root
 * is built once and rebuilt only when the hash changes. The init script is not an input: it is
 * rewritten at every start (see guest-init.ts).
 */
import { createHash } from 'node:crypto';

export const GUEST_SUITE = 'bookworm';

/** Docker and the tools lblab and the init script use inside the guest. */
export const GUEST_PACKAGES = [
  'docker.io',
  'kmod',
  'iproute2',
  'ipvsadm',
  'iptables',
  'procps',
  'curl',
  'mount',
  'busybox',
] as const;

/** Bump when the build steps in guest-root.ts change what ends up in the root. */
export const GUEST_ROOT_RECIPE_REVISION = 1;

export interface GuestRootInputs {
  suite: string;
  packages: readonly string[];
  /** The UML kernel's version: its modules are copied into the root. */
  kernelVersion: string;
  recipeRevision: number;
}

const HASH_LENGTH = 16;

export function defaultGuestRootInputs(kernelVersion: string): GuestRootInputs {
  return {
    suite: GUEST_SUITE,
    packages: GUEST_PACKAGES,
    kernelVersion,
    recipeRevision: GUEST_ROOT_RECIPE_REVISION,
  };
}

/** Independent of the package list's order, which does not change what mmdebstrap installs. */
export function hashGuestRootInputs(inputs: GuestRootInputs): string {
  const canonical = JSON.stringify({
    suite: inputs.suite,
    packages: [...new Set(inputs.packages)].sort(),
    kernelVersion: inputs.kernelVersion,
    recipeRevision: inputs.recipeRevision,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, HASH_LENGTH);
}
