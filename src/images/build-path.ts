/**
 * Which way the node image gets built, decided from facts gathered about the engine and the host.
 * Pure, so every combination is unit-tested without Docker.
 */

/** Where the node image's root filesystem comes from. */
export type BuildSource = 'registry' | 'debian-packages';

export interface BuildFacts {
  /** `lblab/base:<hash>` for the current recipe is already on the engine. */
  basePresent: boolean;
  /** `debian:bookworm-slim` is on the engine or could be pulled. */
  registryReachable: boolean;
  mmdebstrapInstalled: boolean;
  runningAsRoot: boolean;
}

export type BuildPath = { source: 'registry' } | { source: 'debian-packages'; buildBase: boolean };

export const SETUP_HINT = "run 'apt-get install mmdebstrap' or scripts/setup-host.sh as root";

/**
 * An existing base wins (offline and already paid for), then the registry (no root needed), then a
 * fresh base from Debian's packages. Throws when none of them can work, saying what to do.
 */
export function chooseBuildPath(facts: BuildFacts): BuildPath {
  if (facts.basePresent) return { source: 'debian-packages', buildBase: false };
  if (facts.registryReachable) return { source: 'registry' };
  if (!facts.mmdebstrapInstalled) {
    throw new Error(
      `No container registry is reachable and mmdebstrap is not installed, so the node image cannot be built: ${SETUP_HINT}`,
    );
  }
  if (!facts.runningAsRoot) {
    throw new Error(
      'No container registry is reachable and building the base image from Debian packages (mmdebstrap) needs root: run `lblab images build` as root',
    );
  }
  return { source: 'debian-packages', buildBase: true };
}
