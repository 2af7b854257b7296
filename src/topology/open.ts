/** Opening a topology: load (with positions), validate, and read the nodes' own config files. No Docker anywhere near it. */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TopologyError, type SourceLocation, type TopologyIssue } from '../core/issue.js';
import type { OwnConfig, TopologyConfig } from '../core/topology.js';
import { loadTopologyFile, located, type LoadedTopology } from './load.js';
import { validateTopology } from './validate.js';

export interface OpenedTopology {
  /** Absolute path (binds resolve against its directory; it is recorded in the labels). */
  file: string;
  text: string;
  config: TopologyConfig;
  /** Contents of the nodes' own config files (`config:`), by the path the topology gives. */
  ownFiles: Record<string, string>;
  /** Issues found later (e.g. against the engines) as a located error: file:line:col and a fix. */
  locate(issues: TopologyIssue[]): TopologyError | undefined;
}

/** A daemon's config is a few kilobytes; a bigger file is the wrong file. */
export const MAX_OWN_CONFIG_BYTES = 64 * 1024;

/** Errors name the file as the user wrote it; the plan records the absolute path. */
export async function openTopology(file: string): Promise<OpenedTopology> {
  const loaded = await loadTopologyFile(file);
  const config = validateTopology(loaded);
  return {
    file: resolve(file),
    text: loaded.text,
    config,
    ownFiles: await readOwnFiles(file, config, loaded),
    locate: (issues) => located(loaded, issues),
  };
}

async function readOwnFiles(
  file: string,
  config: TopologyConfig,
  loaded: LoadedTopology,
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const issues: (TopologyIssue & SourceLocation)[] = [];
  for (const [name, node] of Object.entries(config.topology.nodes)) {
    for (const [which, path] of Object.entries(node.config ?? {}) as [OwnConfig, string][]) {
      if (Object.hasOwn(files, path)) continue;
      const where = ['topology', 'nodes', name, 'config', which];
      const absolute = resolve(dirname(file), path);
      const problem = await unreadable(absolute);
      if (problem) {
        issues.push({ path: where, ...loaded.locate(where), ...problem });
        continue;
      }
      files[path] = await readFile(absolute, 'utf8');
    }
  }
  if (issues.length > 0) throw new TopologyError(file, issues);
  return files;
}

async function unreadable(absolute: string): Promise<{ message: string; fix: string } | undefined> {
  try {
    const stats = await stat(absolute);
    if (!stats.isFile()) return { message: `${absolute} is not a file`, fix: 'name a config file' };
    if (stats.size > MAX_OWN_CONFIG_BYTES) {
      return {
        message: `${absolute} is ${stats.size} bytes, more than the ${MAX_OWN_CONFIG_BYTES}-byte limit for a config file`,
        fix: 'name the daemon config itself',
      };
    }
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? {
          message: `config file ${absolute} does not exist`,
          fix: 'the path is relative to the topology file',
        }
      : {
          message: `cannot read ${absolute} (${code ?? String(error)})`,
          fix: 'check the path and its permissions',
        };
  }
}
