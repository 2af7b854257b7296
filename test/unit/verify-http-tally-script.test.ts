import { execFile as execFileCallback, execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  httpTallyExecTimeoutMs,
  parseHttpTallyOutput,
  renderHttpTallyScript,
  type HttpTallyScriptInput,
} from '../../src/verify/http-tally-script.js';
import { tallyRecords } from '../../src/verify/tally.js';

const execFile = promisify(execFileCallback);

const input = (extra: Partial<HttpTallyScriptInput> = {}): HttpTallyScriptInput => ({
  url: 'http://172.16.253.100:8080/',
  requests: 100,
  header: 'X-Host',
  sources: [],
  timeoutMs: 2000,
  ...extra,
});

describe('renderHttpTallyScript', () => {
  it('renders one curl for all requests, each on a new connection, without --interface when no sources', () => {
    const script = renderHttpTallyScript(input());
    expect(script).toContain('url=http://172.16.253.100:8080/\n');
    expect(script).toContain(
      `curl -s -K - -H 'Connection: close' --noproxy '*' --max-time 2 "$@" -w "$group"'\\t%{urlnum}\\t%{http_code}\\t%{time_total}\\t%{exitcode}\\t%header{x-host}\\t%{errormsg}\\n'`,
    );
    expect(script).toMatch(/\ntally 0 100\nexit 0\n$/);
    expect(script).not.toContain('--interface');
  });

  it('gives each source its round-robin share of the requests, with --interface', () => {
    const script = renderHttpTallyScript(
      input({ requests: 5, sources: ['172.16.253.11', '172.16.253.12'], timeoutMs: 500 }),
    );
    expect(script).toContain('--max-time 0.5 "$@"');
    expect(script).toMatch(
      /\ntally 0 3 --interface 172\.16\.253\.11\ntally 1 2 --interface 172\.16\.253\.12\n/,
    );
  });

  it('starts no group for sources beyond the number of requests', () => {
    const script = renderHttpTallyScript(input({ requests: 1, sources: ['10.0.0.1', '10.0.0.2'] }));
    expect(script).toContain('tally 0 1 --interface 10.0.0.1\n');
    expect(script).not.toContain('tally 1');
  });

  it.each([
    ['no requests', { requests: 0 }, 'requests must be an integer from 1 to 10000'],
    ['too many requests', { requests: 10_001 }, 'requests must be an integer from 1 to 10000'],
    ['a fractional count', { requests: 1.5 }, 'requests must be an integer'],
    ['no timeout', { timeoutMs: 0 }, 'per-request timeout'],
    ['a header that escapes %header{}', { header: 'x}%{url' }, 'is not an HTTP header name'],
    ['a URL curl would read as an option', { url: '--output=/tmp/x' }, 'is not an http(s) URL'],
    ["a URL that would end curl's quoted config value", { url: 'http://a/"x' }, 'is not an http(s) URL'],
    ['a source with shell text', { sources: ['10.0.0.1; id'] }, 'is not an IPv4 address'],
  ])('refuses %s', (_what, extra, message) => {
    expect(() => renderHttpTallyScript(input(extra))).toThrow(message);
  });

  it('bounds the exec by requests × per-request timeout', () => {
    expect(httpTallyExecTimeoutMs({ requests: 100, timeoutMs: 2000 })).toBe(100 * 2100 + 10_000);
  });
});

describe('the rendered script in sh', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('hands a hostile URL to curl as data and runs none of it', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lblab-verify-'));
    // A curl stand-in that records its stdin (the -K config): the URL must arrive there, verbatim.
    const fakeCurl = path.join(dir, 'curl');
    await writeFile(fakeCurl, `#!/bin/sh\ncat > "${dir}/config"\n`);
    await chmod(fakeCurl, 0o755);
    // Everything a shell would act on, in a URL the renderer still accepts (no quote, backslash, blank).
    const hostile = `http://a/'$(touch${'${IFS}'}${dir}/pwned)'\`touch${'${IFS}'}${dir}/pwned2\`;touch${'${IFS}'}${dir}/pwned3`;
    const script = renderHttpTallyScript(input({ url: hostile, requests: 2 }));
    await execFile('sh', ['-c', script], { cwd: dir, env: { PATH: `${dir}:/usr/bin:/bin` } });
    const config = await readFile(path.join(dir, 'config'), 'utf8');
    expect(config).toBe(`url = "${hostile}"\noutput = "/dev/null"\n`.repeat(2));
    expect((await readdir(dir)).sort()).toEqual(['config', 'curl']);
  });
});

describe('parseHttpTallyOutput', () => {
  it('parses answers, curl failures (000) and places each line by its index', () => {
    // group \t request-in-group: request i is group i % 3, number floor(i / 3) in it
    const stdout = [
      '1\t0\t000\t2.001234\t28\t\tOperation timed out after 2001 milliseconds with 0 bytes received',
      '0\t0\t200\t0.004321\t0\tserver1\t',
      '2\t0\t000\t0.000100\t45\t\tbind failed with errno 99: Cannot assign requested address',
      '0\t1\t503\t0.002000\t0\t\t',
      '1\t1\t000\t0.000100\t99\t\tsomething new',
      '',
    ].join('\n');
    const records = parseHttpTallyOutput(stdout, {
      requests: 6,
      sources: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    });
    expect(records).toEqual([
      { source: '10.0.0.1', status: 200, header: 'server1', ms: 4.321 },
      { source: '10.0.0.2', status: 0, ms: 2001.234, error: 'curl exit 28: timed out' },
      {
        source: '10.0.0.3',
        status: 0,
        ms: 0.1,
        error: "curl exit 45: couldn't bind the source address (is it assigned on the node?)",
      },
      { source: '10.0.0.1', status: 503, ms: 2 },
      { source: '10.0.0.2', status: 0, ms: 0.1, error: 'curl exit 99: something new' },
      { source: '10.0.0.3', status: 0, ms: 0, error: 'no output for this request' },
    ]);
  });

  it('ignores lines that are not the loop’s, duplicates and indexes out of range', () => {
    const stdout = [
      'curl: (6) Could not resolve host',
      '0\t0\t200\t0.001\t0\tserver1\t',
      '0\t0\t200\t0.001\t0\tserver2\t',
      '0\t7\t200\t0.001\t0\tserver2\t',
      '1\t0\t200\t0.001\t0\tserver2\t',
      '-1\t0\t200\t0.001\t0\tserver2\t',
      '0\t1\t200\t0.001\t0\tserver\twith\ttabs\t',
    ].join('\n');
    expect(parseHttpTallyOutput(stdout, { requests: 2, sources: [] })).toEqual([
      { status: 200, header: 'server1', ms: 1 },
      { status: 200, header: 'server\twith\ttabs', ms: 1 },
    ]);
  });

  it('turns empty output into failed records', () => {
    expect(parseHttpTallyOutput('', { requests: 2, sources: [] })).toEqual([
      { status: 0, ms: 0, error: 'no output for this request' },
      { status: 0, ms: 0, error: 'no output for this request' },
    ]);
  });
});

/** curl >= 7.84 (for %header{}) on this machine, or the real-run tests are skipped. */
function curlSupportsHeaderWriteOut(): boolean {
  try {
    const version = /^curl (\d+)\.(\d+)/.exec(execFileSync('curl', ['--version'], { encoding: 'utf8' }));
    return version !== null && Number(version[1]) * 100 + Number(version[2]) >= 784;
  } catch {
    return false;
  }
}

describe.skipIf(!curlSupportsHeaderWriteOut())(
  'the script against a local HTTP server (loopback only)',
  () => {
    let server: Server | undefined;
    afterEach(async () => {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      server = undefined;
    });

    async function serve(handler: RequestListener): Promise<string> {
      server = createServer(handler);
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    }

    async function run(tally: HttpTallyScriptInput) {
      const started = performance.now();
      // Asynchronous on purpose: the server lives in this process and must keep answering.
      const { stdout } = await execFile('sh', ['-c', renderHttpTallyScript(tally)], {
        timeout: httpTallyExecTimeoutMs(tally),
      });
      return { records: parseHttpTallyOutput(stdout, tally), ms: performance.now() - started };
    }

    it('tallies an alternating X-Host, 100 requests in one exec within seconds', async () => {
      let served = 0;
      const url = await serve((_request, response) => {
        served += 1;
        response.setHeader('X-Host', served % 2 === 1 ? 'server1' : 'server2');
        response.end('ok\n');
      });
      const { records, ms } = await run(input({ url, requests: 100 }));
      const tally = tallyRecords(records, 'X-Host');
      expect(tally.values).toEqual([
        { value: 'server1', count: 50, share: 0.5 },
        { value: 'server2', count: 50, share: 0.5 },
      ]);
      expect(tally.failures).toBe(0);
      expect(tally.latencyMs?.max).toBeGreaterThan(0);
      expect(ms).toBeLessThan(10_000);
    });

    it('opens a new connection (a new source port) for every request', async () => {
      const ports = new Set<number>();
      const url = await serve((request, response) => {
        ports.add(request.socket.remotePort ?? 0);
        response.setHeader('X-Host', 'server1');
        response.end();
      });
      const { records } = await run(input({ url, requests: 20 }));
      expect(records.every((record) => record.status === 200)).toBe(true);
      expect(ports.size).toBe(20);
    });

    it('sends from each source round-robin, and reports a source it cannot bind as curl exit 45', async () => {
      const url = await serve((request, response) => {
        response.setHeader('X-Host', request.socket.remoteAddress === '127.0.0.2' ? 'server2' : 'server1');
        response.end();
      });
      // 192.0.2.1 (TEST-NET-1) is not on this machine: curl cannot bind it.
      const sources = ['127.0.0.1', '127.0.0.2', '192.0.2.1'];
      const { records } = await run(input({ url, requests: 9, sources }));
      const tally = tallyRecords(records, 'X-Host');
      expect(
        tally.bySource.map((s) => [s.source, s.requests, s.failures, s.values.map((v) => v.value)]),
      ).toEqual([
        ['127.0.0.1', 3, 0, ['server1']],
        ['127.0.0.2', 3, 0, ['server2']],
        ['192.0.2.1', 3, 3, []],
      ]);
      expect(tally.failureReasons).toEqual([
        { reason: "curl exit 45: couldn't bind the source address (is it assigned on the node?)", count: 3 },
      ]);
    });

    it('records a request that outlives its max-time as a timeout (000)', async () => {
      const url = await serve(() => undefined); // never answers
      const { records } = await run(input({ url, requests: 2, timeoutMs: 200 }));
      expect(records.map((r) => [r.status, r.error])).toEqual([
        [0, 'curl exit 28: timed out'],
        [0, 'curl exit 28: timed out'],
      ]);
      server?.closeAllConnections();
    });
  },
);
