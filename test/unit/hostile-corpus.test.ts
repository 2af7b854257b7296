/**
 * A corpus of malformed and hostile topologies: hand-written files under test/fixtures/hostile/
 * (named *.yml.txt so Prettier leaves their broken YAML alone) plus mutations of the seed lab
 * generated here: a wrong type and a null at every value, an unknown key in every mapping, injection
 * strings in every kind of slot, YAML bombs, encodings, sizes and depths.
 *
 * Every entry goes through loadTopologyFile + validateTopology and must fail with a located
 * TopologyError (at the mutated path, where there is one). Every hand-written file and a fixed
 * sample of the rest (about 40 in all) also go through the built CLI, four at a time, which must exit 1
 * with `FILE:LINE:COL:` on stderr's first line, no stack trace, nothing on stdout, no Docker
 * contact (DOCKER_HOST points at a listener that counts connections, PATH at a `docker` that
 * leaves a mark) and no side effect (no canary file appears).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { TopologyError } from '../../src/core/issue.js';
import { loadTopologyFile, MAX_TOPOLOGY_BYTES } from '../../src/topology/load.js';
import { validateTopology } from '../../src/topology/validate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = path.join(ROOT, 'test/fixtures/hostile');
const CLI = path.join(ROOT, 'bin/run.js');
/** The canary the hand-written files name; generated entries use one in their own scratch dir. */
const FIXED_CANARY = '/tmp/pwned';
const CLI_CONCURRENCY = 4;

const scratch = mkdtempSync(path.join(tmpdir(), 'lblab-hostile-'));
const corpusDir = path.join(scratch, 'corpus');
const canary = path.join(scratch, 'pwned');

/** The seed lab, compact, with a short experiment so verify steps get mutated too. */
const SEED = `name: ecmp-lvs-dr
topology:
  defaults:
    ospf-timers: fast
  networks:
    lan:
      subnet: 172.16.253.0/24
      ip-range: 172.16.253.128/25
  nodes:
    router:
      kind: router
      networks: { lan: 172.16.253.135 }
      sysctls:
        net.ipv4.fib_multipath_hash_policy: 0
      ospf: { area: 0, networks: [172.16.253.0/24] }
    lb1:
      kind: director
      networks: { lan: 172.16.253.129 }
      vip: 172.16.253.100
      lvs: keepalived
      engine: auto
      services:
        - port: 8080
          protocol: tcp
          scheduler: rr
          method: dr
          health-check: { http-get: /, status: 200, connect-timeout: 3, delay-loop: 6 }
          real-servers:
            - { node: server1, weight: 1 }
    server1:
      kind: server
      networks: { lan: 172.16.253.130 }
      vip: 172.16.253.100
      http: { port: 8080, identity: server1 }
verify:
  - name: ECMP route
    wait: { node: router, route: 172.16.253.100/32, nexthops: 1, timeout: 30s }
  - name: one server
    http-tally:
      node: router
      url: http://172.16.253.100:8080/
      requests: 10
      expect: { distinct: 1, max-failures: 0 }
`;

interface Entry {
  name: string;
  /** Absolute path of the file to validate. */
  file: string;
  /** The document path the first-class issue must name, when the mutation has one. */
  path?: (string | number)[];
  /** Run through the real CLI too (every entry runs through the library). */
  cli: boolean;
}

type Path = (string | number)[];

/** Every path to a value in the document, parents first. */
function valuePaths(doc: Document): { path: Path; kind: 'map' | 'seq' | 'scalar' }[] {
  const paths: { path: Path; kind: 'map' | 'seq' | 'scalar' }[] = [];
  const walk = (node: unknown, at: Path) => {
    if (isMap(node)) {
      if (at.length > 0) paths.push({ path: at, kind: 'map' });
      for (const pair of node.items)
        if (isScalar(pair.key)) walk(pair.value, [...at, String(pair.key.value)]);
    } else if (isSeq(node)) {
      paths.push({ path: at, kind: 'seq' });
      node.items.forEach((item, index) => walk(item, [...at, index]));
    } else if (isScalar(node)) {
      paths.push({ path: at, kind: 'scalar' });
    }
  };
  walk(doc.contents, []);
  return paths;
}

function mutated(change: (doc: Document) => void): string {
  const doc = parseDocument(SEED);
  change(doc);
  return String(doc);
}

/** Replaces one occurrence of `from` in the seed; throws if it is not there exactly once. */
function seedWith(from: string, to: string): string {
  const parts = SEED.split(from);
  if (parts.length !== 2) throw new Error(`"${from}" occurs ${parts.length - 1} times in the seed`);
  return parts.join(to);
}

/** [name, text, path the issue must name] for injection attempts in every kind of slot. */
function injections(): [string, string, Path][] {
  const node = (name: string) => ['topology', 'nodes', name];
  const touch = `touch ${canary}`;
  return [
    ['lab name with ;', seedWith('name: ecmp-lvs-dr', 'name: "a;reboot"'), ['name']],
    ['lab name with $()', seedWith('name: ecmp-lvs-dr', `name: "$(${touch})"`), ['name']],
    [
      'node named $()',
      seedWith('    server1:\n', `    "$(${touch})":\n`).replace(
        '{ node: server1, weight: 1 }',
        '{ node: x }',
      ),
      [...node(`$(${touch})`)],
    ],
    [
      'node address with ;rm',
      seedWith('lan: 172.16.253.130', "lan: '1.2.3.4;rm -rf /'"),
      [...node('server1'), 'networks', 'lan'],
    ],
    [
      'VIP with backticks',
      seedWith('      vip: 172.16.253.100\n      lvs', `      vip: "\`${touch}\`"\n      lvs`),
      [...node('lb1'), 'vip'],
    ],
    [
      'router-id with &&',
      seedWith('ospf: { area: 0,', `ospf: { router-id: "1.2.3.4 && ${touch}", area: 0,`),
      [...node('router'), 'ospf', 'router-id'],
    ],
    [
      'OSPF network with ;',
      seedWith('networks: [172.16.253.0/24]', `networks: ["172.16.253.0/24; ${touch}"]`),
      [...node('router'), 'ospf', 'networks', 0],
    ],
    [
      'subnet with $()',
      seedWith('subnet: 172.16.253.0/24', `subnet: "172.16.253.0/24$(${touch})"`),
      ['topology', 'networks', 'lan', 'subnet'],
    ],
    ['network named with ;', seedWith('    lan:\n', '    "lan;id":\n'), ['topology', 'networks', 'lan;id']],
    [
      'kind with backticks',
      seedWith('kind: router', `kind: "router\`${touch}\`"`),
      [...node('router'), 'kind'],
    ],
    [
      'scheduler with ;',
      seedWith('scheduler: rr', `scheduler: "rr; ${touch}"`),
      [...node('lb1'), 'services', 0, 'scheduler'],
    ],
    [
      'port with ;',
      seedWith('        - port: 8080', `        - port: "8080; ${touch}"`),
      [...node('lb1'), 'services', 0, 'port'],
    ],
    [
      'sysctl value with backticks',
      seedWith('hash_policy: 0', `hash_policy: "\`${touch}\`"`),
      [...node('router'), 'sysctls', 'net.ipv4.fib_multipath_hash_policy'],
    ],
    [
      'sysctl name with ;',
      seedWith('net.ipv4.fib_multipath_hash_policy: 0', `"net.ipv4.ip_forward;${touch}": 1`),
      [...node('router'), 'sysctls', `net.ipv4.ip_forward;${touch}`],
    ],
    [
      'health-check path with spaces and ;',
      seedWith('http-get: /,', `http-get: "/ok ; ${touch}",`),
      [...node('lb1'), 'services', 0, 'health-check', 'http-get'],
    ],
    [
      'identity with $',
      seedWith('identity: server1', `identity: "$(${touch})"`),
      [...node('server1'), 'http', 'identity'],
    ],
    [
      'image with ;',
      seedWith('      kind: server\n', `      kind: server\n      image: "alpine;${touch}"\n`),
      [...node('server1'), 'image'],
    ],
    [
      'env name with ;',
      seedWith('      kind: server\n', `      kind: server\n      env: { "A;${touch}": x }\n`),
      [...node('server1'), 'env', `A;${touch}`],
    ],
    [
      'bind climbing out with ..',
      seedWith('      kind: server\n', '      kind: server\n      binds: [site/../../..:/host:rw]\n'),
      [...node('server1'), 'binds', 0],
    ],
    [
      'bind of an absolute host path',
      seedWith(
        '      kind: server\n',
        '      kind: server\n      binds: [/var/run/docker.sock:/docker.sock]\n',
      ),
      [...node('server1'), 'binds', 0],
    ],
    [
      'bind with a shell in the container path',
      seedWith('      kind: server\n', `      kind: server\n      binds: ["site:/x;${touch}"]\n`),
      [...node('server1'), 'binds', 0],
    ],
    [
      'exec line over the length limit',
      seedWith('      kind: server\n', `      kind: server\n      exec: ["${'x'.repeat(5000)}"]\n`),
      [...node('server1'), 'exec', 0],
    ],
    [
      'verify url with backticks',
      seedWith('url: http://172.16.253.100:8080/', `url: "http://172.16.253.100:8080/\`${touch}\`"`),
      ['verify', 1, 'http-tally', 'url'],
    ],
    [
      'verify node with $()',
      seedWith('wait: { node: router,', `wait: { node: "$(${touch})",`),
      ['verify', 0, 'wait', 'node'],
    ],
    [
      'verify step name with an escape sequence',
      seedWith('name: ECMP route', 'name: "\\e]0;owned\\a"'),
      ['verify', 0, 'name'],
    ],
  ];
}

/** Entries that are not mutations at one path: YAML tricks, encodings, sizes, documents. */
function oddities(): [string, string | Uint8Array][] {
  const bomb = (levels: number, width: number) =>
    [
      'l0: &l0 lol',
      ...Array.from(
        { length: levels },
        (_, i) => `l${i + 1}: &l${i + 1} [${Array<string>(width).fill(`*l${i}`).join(', ')}]`,
      ),
      `name: *l${levels}`,
      '',
    ].join('\n');
  return [
    ['alias bomb, 9 x 9', bomb(9, 9)],
    ['alias bomb, 3 x 30 (wide and shallow)', bomb(3, 30)],
    [
      'alias bomb through mappings',
      [
        'a: &a { x: 1, y: 1 }',
        ...Array.from(
          { length: 8 },
          (_, i) =>
            `${'bcdefghi'[i]}: &${'bcdefghi'[i]} { p: *${'abcdefgh'[i]}, q: *${'abcdefgh'[i]}, r: *${'abcdefgh'[i]} }`,
        ),
        '',
      ].join('\n'),
    ],
    ['60 aliases of one scalar', `a: &a x\nlist: [${Array<string>(60).fill('*a').join(', ')}]\n`],
    ['alias before its anchor', 'name: *later\ndescription: &later x\n'],
    ['alias to a sequence that holds it', 'name: x\ndescription: &d [1, [2, *d]]\n'],
    ['alias as a key', 'k: &k name\n*k : x\n'],
    ['a mapping as a key', '? { a: 1 }\n: x\nname: lab\n'],
    ['empty file', ''],
    ['whitespace only', '   \n\n  \n'],
    ['explicit null document', '~\n'],
    ['document marker only', '---\n'],
    ['number document', '42\n'],
    ['scalar document', 'lab\n'],
    ['top-level list of mappings', '- name: a\n- name: b\n'],
    ['three documents', 'name: a\n---\nname: b\n---\nname: c\n'],
    ['YAML 1.1 directive then nonsense', '%YAML 1.1\n---\nname: yes\ntopology: on\n'],
    ['unknown directive', '%FOO bar\n---\nname: x\n'],
    ['tab indentation', 'name: x\ntopology:\n\tnodes: {}\n'],
    ['unclosed flow mapping', 'name: x\ntopology: { networks: {}\n'],
    ['unclosed quote', 'name: "x\n'],
    ['stray closing bracket', 'name: x]\n'],
    ['duplicate key in a flow mapping', 'name: x\ntopology: { nodes: {}, nodes: {} }\n'],
    ['duplicate node in the seed', seedWith('    server1:\n', '    lb1:\n')],
    [
      '!!timestamp where a mapping goes',
      seedWith('  defaults:\n    ospf-timers: fast\n', '  defaults: !!timestamp 2001-12-14\n'),
    ],
    [
      '!!set where a mapping goes',
      seedWith('      http: { port: 8080, identity: server1 }', '      http: !!set { port, identity }'),
    ],
    ['!!binary name', seedWith('name: ecmp-lvs-dr', 'name: !!binary aGVsbG8=')],
    ['a local tag', seedWith('kind: router', 'kind: !router router')],
    ['deep flow nesting', `name: x\ndescription: ${'['.repeat(5000)}${']'.repeat(5000)}\n`],
    [
      'deep block nesting',
      `name: x\n${Array.from({ length: 120 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} end\n`,
    ],
    ['a 100 kB key', `name: x\n${'k'.repeat(100_000)}: 1\n`],
    [
      '2000 nodes',
      `name: x\ntopology:\n  networks: { lan: { subnet: 10.0.0.0/16 } }\n  nodes:\n${Array.from({ length: 2000 }, (_, i) => `    n${i}: { kind: linux, networks: { lan: 10.0.${Math.floor(i / 200) + 1}.${(i % 200) + 2} } }`).join('\n')}\n`,
    ],
    ['file over the size limit', `# ${'x'.repeat(MAX_TOPOLOGY_BYTES)}\nname: x\n`],
    ['Latin-1 bytes', Buffer.from('name: x\ndescription: "Caf\xe9"\n', 'latin1')],
    [
      'UTF-16 big endian with BOM',
      Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('name: x\n', 'utf16le').swap16()]),
    ],
    [
      'truncated UTF-8 at the end',
      Buffer.concat([Buffer.from('name: x\ndescription: "'), Buffer.from([0xe2, 0x82])]),
    ],
    [
      'overlong UTF-8 slash',
      Buffer.concat([Buffer.from('name: x'), Buffer.from([0xc0, 0xaf]), Buffer.from('\n')]),
    ],
    ['raw escape character', `name: x\x1b[2Jy\n`],
    ['raw DEL character', `name: x\x7fy\n`],
    ['CRLF line endings with an error', 'name: x\r\ntopology:\r\n  nodes: [\r\n'],
    ['every node null', 'name: x\ntopology:\n  networks:\n  nodes:\n'],
    ['topology null', 'name: x\ntopology:\n'],
    ['services list of nulls', seedWith('        - port: 8080\n', '        - ~\n        - port: 8080\n')],
    ['real-servers list of nulls', seedWith('            - { node: server1, weight: 1 }', '            - ~')],
    ['verify null', seedWith('verify:\n', 'verify: ~\nunused:\n')],
  ];
}

function buildCorpus(): Entry[] {
  const entries: Entry[] = [];
  const write = (name: string, content: string | Uint8Array, rest: Omit<Entry, 'name' | 'file'>) => {
    const file = path.join(corpusDir, `${String(entries.length).padStart(3, '0')}.yml`);
    writeFileSync(file, content);
    entries.push({ name, file, ...rest });
  };

  for (const fixture of readdirSync(FIXTURES).sort()) {
    entries.push({ name: `fixture ${fixture}`, file: path.join(FIXTURES, fixture), cli: true });
  }
  const paths = valuePaths(parseDocument(SEED));
  paths.forEach(({ path: at, kind }, index) => {
    // Scalars become mappings, mappings lists, lists text: never valid where the seed had the other.
    const wrong = kind === 'scalar' ? { wrong: [1] } : kind === 'map' ? ['wrong'] : 'wrong';
    const cli = index % 24 === 0;
    write(
      `wrong type at ${at.join('.')}`,
      mutated((doc) => doc.setIn(at, doc.createNode(wrong))),
      { path: at, cli },
    );
    if (kind === 'scalar') {
      write(
        `null at ${at.join('.')}`,
        mutated((doc) => doc.setIn(at, null)),
        { path: at, cli: false },
      );
    }
    if (kind === 'map') {
      const key = [...at, 'bogus-key'];
      write(
        `unknown key under ${at.join('.')}`,
        mutated((doc) => doc.setIn(key, 1)),
        { path: key, cli },
      );
    }
  });
  injections().forEach(([name, text, at], index) =>
    write(`injection: ${name}`, text, { path: at, cli: index % 4 === 0 }),
  );
  oddities().forEach(([name, content], index) => write(name, content, { cli: index % 8 === 0 }));
  return entries;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(file: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'validate', file],
      { cwd: ROOT, env, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number | string }).code ?? null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

async function inPool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

mkdirSync(corpusDir);
const fixturesBefore = fingerprint(FIXTURES);
const corpus = buildCorpus();
const cliEntries = corpus.filter((entry) => entry.cli);
const cliResults = new Map<string, CliResult>();
let dockerConnections = 0;
let dockerListener: Server;
const dockerMark = path.join(scratch, 'docker-was-run');

beforeAll(async () => {
  // Any leftover would make "no side effect" meaningless rather than false.
  expect(existsSync(FIXED_CANARY), `${FIXED_CANARY} exists before the corpus ran`).toBe(false);
  // The CLI runs dist/: build it when it is missing or older than any source, never test stale code.
  if (newestMtime(path.join(ROOT, 'src')) > newestMtime(path.join(ROOT, 'dist'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
  dockerListener = createServer((socket) => {
    dockerConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => dockerListener.listen(0, '127.0.0.1', resolve));
  const { port } = dockerListener.address() as { port: number };
  const fakeBin = path.join(scratch, 'bin');
  mkdirSync(fakeBin);
  writeFileSync(path.join(fakeBin, 'docker'), `#!/bin/sh\ntouch ${dockerMark}\nexit 99\n`);
  chmodSync(path.join(fakeBin, 'docker'), 0o755);
  const env = {
    ...process.env,
    DOCKER_HOST: `tcp://127.0.0.1:${port}`,
    PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
  };
  const results = await inPool(cliEntries, CLI_CONCURRENCY, (entry) => runCli(entry.file, env));
  cliEntries.forEach((entry, index) => cliResults.set(entry.file, results[index] as CliResult));
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (dockerListener ? dockerListener.close(() => resolve()) : resolve()));
  rmSync(scratch, { recursive: true, force: true });
});

describe('hostile corpus', () => {
  it('has at least 100 entries, about 20 of them hand-written files', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(100);
    expect(corpus.filter((entry) => entry.file.startsWith(FIXTURES)).length).toBeGreaterThanOrEqual(20);
    expect(cliEntries.length).toBeGreaterThanOrEqual(25);
  });

  describe('through the library: a located TopologyError, at the mutated path', () => {
    it.each(corpus.map((entry) => [entry.name, entry] as const))('%s', async (_name, entry) => {
      let error: unknown;
      try {
        validateTopology(await loadTopologyFile(entry.file));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TopologyError);
      const { issues, message } = error as TopologyError;
      expect(issues.length).toBeGreaterThan(0);
      const lines = readFileSync(entry.file).toString('utf8').split('\n').length;
      for (const issue of issues) {
        expect(issue.line).toBeGreaterThanOrEqual(1);
        expect(issue.line).toBeLessThanOrEqual(lines);
        expect(issue.col).toBeGreaterThanOrEqual(1);
        expect(issue.message.length).toBeGreaterThan(0);
        // Control characters from the file never reach the terminal raw.
        expect(hasControlCharacter(issue.message)).toBe(false);
      }
      expect(message.split('\n')[0]).toMatch(new RegExp(`^${escapeRegExp(entry.file)}:\\d+:\\d+: `));
      if (entry.path) {
        expect(issues.map((issue) => issue.path.join('.'))).toContain(entry.path.join('.'));
      }
    });
  });

  describe('through the CLI: exit 1, FILE:LINE:COL first, no trace, no output, no Docker', () => {
    it.each(cliEntries.map((entry) => [entry.name, entry] as const))('%s', (_name, entry) => {
      const result = cliResults.get(entry.file);
      expect(result).toBeDefined();
      const { code, stdout, stderr } = result as CliResult;
      expect(stderr.split('\n')[0]).toMatch(new RegExp(`^${escapeRegExp(entry.file)}:\\d+:\\d+: `));
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).not.toMatch(/^\s+at /m);
      expect(stderr).not.toMatch(/\b(TypeError|ReferenceError|RangeError|SyntaxError)\b/);
      expect(hasControlCharacter(stderr)).toBe(false);
    });

    it('never reached Docker, never ran docker, never ran the injected commands', () => {
      expect(dockerConnections).toBe(0);
      expect(existsSync(dockerMark)).toBe(false);
      expect(existsSync(canary)).toBe(false);
      expect(existsSync(FIXED_CANARY)).toBe(false);
    });

    it('left the fixtures as they were', () => {
      expect(fingerprint(FIXTURES)).toEqual(fixturesBefore);
    });
  });

  it('a valid lab with hostile-looking env and exec validates and runs none of it', async () => {
    const file = path.join(scratch, 'valid-but-hostile.yml');
    writeFileSync(
      file,
      seedWith(
        '      kind: server\n',
        `      kind: server\n      env: { GREETING: "$(touch ${canary})" }\n      exec: ["touch ${canary}"]\n`,
      ),
    );
    const result = await runCli(file, { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:1' });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('valid');
    expect(existsSync(canary)).toBe(false);
  });
});

/** The latest modification time of any file under `dir` (0 when it does not exist). */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce(
      (newest, entry) => Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs),
      0,
    );
}

/** Name and content hash of every file in a directory. */
function fingerprint(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [
        name,
        createHash('sha256')
          .update(readFileSync(path.join(dir, name)))
          .digest('hex'),
      ]),
  );
}

/** A C0 control other than tab and newline, or DEL: what would drive a terminal if printed raw. */
function hasControlCharacter(text: string): boolean {
  return [...text].some((char) => {
    const code = char.charCodeAt(0);
    return (code < 0x20 && char !== '\t' && char !== '\n') || code === 0x7f;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
