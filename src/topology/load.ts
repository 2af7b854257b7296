/**
 * Reading a topology file: bytes → UTF-8 text → YAML document with positions → plain data.
 * Every failure becomes a TopologyError whose issues carry file:line:col, so the user can jump there.
 */
import { open, type FileHandle } from 'node:fs/promises';
import {
  isAlias,
  isCollection,
  isMap,
  isSeq,
  isScalar,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type YAMLError,
} from 'yaml';
import { firstLine } from '../util/text.js';
import { TopologyError, type SourceLocation, type TopologyIssue } from '../core/issue.js';

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
  return parseTopologyText(file, await readBounded(file));
}

/**
 * Reads at most one byte past the limit: `stat().size` is 0 for /dev/zero, FIFOs and /proc files,
 * so trusting it would let `lblab validate /dev/zero` read forever.
 */
async function readBounded(file: string): Promise<Uint8Array> {
  const fail = (message: string, fix: string): TopologyError =>
    new TopologyError(file, [{ path: [], line: 1, col: 1, message, fix }]);
  const tooBig = (what: string): TopologyError =>
    fail(
      `${what} the ${MAX_TOPOLOGY_BYTES}-byte limit for a topology`,
      'a lab topology is a few kilobytes; split or trim it',
    );
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fail('file not found', 'check the path, e.g. topologies/ecmp-lvs-dr.yml');
    throw fail(`cannot open the file (${code ?? String(error)})`, 'check the path and its permissions');
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      throw fail('is a directory, not a topology file', 'name a .yml file, e.g. topologies/ecmp-lvs-dr.yml');
    }
    if (stats.size > MAX_TOPOLOGY_BYTES) throw tooBig(`file is ${stats.size} bytes, more than`);
    const buffer = Buffer.alloc(MAX_TOPOLOGY_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_TOPOLOGY_BYTES) throw tooBig('file is more than');
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof TopologyError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw fail(`cannot read the file (${code ?? String(error)})`, 'check the path and its permissions');
  } finally {
    await handle.close();
  }
}

export function parseTopologyText(file: string, bytes: Uint8Array): LoadedTopology {
  const text = decodeUtf8(file, bytes);
  rejectControlCharacters(file, text);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const position = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  const fail = (issues: (TopologyIssue & { offset?: number })[]): TopologyError =>
    new TopologyError(
      file,
      issues.map(({ offset, ...issue }) => ({
        ...issue,
        ...(offset === undefined ? { line: 1, col: 1 } : position(offset)),
      })),
    );

  const yamlProblems = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'BAD_ALIAS')];
  if (yamlProblems.length > 0) {
    // A too-deep document reports once per level it gave up on; one report says enough.
    const problems = yamlProblems.filter(
      (problem, index) =>
        problem.code !== 'RESOURCE_EXHAUSTION' ||
        yamlProblems.findIndex((other) => other.code === problem.code) === index,
    );
    throw fail(problems.map((problem) => yamlIssue(doc, problem)));
  }
  if (doc.contents === null) {
    throw fail([
      {
        path: [],
        message: 'the file holds no YAML value (it is empty or only comments)',
        fix: 'write a topology: `name:` and `topology:` with `networks:` and `nodes:` (see topologies/ecmp-lvs-dr.yml)',
      },
    ]);
  }
  const structural = structuralIssues(doc);
  if (structural.length > 0) throw fail(structural);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    // Unresolved aliases were found above, so what is left is the expansion limit.
    throw fail([
      {
        path: [],
        offset: firstAliasOffset(doc),
        message: 'YAML: aliases (*name) expand into too many copies, the way a "billion laughs" file does',
        fix: `use fewer aliases (*name) or write the values out; a topology may expand at most ${MAX_ALIAS_COUNT}`,
      },
    ]);
  }

  return { file, text, data, locate: (path, options) => locateInDocument(doc, path, position, options?.key) };
}

function yamlIssue(doc: Document, problem: YAMLError): TopologyIssue & { offset: number } {
  const offset = problem.pos[0];
  const at = { path: [], offset };
  switch (problem.code) {
    case 'DUPLICATE_KEY': {
      const key = keyAt(doc, offset);
      return {
        ...at,
        message: `YAML: duplicate key${key === undefined ? '' : ` ${JSON.stringify(key)}`} in one mapping`,
        fix: 'each key may appear once in a mapping; rename or merge the two entries',
      };
    }
    case 'MULTIPLE_DOCS':
      return {
        ...at,
        message: 'YAML: the file holds more than one document',
        fix: 'keep one topology per file; remove the `---` line and what follows it',
      };
    case 'RESOURCE_EXHAUSTION':
      return {
        ...at,
        message: 'YAML: the document is nested too deeply to parse',
        fix: 'a topology needs a handful of levels; flatten it',
      };
    default:
      return {
        ...at,
        // prettyErrors appends "at line L, column C:" and a source excerpt; the location says that already.
        message: `YAML: ${firstLine(problem.message).replace(/ at line \d+, column \d+:?$/, '')}`,
        fix: 'fix the YAML syntax',
      };
  }
}

/** The key of the mapping entry that starts at `offset`, as written. */
function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        found = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** JSON's types, which is all a topology holds; `!!timestamp`, `!!set`, `!!binary` are not. */
const PLAIN_TAGS = new Set(
  ['map', 'seq', 'str', 'int', 'float', 'bool', 'null'].map((t) => `tag:yaml.org,2002:${t}`),
);

/**
 * What would make toJS() lie or loop: keys that are lists or mappings (stringified into "[ a, b ]"),
 * aliases to anchors that do not exist yet, aliases inside the node they name (a cycle, which no
 * later step can print or walk), and tags that turn text into a Date, Set or bytes (which pass a
 * schema's `type: object` while meaning nothing).
 */
function structuralIssues(doc: Document): (TopologyIssue & { offset?: number })[] {
  const issues: (TopologyIssue & { offset?: number })[] = [];
  visit(doc, {
    Node(_, node) {
      if (!isAlias(node) && node.tag !== undefined && !PLAIN_TAGS.has(node.tag)) {
        issues.push({
          path: [],
          offset: node.range?.[0],
          message: `YAML: tag ${JSON.stringify(node.tag.replace('tag:yaml.org,2002:', '!!'))} is not allowed in a topology`,
          fix: 'remove the tag; write plain text, numbers, lists and mappings',
        });
      }
    },
    Pair(_, pair) {
      if (isCollection(pair.key) || isAlias(pair.key)) {
        issues.push({
          path: [],
          offset: (pair.key as Node).range?.[0],
          message: 'YAML: a key must be a plain word, not a list, mapping or alias',
          fix: 'write the key as plain text, e.g. `lan:`',
        });
      }
    },
    Alias(_, alias, ancestors) {
      const target = alias.resolve(doc);
      const offset = alias.range?.[0];
      if (!target) {
        issues.push({
          path: [],
          offset,
          message: `YAML: alias *${alias.source} has no anchor &${alias.source} before it`,
          fix: `define \`&${alias.source}\` on a value above this line, or write the value out`,
        });
      } else if (ancestors.includes(target as never)) {
        issues.push({
          path: [],
          offset,
          message: `YAML: alias *${alias.source} is inside the value it names, which makes it endless`,
          fix: 'an alias must refer to a value defined before and outside it',
        });
      }
    },
  });
  return issues;
}

function firstAliasOffset(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      offset = alias.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

/** Turns issues found on plain data into a located TopologyError (or nothing when there are none). */
export function located(topology: LoadedTopology, issues: TopologyIssue[]): TopologyError | undefined {
  if (issues.length === 0) return undefined;
  return new TopologyError(
    topology.file,
    issues.map((issue) => ({ ...issue, ...topology.locate(issue.path, { key: issue.atKey }) })),
  );
}

/**
 * Walks the document along `path` (comparing keys as text: the data's keys are strings even where
 * the YAML wrote `1:` or `true:`) and returns where the deepest node found starts: the value, its
 * key when asked for, or the nearest parent (or alias) when the path ends early.
 */
function locateInDocument(
  doc: Document,
  path: (string | number)[],
  position: (offset: number) => SourceLocation,
  preferKey = false,
): SourceLocation {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const [depth, segment] of path.entries()) {
    // Inside an alias the text is the anchor's, shared by every use; the alias is where this use is.
    if (isAlias(node)) break;
    let keyNode: Node | undefined;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      keyNode = pair?.key as Node | undefined;
      next = pair?.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    const last = depth === path.length - 1;
    if (last && preferKey && keyNode?.range) return position(keyNode.range[0]);
    const range = (next as Node | null | undefined)?.range ?? keyNode?.range;
    if (!range) break;
    offset = range[0];
    node = next;
  }
  return offset === undefined ? { line: 1, col: 1 } : position(offset);
}

/**
 * C0 and C1 controls other than tab and line breaks: YAML forbids them in a stream, yet the parser
 * lets some through into values, from where they would reach a terminal (escape sequences) or a
 * config file. Escaped ones ("\e" in double quotes) are deliberate; messages print them escaped.
 */
function rejectControlCharacters(file: string, text: string): void {
  const index = firstControlCharacter(text);
  if (index === undefined) return;
  const before = text.slice(0, index);
  const code = text.charCodeAt(index).toString(16).toUpperCase().padStart(4, '0');
  throw new TopologyError(file, [
    {
      path: [],
      line: before.split('\n').length,
      col: before.length - before.lastIndexOf('\n'),
      message: `the file holds a control character (U+${code})`,
      fix: 'delete it; a topology may hold tabs and line breaks but no other control characters',
    },
  ]);
}

function firstControlCharacter(text: string): number | undefined {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    const allowed = code === 0x09 || code === 0x0a || code === 0x0d || code === 0x85;
    if (!allowed && (code < 0x20 || (code >= 0x7f && code <= 0x9f))) return index;
  }
  return undefined;
}

function decodeUtf8(file: string, bytes: Uint8Array): string {
  const bad = firstInvalidUtf8Offset(bytes);
  if (bad === undefined) return new TextDecoder('utf-8').decode(bytes);
  const before = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
  const line = before.split('\n').length;
  const col = before.length - before.lastIndexOf('\n');
  const byte = (bytes[bad] ?? 0).toString(16).padStart(2, '0');
  throw new TopologyError(file, [
    {
      path: [],
      line,
      col,
      message: `the file is not valid UTF-8 (byte 0x${byte} at offset ${bad})`,
      fix: 'save the file as UTF-8',
    },
  ]);
}

/**
 * Offset of the first byte of the first ill-formed sequence (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or undefined when the bytes are valid UTF-8.
 */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    let length: number;
    let min = 0x80;
    let max = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) min = 0xa0; // overlong
      if (lead === 0xed) max = 0x9f; // UTF-16 surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) min = 0x90; // overlong
      if (lead === 0xf4) max = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k < length; k += 1) {
      const next = bytes[i + k];
      const [low, high] = k === 1 ? [min, max] : [0x80, 0xbf];
      if (next === undefined || next < low || next > high) return i;
    }
    i += length;
  }
  return undefined;
}
