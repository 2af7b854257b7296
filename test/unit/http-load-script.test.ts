import { execFile as execFileCallback } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HTTP_LOAD_BOUNDS,
  httpLoadCommand,
  httpLoadExecTimeoutMs,
  httpLoadRequestCount,
  parseHttpLoadOutput,
  type HttpLoadInput,
  type LoadRecord,
} from '../../src/verify/http-load-script.js';
import { tallyRecords } from '../../src/verify/tally.js';

const execFile = promisify(execFileCallback);

const input = (extra: Partial<HttpLoadInput> = {}): HttpLoadInput => ({
  url: 'http://172.16.253.100:8080/',
  ratePerSecond: 20,
  durationMs: 1000,
  header: 'X-Host',
  sources: [],
  timeoutMs: 500,
  ...extra,
});

describe('httpLoadCommand', () => {
  it('passes every value as its own argument after --, none of them in the script', () => {
    const command = httpLoadCommand(
      input({ url: 'http://lb.example:8080/a?b=c', sources: ['10.0.0.1', '10.0.0.2'] }),
    );
    expect(command.slice(0, 2)).toEqual(['perl', '-e']);
    expect(command.slice(3)).toEqual([
      '--',
      'http://lb.example:8080/a?b=c',
      '20',
      '1000',
      'X-Host',
      '500',
      '1000',
      '-',
      '10.0.0.1',
      '10.0.0.2',
    ]);
    expect(command[2]).not.toContain('lb.example');
    expect(command[2]).not.toContain('X-Host');
  });

  it.each([
    ['a rate of 0', { ratePerSecond: 0 }, 'rate must be an integer from 1 to 500'],
    ['a rate above 500', { ratePerSecond: 501 }, 'rate must be an integer from 1 to 500'],
    ['a fractional rate', { ratePerSecond: 2.5 }, 'rate must be an integer'],
    ['a duration under 1 s', { durationMs: 999 }, 'duration must be 1000..600000 ms'],
    ['a duration over 10 min', { durationMs: 600_001 }, 'duration must be 1000..600000 ms'],
    ['a timeout under 50 ms', { timeoutMs: 49 }, 'per-request timeout must be 50..30000 ms'],
    ['a timeout over 30 s', { timeoutMs: 30_001 }, 'per-request timeout must be 50..30000 ms'],
    ['more than 30000 requests', { ratePerSecond: 500, durationMs: 60_001 }, 'more than 30000'],
    ['a header with a colon', { header: 'X-Host:' }, 'is not an HTTP header name'],
    ['a header with a line break', { header: 'X\r\nInjected: 1' }, 'is not an HTTP header name'],
    ['https', { url: 'https://10.0.0.1/' }, 'is not http://host[:port][/path]'],
    ['a URL starting with -', { url: '-e' }, 'is not http://host[:port][/path]'],
    ['a blank in the path', { url: 'http://a/x HTTP/1.0\r\n' }, 'is not http://host[:port][/path]'],
    ['a quote in the path', { url: 'http://a/"x' }, 'is not http://host[:port][/path]'],
    ['port 0', { url: 'http://a:0/' }, 'is not http://host[:port][/path]'],
    ['port 65536', { url: 'http://a:65536/' }, 'is not http://host[:port][/path]'],
    ['a source that is a name', { sources: ['localhost'] }, 'is not an IPv4 address'],
  ])('refuses %s', (_what, extra, message) => {
    expect(() => httpLoadCommand(input(extra))).toThrow(message);
  });

  it('accepts the extremes of its bounds', () => {
    const b = HTTP_LOAD_BOUNDS;
    expect(() =>
      httpLoadCommand(
        input({ ratePerSecond: b.maxRatePerSecond, durationMs: 60_000, timeoutMs: b.maxTimeoutMs }),
      ),
    ).not.toThrow();
    expect(() =>
      httpLoadCommand(
        input({ ratePerSecond: b.minRatePerSecond, durationMs: b.maxDurationMs, timeoutMs: b.minTimeoutMs }),
      ),
    ).not.toThrow();
    expect(() => httpLoadCommand(input({ url: 'http://10.0.0.1' }))).not.toThrow();
  });

  it('counts the requests of the schedule: one every 1/rate s while before the end', () => {
    expect(httpLoadRequestCount({ ratePerSecond: 20, durationMs: 1000 })).toBe(20);
    expect(httpLoadRequestCount({ ratePerSecond: 3, durationMs: 1001 })).toBe(4);
  });

  it('bounds the exec by duration + timeout + slack', () => {
    expect(httpLoadExecTimeoutMs({ durationMs: 60_000, timeoutMs: 2000 })).toBe(77_000);
  });
});

describe('the script in perl against local servers (loopback only)', () => {
  let server: Server | TcpServer | undefined;
  afterEach(async () => {
    if (server && 'closeAllConnections' in server) server.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  async function listen(s: Server | TcpServer): Promise<number> {
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return (s.address() as AddressInfo).port;
  }

  async function serve(handler: RequestListener): Promise<string> {
    return `http://127.0.0.1:${await listen(createServer(handler))}/`;
  }

  async function run(load: HttpLoadInput) {
    const [perl, ...args] = httpLoadCommand(load);
    // Asynchronous on purpose: the server lives in this process and must keep answering.
    const { stdout } = await execFile(perl!, args, { timeout: httpLoadExecTimeoutMs(load) });
    return parseHttpLoadOutput(stdout, load);
  }

  /** How late each request went out against its slot in the schedule (the first one's start + seq/rate). */
  function lateness(records: LoadRecord[], rate: number): number[] {
    const start = records[0]!.sentAt;
    return records.map((r) => r.sentAt - (start + (r.seq * 1000) / rate));
  }

  it('stretches past its duration until the stop file appears, then removes it', async () => {
    const url = await serve((_request, response) => response.end('ok\n'));
    const stopFile = `/tmp/lblab-load-t${process.pid}`;
    rmSync(stopFile, { force: true });
    const load = input({ url, stretch: { maxDurationMs: 5000, stopFile } });
    const touch = setTimeout(() => writeFileSync(stopFile, ''), 2000);
    const { sent } = await run(load);
    clearTimeout(touch);
    // 20/s: 1 s of duration, stretched to ~2 s by the file, far from the 5 s cap (100 requests).
    expect(sent).toBeGreaterThanOrEqual(35);
    expect(sent).toBeLessThan(80);
    expect(existsSync(stopFile)).toBe(false);
  });

  it('sends 20/s for 1 s: 20 requests on schedule, each on its own connection, answered with the header', async () => {
    let served = 0;
    const ports = new Set<number>();
    const url = await serve((request, response) => {
      served += 1;
      ports.add(request.socket.remotePort ?? 0);
      response.setHeader('X-Host', `server${served}`);
      response.end('ok\n');
    });
    const before = Date.now();
    const { records, sent } = await run(input({ url, header: 'x-host' }));
    expect(sent).toBe(20);
    expect(records.map((r) => r.seq)).toEqual([...Array(20).keys()]);
    expect(records.every((r) => r.status === 200 && r.error === undefined && r.source === undefined)).toBe(
      true,
    );
    expect(new Set(records.map((r) => r.header)).size).toBe(20);
    expect(ports.size).toBe(20);
    expect(tallyRecords(records, 'X-Host').answered).toBe(20);
    // Epoch wall clock, like the runner's Date.now().
    expect(records[0]!.sentAt).toBeGreaterThanOrEqual(before - 5);
    expect(records[0]!.sentAt).toBeLessThan(before + 2000);
    for (const late of lateness(records, 20)) {
      expect(late).toBeGreaterThan(-2);
      expect(late).toBeLessThan(150);
    }
  });

  it('sends from each source round-robin, and reports a source it cannot bind', async () => {
    const url = await serve((request, response) => {
      response.setHeader('X-Remote', request.socket.remoteAddress ?? '');
      response.end();
    });
    // 192.0.2.1 (TEST-NET-1) is not on this machine: it cannot be bound.
    const sources = ['127.0.0.1', '127.0.0.2', '192.0.2.1'];
    const { records, sent } = await run(input({ url, ratePerSecond: 9, header: 'X-Remote', sources }));
    expect(sent).toBe(9);
    expect(records.map((r) => [r.source, r.status, r.header ?? r.error])).toEqual(
      [0, 1, 2].flatMap(() => [
        ['127.0.0.1', 200, '127.0.0.1'],
        ['127.0.0.2', 200, '127.0.0.2'],
        ['192.0.2.1', 0, 'cannot bind source'],
      ]),
    );
  });

  it('keeps to its schedule while a request hangs (open loop), and times the hung one out', async () => {
    let served = 0;
    const url = await serve((_request, response) => {
      served += 1;
      if (served === 4) return; // never answers
      response.setHeader('X-Host', 'server1');
      response.end();
    });
    const { records, sent } = await run(input({ url, timeoutMs: 600 }));
    expect(sent).toBe(20);
    const hung = records.filter((r) => r.error !== undefined);
    expect(hung.map((r) => [r.status, r.error])).toEqual([[0, 'timed out']]);
    expect(hung[0]!.ms).toBeGreaterThanOrEqual(600);
    expect(hung[0]!.ms).toBeLessThan(900);
    expect(records.filter((r) => r.status === 200)).toHaveLength(19);
    // A closed loop would have sent nothing for 600 ms: here the requests after it left on time,
    // several while it was still waiting.
    for (const late of lateness(records, 20)) expect(late).toBeLessThan(150);
    const during = records.filter((r) => r.sentAt > hung[0]!.sentAt && r.sentAt < hung[0]!.sentAt + 600);
    expect(during.length).toBeGreaterThanOrEqual(8);
  });

  it('reports a port nothing listens on as connection refused', async () => {
    const port = await listen(createServer());
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    const { records, sent } = await run(input({ url: `http://127.0.0.1:${port}/`, ratePerSecond: 10 }));
    expect(sent).toBe(10);
    expect(records.map((r) => [r.status, r.error])).toEqual(Array(10).fill([0, 'connection refused']));
  });

  it('tells a server that closes from one that resets and one that does not speak HTTP', async () => {
    let connections = 0;
    const port = await listen(
      createTcpServer((socket: Socket) => {
        const kind = connections++ % 3;
        socket.once('data', () => {
          if (kind === 0) socket.end();
          else if (kind === 1) socket.resetAndDestroy();
          else socket.end('SSH-2.0-OpenSSH\r\n\r\n');
        });
      }),
    );
    const { records } = await run(input({ url: `http://127.0.0.1:${port}/`, ratePerSecond: 9 }));
    const errors = records.map((r) => r.error).sort();
    expect(errors).toEqual([
      ...Array(3).fill('closed without a response'),
      ...Array(3).fill('connection reset'),
      ...Array(3).fill('not an HTTP response'),
    ]);
  });

  it('checks its arguments itself, whoever runs it', async () => {
    const script = httpLoadCommand(input())[2]!;
    const attempts = [
      ['https://10.0.0.1/', '20', '1000', 'X-Host', '500'],
      ['http://a/x HTTP/1.0\r\nX: y', '20', '1000', 'X-Host', '500'],
      ['http://a/', '501', '1000', 'X-Host', '500'],
      ['http://a/', '500', '600000', 'X-Host', '500'],
      ['http://a/', '20', '1000', 'X-Host\n', '500'],
      ['http://a/', '20', '1000', 'X-Host', '500', '10.0.0.1; id'],
    ];
    for (const args of attempts) {
      const run = execFile('perl', ['-e', script, '--', ...args]);
      await expect(run).rejects.toMatchObject({ code: 2, stdout: '' });
      await expect(run).rejects.toHaveProperty('stderr', expect.stringMatching(/^lblab http-load: /));
    }
  });
});

describe('parseHttpLoadOutput', () => {
  const load = input({ ratePerSecond: 10, sources: ['10.0.0.1', '10.0.0.2'] });

  it('parses lines in any order into records by seq, with the sent count from the done line', () => {
    const stdout = [
      '1\t1\t1000100.250\t600.000\t0\t\ttimed out',
      '0\t0\t1000000.000\t2.500\t200\tserver1\t',
      '2\t0\t1000200.000\t0.100\t0\t\tconnection refused',
      '3\t1\t1000300.000\t1.000\t503\t\t',
      'done\t4',
      '',
    ].join('\n');
    expect(parseHttpLoadOutput(stdout, load)).toEqual({
      sent: 4,
      records: [
        { seq: 0, sentAt: 1000000, source: '10.0.0.1', status: 200, header: 'server1', ms: 2.5 },
        { seq: 1, sentAt: 1000100.25, source: '10.0.0.2', status: 0, ms: 600, error: 'timed out' },
        { seq: 2, sentAt: 1000200, source: '10.0.0.1', status: 0, ms: 0.1, error: 'connection refused' },
        { seq: 3, sentAt: 1000300, source: '10.0.0.2', status: 503, ms: 1 },
      ],
    });
  });

  it('ignores lines that are not the script’s, duplicates, seqs out of range and wrong source indexes', () => {
    const stdout = [
      'Use of uninitialized value in printf',
      '0\t0\t1000000.000\t2.000\t200\tserver1\t',
      '0\t0\t1000000.000\t2.000\t200\tserver2\t',
      '10\t0\t1001000.000\t2.000\t200\tserver1\t',
      '1\t0\t1000100.000\t2.000\t200\tserver1\t',
      '1\t1\tsoon\t2.000\t200\tserver1\t',
      '1\t1\t1000100.000\t2.000\t2000\tserver1\t',
      '1\t1\t1000100.000\t2.000\t200\tserver\t1\t',
      '1\t1\t1000100.000\t2.000\t200\tserver2\t',
      'done\tmany',
    ].join('\n');
    const { records, sent } = parseHttpLoadOutput(stdout, load);
    expect(sent).toBeUndefined();
    expect(records.map((r) => [r.seq, r.header])).toEqual([
      [0, 'server1'],
      [1, 'server2'],
    ]);
  });

  it('turns a sent request without a line into a failure at the earliest time it can have left', () => {
    // Slots every 100 ms from 1000; seq 1 left 150 ms late, so seq 2 cannot have left before it.
    const stdout = [
      '0\t0\t1000.000\t1.000\t200\ts\t',
      '1\t1\t1250.000\t1.000\t200\ts\t',
      '3\t1\t1300.000\t1.000\t200\ts\t',
      'done\t6',
    ].join('\n');
    const { records, sent } = parseHttpLoadOutput(stdout, load);
    expect(sent).toBe(6);
    const missing = { status: 0, ms: 0, error: 'no output for this request' };
    expect(records.filter((r) => r.error)).toEqual([
      { seq: 2, sentAt: 1250, source: '10.0.0.1', ...missing },
      { seq: 4, sentAt: 1400, source: '10.0.0.1', ...missing },
      { seq: 5, sentAt: 1500, source: '10.0.0.2', ...missing },
    ]);
  });

  it('without the done line, invents no request after the last one that printed', () => {
    const stdout = ['0\t0\t1000.000\t1.000\t200\ts\t', '2\t0\t1200.000\t1.000\t200\ts\t'].join('\n');
    const { records, sent } = parseHttpLoadOutput(stdout, load);
    expect(sent).toBeUndefined();
    expect(records.map((r) => [r.seq, r.sentAt, r.error])).toEqual([
      [0, 1000, undefined],
      [1, 1100, 'no output for this request'],
      [2, 1200, undefined],
    ]);
  });

  it('places no request in time when no line says when the schedule started', () => {
    expect(parseHttpLoadOutput('', load)).toEqual({ records: [], sent: undefined });
    expect(parseHttpLoadOutput('done\t1\n', load).records).toEqual([
      {
        seq: 0,
        sentAt: Number.NaN,
        source: '10.0.0.1',
        status: 0,
        ms: 0,
        error: 'no output for this request',
      },
    ]);
  });
});
