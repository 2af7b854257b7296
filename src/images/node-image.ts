/**
 * Makes sure `lblab/node:<hash>` exists on an engine: returns at once when it does, otherwise builds it
 * from debian:bookworm-slim when a registry is reachable, or from a base root filesystem that
 * images/base/build.sh makes with mmdebstrap from Debian's package mirrors alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ImageStore } from '../core/runtime.js';
import { findOnPath } from '../util/path-lookup.js';
import { errorMessage, firstLine } from '../util/text.js';
import { chooseBuildPath, type BuildPath, type BuildSource } from './build-path.js';
import {
  BASE_BUILD_SCRIPT,
  BASE_IMAGE_REPO,
  IMAGES_DIR,
  NODE_DOCKERFILE,
  imageLabels,
  imageRefs,
  readImageInputs,
  type ImageInputFile,
  type ImageRefs,
} from './image-inputs.js';

export { nodeImageRef } from './image-inputs.js';

export type NodeImageSource = 'existing' | BuildSource;

export interface EnsureNodeImageOptions {
  onProgress?: (line: string) => void;
  /** Rebuild the node image, and the base image when that path is taken, even if they exist. */
  force?: boolean;
}

export interface EnsureNodeImageResult {
  ref: string;
  built: boolean;
  source: NodeImageSource;
  seconds: number;
}

const REGISTRY_BASE_IMAGE = 'debian:bookworm-slim';
/** Time for the registry to start answering a pull; without one, Docker fails in well under a second. */
const REGISTRY_ANSWER_TIMEOUT_MS = 10_000;
const REGISTRY_PULL_TIMEOUT_MS = 5 * 60_000;
/** How many of build.sh's last output lines explain its failure. */
const BASE_FAILURE_CONTEXT_LINES = 5;

export async function ensureNodeImage(
  docker: ImageStore,
  opts: EnsureNodeImageOptions = {},
): Promise<EnsureNodeImageResult> {
  const startedAt = performance.now();
  const log = opts.onProgress ?? (() => {});
  const force = opts.force ?? false;
  const elapsedSeconds = (): number => Math.round((performance.now() - startedAt) / 100) / 10;

  const inputs = await readImageInputs();
  const refs = imageRefs(inputs);
  if (!force && (await imageExists(docker, refs.nodeRef))) {
    return { ref: refs.nodeRef, built: false, source: 'existing', seconds: elapsedSeconds() };
  }

  const basePresent = !force && (await imageExists(docker, refs.baseRef));
  // An existing base is chosen regardless of the registry, so only probe (and maybe pull) without one.
  const registryReachable = !basePresent && (await pullRegistryBase(docker, log));
  const buildPath = chooseBuildPath({
    basePresent,
    registryReachable,
    mmdebstrapInstalled: (await findOnPath('mmdebstrap')) !== undefined,
    runningAsRoot: process.getuid?.() === 0,
  });
  log(describeBuildPath(buildPath, refs));

  if (buildPath.source === 'debian-packages' && buildPath.buildBase) {
    await buildBaseImage(docker, refs, log);
  }
  const base = buildPath.source === 'registry' ? REGISTRY_BASE_IMAGE : refs.baseRef;
  await buildNodeImage(docker, inputs, refs, base, log);
  return { ref: refs.nodeRef, built: true, source: buildPath.source, seconds: elapsedSeconds() };
}

function describeBuildPath(buildPath: BuildPath, refs: ImageRefs): string {
  if (buildPath.source === 'registry') {
    return `Building ${refs.nodeRef} from ${REGISTRY_BASE_IMAGE} (a container registry is reachable)`;
  }
  if (buildPath.buildBase) {
    return `No container registry reachable: building ${refs.nodeRef} on ${refs.baseRef}, made from Debian packages with mmdebstrap`;
  }
  return `Building ${refs.nodeRef} on the existing ${refs.baseRef}`;
}

async function imageExists(docker: ImageStore, ref: string): Promise<boolean> {
  return (await docker.imageId(ref)) !== undefined;
}

/** True when the registry base image is on the engine afterwards; every pull failure means "no registry". */
async function pullRegistryBase(docker: ImageStore, log: (line: string) => void): Promise<boolean> {
  if (await imageExists(docker, REGISTRY_BASE_IMAGE)) return true;
  log(`Looking for a container registry: pulling ${REGISTRY_BASE_IMAGE}`);
  try {
    await docker.pullImage(REGISTRY_BASE_IMAGE, {
      answerTimeoutMs: REGISTRY_ANSWER_TIMEOUT_MS,
      pullTimeoutMs: REGISTRY_PULL_TIMEOUT_MS,
      onLine: log,
    });
  } catch (error) {
    log(`No container registry: ${firstLine(errorMessage(error))}`);
    return false;
  }
  // An aborted pull can end its stream without an error event; only the image itself proves success.
  return imageExists(docker, REGISTRY_BASE_IMAGE);
}

async function buildBaseImage(docker: ImageStore, refs: ImageRefs, log: (line: string) => void): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'lblab-base-'));
  try {
    const tarball = path.join(workDir, 'rootfs.tar');
    const script = path.join(IMAGES_DIR, BASE_BUILD_SCRIPT);
    log(`Running ${BASE_BUILD_SCRIPT} (mmdebstrap)`);
    const subprocess = execa('bash', [script, tarball], { stdin: 'ignore', all: true, buffer: false, reject: false });
    let lastLines: string[] = [];
    for await (const line of subprocess.iterable({ from: 'all' })) {
      log(line);
      lastLines = [...lastLines, line].slice(-BASE_FAILURE_CONTEXT_LINES);
    }
    const { exitCode } = await subprocess;
    if (exitCode !== 0) {
      throw new Error(`${BASE_BUILD_SCRIPT} failed with exit code ${exitCode}:\n${lastLines.join('\n')}`);
    }

    log(`Importing the root filesystem as ${refs.baseRef}`);
    const labels = Object.entries(imageLabels('base', refs.baseHash))
      .map(([key, value]) => `${JSON.stringify(key)}=${JSON.stringify(value)}`)
      .join(' ');
    await docker.importImage(
      {
        tarball,
        repo: BASE_IMAGE_REPO,
        tag: refs.baseHash,
        changes: [`LABEL ${labels}`],
        message: `lblab base root filesystem from ${BASE_BUILD_SCRIPT}`,
      },
      log,
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function buildNodeImage(
  docker: ImageStore,
  inputs: readonly ImageInputFile[],
  refs: ImageRefs,
  base: string,
  log: (line: string) => void,
): Promise<void> {
  await docker.buildImage(
    {
      context: IMAGES_DIR,
      files: inputs.map((file) => file.path),
      dockerfile: NODE_DOCKERFILE,
      tag: refs.nodeRef,
      buildArgs: { BASE: base },
      labels: imageLabels('node', refs.nodeHash),
    },
    log,
  );
}
