/**
 * The files under images/ that the node image is built from, and the content hashes that name the
 * images: `lblab/node:<hash>` changes exactly when a recipe, Dockerfile or package list changes, so
 * `up` rebuilds only then.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** images/ in the package; the same relative path from src/images/ (tests) and dist/images/ (the CLI). */
export const IMAGES_DIR = fileURLToPath(new URL('../../images/', import.meta.url));

export const NODE_IMAGE_REPO = 'lblab/node';
export const BASE_IMAGE_REPO = 'lblab/base';
/** Dockerfile path inside the build context (images/). */
export const NODE_DOCKERFILE = 'node/Dockerfile';
/** The mmdebstrap recipe, relative to images/. */
export const BASE_BUILD_SCRIPT = 'base/build.sh';

const HASH_LENGTH = 12;

export interface ImageInputFile {
  /** Relative to images/, with forward slashes. */
  path: string;
  content: Buffer;
}

export type ImageRole = 'node' | 'base';

/** Labels that let lblab find its images later without guessing names. */
export function imageLabels(role: ImageRole, hash: string): Record<string, string> {
  return { 'lblab.image': role, 'lblab.image.hash': hash };
}

/** Order-independent; covers each file's path as well as its content, so a rename changes the hash. */
export function hashImageInputs(files: readonly ImageInputFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0${file.content.length}\0`);
    hash.update(file.content);
  }
  return hash.digest('hex').slice(0, HASH_LENGTH);
}

/** The base root filesystem depends only on its recipe and the package list, not on the Dockerfile. */
export function baseImageInputs(files: readonly ImageInputFile[]): ImageInputFile[] {
  return files.filter((file) => file.path.startsWith('base/') || file.path === 'packages.txt');
}

export interface ImageRefs {
  nodeHash: string;
  nodeRef: string;
  baseHash: string;
  baseRef: string;
}

export function imageRefs(files: readonly ImageInputFile[]): ImageRefs {
  const nodeHash = hashImageInputs(files);
  const baseHash = hashImageInputs(baseImageInputs(files));
  return {
    nodeHash,
    nodeRef: `${NODE_IMAGE_REPO}:${nodeHash}`,
    baseHash,
    baseRef: `${BASE_IMAGE_REPO}:${baseHash}`,
  };
}

export async function readImageInputs(imagesDir: string = IMAGES_DIR): Promise<ImageInputFile[]> {
  const relativePaths = await listFiles(imagesDir, '');
  return Promise.all(
    relativePaths.map(async (relativePath) => ({
      path: relativePath,
      content: await readFile(path.join(imagesDir, relativePath)),
    })),
  );
}

async function listFiles(root: string, relativeDir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, relativeDir), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const relativePath = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isDirectory()) return listFiles(root, relativePath);
      return entry.isFile() ? [relativePath] : [];
    }),
  );
  return nested.flat();
}

export async function nodeImageRef(imagesDir: string = IMAGES_DIR): Promise<string> {
  return imageRefs(await readImageInputs(imagesDir)).nodeRef;
}
