/** Opening a topology: load (with positions) and validate. No Docker anywhere near it. */
import { resolve } from 'node:path';
import { loadTopologyFile } from './load.js';
import type { TopologyConfig } from '../core/topology.js';
import { validateTopology } from './validate.js';

export interface OpenedTopology {
  /** Absolute path (binds resolve against its directory; it is recorded in the labels). */
  file: string;
  text: string;
  config: TopologyConfig;
}

/** Errors name the file as the user wrote it; the plan records the absolute path. */
export async function openTopology(file: string): Promise<OpenedTopology> {
  const loaded = await loadTopologyFile(file);
  return { file: resolve(file), text: loaded.text, config: validateTopology(loaded) };
}
