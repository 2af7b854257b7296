/**
 * Promise 8, diagnosable: `--verbose` (or `DEBUG=lblab*`) logs every Docker call `up`, `exec` and
 * `down` make, failed ones included, and every exec (setup scripts, readiness probes), each with its
 * duration; without them, none of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab } from '../support/cli.js';
import {
  dockerCalls,
  downLabs,
  ENGINE,
  linuxTopology,
  removeTempDirs,
  tempDir,
  writeTopology,
} from './support.js';

const LAB = 'rel-diag';
const BROKEN = 'rel-diag-broken';

let file: string;
let broken: string;

beforeAll(async () => {
  await downLabs([LAB, BROKEN]);
  const dir = await tempDir();
  file = await writeTopology(
    dir,
    'diag.yml',
    `name: ${LAB}
topology:
  networks:
    lan: { subnet: 10.249.1.0/24 }
  nodes:
    a:
      kind: linux
      networks: { lan: 10.249.1.10 }
      exec: ["echo configured"]
    web:
      kind: server
      networks: { lan: 10.249.1.11 }
      http: { port: 8080 }
`,
  );
  broken = await writeTopology(
    dir,
    'broken.yml',
    linuxTopology(BROKEN, '10.249.2.0/24', {
      a: { ip: '10.249.2.10' },
      gone: { ip: '10.249.2.11', extra: ['image: lblab/does-not-exist:1'] },
    }),
  );
}, 120_000);

afterAll(async () => {
  await downLabs([LAB, BROKEN]);
  await removeTempDirs();
}, 120_000);

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The `lblab:docker <what> (<n> ms)` lines for `what`. */
function calls(stderr: string, what: string | RegExp): string[] {
  const body = typeof what === 'string' ? escape(what) : what.source;
  const pattern = new RegExp(`lblab:docker ${body} \\(\\d+ ms\\)$`);
  return dockerCalls(stderr).filter((line) => pattern.test(line));
}

describe('every Docker call and exec is logged with its duration', () => {
  it('up --verbose: network, containers, files, starts, setup execs, readiness probes', async () => {
    const result = await lblab(['up', file, ...ENGINE, '--verbose']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(0);
    expect(calls(stderr, `create network lblab-${LAB}-lan`), stderr).toHaveLength(1);
    for (const node of ['a', 'web']) {
      const container = `lblab-${LAB}-${node}`;
      expect(calls(stderr, `create container ${container}`), node).toHaveLength(1);
      expect(calls(stderr, `copy ${node === 'a' ? 1 : 2} file(s) into ${container}`), node).toHaveLength(1);
      expect(calls(stderr, `start ${container}`), node).toHaveLength(1);
      expect(calls(stderr, `exec ${container}: sh /etc/lblab/setup.sh`), node).toHaveLength(1);
    }
    // The server's readiness probe is an exec too, logged each time it runs.
    const probe = `exec lblab-${LAB}-web: curl -s -o /dev/null -D - --max-time 2 http://127.0.0.1:8080/`;
    expect(calls(stderr, probe).length, stderr).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('exec --verbose logs the exec it runs', async () => {
    const result = await lblab(['exec', file, 'a', ...ENGINE, '--verbose', '--', 'echo', 'hi']);
    expect(String(result.stdout)).toBe('hi');
    expect(calls(String(result.stderr), `exec lblab-${LAB}-a: echo hi`), String(result.stderr)).toHaveLength(
      1,
    );
  }, 60_000);

  it('without --verbose or DEBUG, none of it', async () => {
    const result = await lblab(['status', file, ...ENGINE]);
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout)).toMatch(/rel-diag\s+docker\s+web\s+server/);
    expect(String(result.stderr)).toBe('');
  }, 60_000);

  it('down --verbose logs every removal', async () => {
    const result = await lblab(['down', file, ...ENGINE, '--verbose']);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(0);
    expect(calls(stderr, /remove container \S+/), stderr).toHaveLength(2);
    expect(calls(stderr, /remove network \S+/), stderr).toHaveLength(1);
  }, 60_000);

  it('DEBUG=lblab* does the same without --verbose, failed calls included', async () => {
    const result = await lblab(['up', broken, ...ENGINE], { env: { DEBUG: 'lblab*' } });
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(1);
    expect(calls(stderr, `create container lblab-${BROKEN}-a`), stderr).toHaveLength(1);
    expect(dockerCalls(stderr).join('\n')).toMatch(
      /lblab:docker create container lblab-rel-diag-broken-gone failed after \d+ ms: .*lblab\/does-not-exist:1/,
    );
    // The rollback's removals, too.
    expect(calls(stderr, /remove container \S+/), stderr).toHaveLength(1);
    expect(calls(stderr, /remove network \S+/), stderr).toHaveLength(1);
  }, 60_000);
});
