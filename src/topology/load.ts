/**
 * Reading a topology file: bytes → UTF-8 text → YAML document with positions → plain data.
 * Every failure becomes a TopologyError whose issues carry file:line:col, so the user can jump there.
 */
import { readFile, stat } from 'node:fs/promises';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { TopologyError, type SourceLocation, type TopologyIssue } from './issue.js';

/** A topology is small; anything bigger is a mistake or an attack (and would stall the parser). */
export const MAX_TOPOLOGY_BYTES = 256 * 1024;
/** Aliases expand; a handful is plenty for defaults, more is how "billion laughs" files start. */
const MAX_ALIAS_COUNT = 50;

export interface LoadedTopology {
  file: string;
  text: string;
  data: unknown;
  /** Where a path of the document is, falling back to the nearest existing parent. */
  locate(path: (string | number)[], options?: { key?: boolean }): SourceLocation;
}

export async function loadTopologyFile(file: string): Promise<LoadedTopology> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new TopologyError(file, [
      { path: [], line: 1, col: 1, message: reason, fix: 'check the path, e.g. topologies/ecmp-lvs-dr.yml' },
    ]);
  }
  if (size > MAX_TOPOLOGY_BYTES) {
    throw new TopologyError(file, [
      {
        path: [],
        line: 1,
        col: 1,
        message: `file is ${size} bytes, more than the ${MAX_TOPOLOGY_BYTES}-byte limit for a topology`,
        fix: 'a lab topology is a few kilobytes; split or trim it',
      },
    ]);
  }
  return parseTopologyText(file, await readFile(file));
}

export function parseTopologyText(file: string, bytes: Uint8Array): LoadedTopology {
  const text = decodeUtf8(file, bytes);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const position = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };

  const yamlProblems = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'BAD_ALIAS')];
  if (yamlProblems.length > 0) {
    throw new TopologyError(
      file,
      yamlProblems.map((problem) => ({
        path: [],
        ...position(problem.pos[0]),
        message: `YAML: ${firstLine(problem.message)}`,
        fix:
          problem.code === 'DUPLICATE_KEY' ? 'each key may appear once in a mapping' : 'fix the YAML syntax',
      })),
    );
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    throw new TopologyError(file, [
      {
        path: [],
        line: 1,
        col: 1,
        message: `YAML: ${firstLine((error as Error).message)}`,
        fix: 'use fewer aliases (*name) and define every anchor (&name) before using it',
      },
    ]);
  }

  return { file, text, data, locate: (path, options) => locateInDocument(doc, path, position, options?.key) };
}

/** Turns issues found on plain data into a located TopologyError (or nothing when there are none). */
export function located(topology: LoadedTopology, issues: TopologyIssue[]): TopologyError | undefined {
  if (issues.length === 0) return undefined;
  return new TopologyError(
    topology.file,
    issues.map((issue) => ({ ...issue, ...topology.locate(issue.path, { key: issue.atKey }) })),
  );
}

function locateInDocument(
  doc: Document,
  path: (string | number)[],
  position: (offset: number) => SourceLocation,
  preferKey = false,
): SourceLocation {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const prefix = path.slice(0, depth);
    if (preferKey && depth === path.length && depth > 0) {
      const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find(
          (item) => isPair(item) && isScalar(item.key) && item.key.value === prefix[prefix.length - 1],
        );
        const keyNode = pair?.key as Node | undefined;
        if (keyNode?.range) return position(keyNode.range[0]);
      }
    }
    const node = (depth === 0 ? doc.contents : doc.getIn(prefix, true)) as Node | null | undefined;
    if (node?.range) return position(node.range[0]);
  }
  return { line: 1, col: 1 };
}

function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8Offset(bytes);
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    throw new TopologyError(file, [
      { path: [], line, col, message: 'the file is not valid UTF-8', fix: 'save the file as UTF-8' },
    ]);
  }
}

function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  // Binary search for the shortest invalid prefix; a truncated multi-byte char only fails at its end.
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid + 1), { stream: true });
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
