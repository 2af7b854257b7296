/**
 * Teardown by label: only objects carrying `lblab.lab` (and the lab's name, unless --all) are touched.
 * Missing objects are fine, so `down` works on half-built labs and twice in a row.
 */
import { LABEL } from '../core/labels.js';
import type { ContainerRuntime } from '../core/runtime.js';
import { runPool } from './pool.js';

export interface TeardownResult {
  containers: string[];
  networks: string[];
}

/** Removes lab `lab`'s containers then networks; with `lab` undefined, every lblab lab. */
export async function teardownLab(
  runtime: ContainerRuntime,
  lab: string | undefined,
): Promise<TeardownResult> {
  const filter = { [LABEL.lab]: lab ?? (true as const) };
  const containers = await runtime.listContainers(filter);
  const containerFailures = await runPool(containers, 8, (container) =>
    runtime.removeContainer(container.id),
  );
  const networks = await runtime.listNetworks(filter);
  const networkFailures = await runPool(networks, 4, (network) => runtime.removeNetwork(network.id));
  const failures = [...containerFailures, ...networkFailures];
  if (failures.length > 0) {
    throw new Error(
      `teardown left ${failures.length} object(s): ${failures.map((f) => (f.error as Error).message).join('; ')}`,
    );
  }
  return { containers: containers.map((c) => c.name), networks: networks.map((n) => n.name) };
}
