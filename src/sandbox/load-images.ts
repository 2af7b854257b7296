/**
 * Images for the sandbox: the guest has no registry and no route out, so images come from the host
 * engine (`docker save` there, `docker load` in the guest, streamed over the tap link at ~23 MB/s).
 */
import type { Agent } from 'node:http';
import type { ImageStore } from '../core/runtime.js';
import { ensureNodeImage, type EnsureNodeImageResult } from '../images/node-image.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import { dockerClientFor, ENGINE_SCOPE, hostDockerEndpoint } from '../runtime/engine.js';

export interface LoadedImage {
  ref: string;
  /** False when the guest already had this very image (same image ID) and nothing was sent. */
  loaded: boolean;
  megabytes: number;
  seconds: number;
}

/** An image copy under way: the bytes sent so far and the seconds since it began. */
export interface ImageTransfer {
  ref: string;
  bytes: number;
  seconds: number;
}

export interface LoadImagesOptions {
  /** A line as each image starts and ends loading (with its size and rate). */
  onProgress?: (line: string) => void;
  /** The copy's progress, at most every `TRANSFER_REPORT_MS`: for a display that redraws in place. */
  onTransfer?: (transfer: ImageTransfer) => void;
}

const TRANSFER_REPORT_MS = 250;

export interface SandboxNodeImageResult extends EnsureNodeImageResult {
  /** Where it was built: on the host engine and then loaded, or inside the guest itself. */
  builtOn: 'host' | 'sandbox';
}

const HOST_PING_TIMEOUT_MS = 3_000;

/**
 * Copies each ref from the host engine into the guest, one at a time (the guest has one CPU).
 * A ref the guest already has with the host's image ID, or has while the host does not, is skipped.
 */
/** The engines a sandbox's images come from and go to. */
export interface SandboxImageStores {
  /** The guest's dockerd. */
  guest: DockerRuntime;
  /** The host engine beside it, when one answers (and is not the sandbox itself). */
  host?: DockerRuntime;
}

/**
 * The sandbox's image wiring, written once for `up` and `engine start`. `agent` carries every
 * connection to the guest, so whoever watches the guest can cut them all at once.
 */
export async function sandboxImageStores(dockerHost: string, agent?: Agent): Promise<SandboxImageStores> {
  // The guest has one slow CPU: two execs at a time keep probes from starving the daemons they probe.
  const guest = new DockerRuntime(dockerClientFor(dockerHost, agent), dockerHost, {
    maxParallelExecs: 2,
    scope: ENGINE_SCOPE.sandbox,
  });
  const host = await hostEngineBesides(dockerHost);
  return host ? { guest, host } : { guest };
}

/**
 * Copies each ref from the host engine into the guest, one at a time (the guest has one CPU).
 * A ref the guest already has with the host's image ID, or has while the host does not, is skipped.
 */
export async function loadImagesIntoSandbox(
  host: ImageStore,
  guest: ImageStore,
  refs: readonly string[],
  options: LoadImagesOptions = {},
): Promise<LoadedImage[]> {
  const progress = options.onProgress ?? (() => {});
  const results: LoadedImage[] = [];
  for (const ref of new Set(refs)) {
    const startedAt = performance.now();
    const [hostId, guestId] = await Promise.all([host.imageId(ref), guest.imageId(ref)]);
    if (guestId !== undefined && (hostId === undefined || hostId === guestId)) {
      results.push({ ref, loaded: false, megabytes: 0, seconds: 0 });
      continue;
    }
    if (hostId === undefined) {
      throw new Error(
        `image ${ref} is neither in the sandbox nor on the host engine; build or pull it on the host first`,
      );
    }
    progress(`Loading ${ref} into the sandbox`);
    let reportedAt = startedAt;
    const bytes = await host.copyImageTo(guest, ref, `docker load of ${ref} into the sandbox`, (sent) => {
      const now = performance.now();
      if (options.onTransfer === undefined || now - reportedAt < TRANSFER_REPORT_MS) return;
      reportedAt = now;
      options.onTransfer({ ref, bytes: sent, seconds: (now - startedAt) / 1000 });
    });
    if ((await guest.imageId(ref)) !== hostId) {
      throw new Error(`docker load of ${ref} into the sandbox finished, but the sandbox does not have it`);
    }
    const loaded = {
      ref,
      loaded: true,
      megabytes: Math.round(bytes / 2 ** 20),
      seconds: Math.round((performance.now() - startedAt) / 100) / 10,
    };
    const rate = loaded.seconds > 0 ? ` at ${(bytes / 2 ** 20 / loaded.seconds).toFixed(1)} MB/s` : '';
    progress(`Loaded ${ref} (${loaded.megabytes} MB in ${loaded.seconds} s${rate})`);
    results.push(loaded);
  }
  return results;
}

/**
 * The host engine to take images from, when one answers and is not the sandbox itself (DOCKER_HOST
 * may already point at the sandbox).
 */
export async function hostEngineBesides(sandboxDockerHost: string): Promise<DockerRuntime | undefined> {
  const endpoint = hostDockerEndpoint();
  if (endpoint === sandboxDockerHost) return undefined;
  const host = new DockerRuntime(dockerClientFor(endpoint), endpoint, { scope: ENGINE_SCOPE.docker });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>(
    (resolve) => (timer = setTimeout(() => resolve(false), HOST_PING_TIMEOUT_MS)),
  );
  try {
    const answered = await Promise.race([
      host.ping().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
    return answered ? host : undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes sure lblab's node image is in the sandbox: built on the host engine (fast, and it can reach
 * a registry or the Debian mirrors) and loaded, or, with no host engine, built inside the guest.
 */
export async function ensureNodeImageInSandbox(
  stores: SandboxImageStores,
  options: LoadImagesOptions = {},
): Promise<SandboxNodeImageResult> {
  const startedAt = performance.now();
  if (stores.host === undefined) {
    return {
      ...(await ensureNodeImage(stores.guest, { onProgress: options.onProgress })),
      builtOn: 'sandbox',
    };
  }
  const image = await ensureNodeImage(stores.host, { onProgress: options.onProgress });
  await loadImagesIntoSandbox(stores.host, stores.guest, [image.ref], options);
  return { ...image, builtOn: 'host', seconds: Math.round((performance.now() - startedAt) / 100) / 10 };
}
