import { describe, expect, it } from 'vitest';
import { FRR_LOAD_CONFIG, judgeFrrConfig } from '../../src/checks/frr-config.js';
import { judgeHttpResponse } from '../../src/checks/http.js';
import { judgeIpvsService } from '../../src/checks/ipvs-service.js';
import { judgeOspfNeighbours } from '../../src/checks/ospf-full.js';
import { judgeRoute } from '../../src/checks/route.js';
import { MAX_REPAIRS, ReadinessTimeout, waitForCheck } from '../../src/checks/wait.js';
import type { Clock } from '../../src/util/clock.js';
import { pollUntil } from '../../src/util/poll.js';
import { runPool } from '../../src/apply/pool.js';
import type { ContainerRuntime, ExecResult } from '../../src/core/runtime.js';

function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('judgeRoute', () => {
  it('counts ECMP nexthops from ip -j route', () => {
    const json = JSON.stringify([
      { dst: '172.16.253.100', nexthops: [{ gateway: '172.16.253.129' }, { gateway: '172.16.253.131' }] },
    ]);
    expect(judgeRoute(json, 2)).toEqual({
      ok: true,
      seen: '2 nexthop(s) (via 172.16.253.129, via 172.16.253.131)',
    });
    expect(judgeRoute(json, 3).ok).toBe(false);
  });

  it('treats a single-gateway route as one nexthop and no route as none', () => {
    expect(judgeRoute(JSON.stringify([{ dst: '10.0.0.1', gateway: '10.0.0.2' }]), 2)).toEqual({
      ok: false,
      seen: '1 nexthop(s) (via 10.0.0.2)',
    });
    expect(judgeRoute('[]', 1)).toEqual({ ok: false, seen: 'no route' });
    expect(judgeRoute('', 1)).toEqual({ ok: false, seen: 'no route' });
  });
});

describe('judgeOspfNeighbours', () => {
  const json = JSON.stringify({
    neighbors: {
      '172.16.253.129': [{ state: 'Full/DROther' }],
      '172.16.253.131': [{ state: 'ExStart/DROther' }],
    },
  });

  it('counts only Full adjacencies and shows the others', () => {
    expect(judgeOspfNeighbours(json, 2)).toEqual({
      ok: false,
      seen: '1 of 2 Full (172.16.253.129 Full/DROther, 172.16.253.131 ExStart/DROther)',
    });
    expect(judgeOspfNeighbours(json, 1).ok).toBe(true);
  });

  it('says ospfd is not answering when vtysh prints no JSON', () => {
    expect(judgeOspfNeighbours('% OSPF instance not found', 1)).toEqual({
      ok: false,
      seen: 'ospfd not answering yet',
    });
  });
});

describe('judgeIpvsService', () => {
  const listing = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  172.16.253.100:8080 rr',
    '  -> 172.16.253.130:8080           Route   1      0          0',
    'UDP  172.16.253.100:53 rr',
    '  -> 172.16.253.134:53             Route   1      0          0',
    '  -> 172.16.253.130:53             Route   1      0          0',
  ].join('\n');

  it('counts the real servers under the named service only', () => {
    expect(judgeIpvsService(listing, 'TCP 172.16.253.100:8080', 1)).toEqual({
      ok: true,
      seen: '1 of 1 real server(s)',
    });
    expect(judgeIpvsService(listing, 'TCP 172.16.253.100:8080', 2).ok).toBe(false);
    expect(judgeIpvsService(listing, 'UDP 172.16.253.100:53', 2).ok).toBe(true);
  });

  it('reports a missing virtual service', () => {
    expect(judgeIpvsService(listing, 'TCP 172.16.253.100:80', 1)).toEqual({
      ok: false,
      seen: 'no virtual service TCP 172.16.253.100:80',
    });
  });
});

describe('pollUntil', () => {
  it('polls at the interval until the probe holds, without real sleeps', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await pollUntil(async () => ({ ok: ++calls === 3, seen: `call ${calls}` }), {
      timeoutMs: 10_000,
      intervalMs: 200,
      clock,
      onTimeout: () => new Error('unexpected'),
    });
    expect(result).toEqual({ ok: true, seen: 'call 3' });
    expect(clock.slept).toEqual([200, 200]);
  });

  it('times out with what it saw last', async () => {
    const clock = fakeClock();
    await expect(
      pollUntil(async () => ({ ok: false, seen: `t=${clock.now()}` }), {
        timeoutMs: 1000,
        intervalMs: 300,
        clock,
        onTimeout: (seen) => new Error(`gave up, last ${seen}`),
      }),
    ).rejects.toThrow('gave up, last t=1200');
  });

  it('counts the timeout from countFrom, so a slow start of the others does not use it up', async () => {
    const clock = fakeClock();
    let release!: () => void;
    const countFrom = new Promise<void>((resolve) => (release = resolve));
    let probes = 0;
    const polled = pollUntil(
      async () => {
        probes += 1;
        if (probes === 20) release(); // the others are configured after 20 polls (4 s)
        return { ok: false, seen: 'no route' };
      },
      { timeoutMs: 1_000, intervalMs: 200, clock, countFrom, onTimeout: (seen) => new Error(seen) },
    );
    await expect(polled).rejects.toThrow('no route');
    // 4 s of polling before countFrom settled, then the whole second.
    expect(probes).toBeGreaterThanOrEqual(25);
  });

  it('stops polling once the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort('SIGTERM');
    await expect(
      pollUntil(async () => ({ ok: false, seen: '' }), {
        timeoutMs: 1000,
        intervalMs: 10,
        clock: fakeClock(),
        signal: controller.signal,
        onTimeout: () => new Error('timeout'),
      }),
    ).rejects.toMatchObject({ name: 'InterruptedError', exitCode: 143 });
  });
});

describe('waitForCheck', () => {
  /** A router that never has the route: every probe sees an empty route list. */
  function routelessRouter(onExec: (cmd: string[]) => void = () => {}) {
    const runtime = {
      exec: async (_container: string, cmd: string[]): Promise<ExecResult> => {
        onExec(cmd);
        return { exitCode: 0, stdout: '[]', stderr: '' };
      },
    } as unknown as ContainerRuntime;
    return runtime;
  }
  const route = (timeoutMs: number) =>
    ({ type: 'route', node: 'router', prefix: '172.16.253.100/32', nexthops: 2, timeoutMs }) as const;

  it('probes through the runtime and names node, condition and last observation on timeout', async () => {
    const execs: string[][] = [];
    const error = await waitForCheck(
      routelessRouter((cmd) => execs.push(cmd)),
      'lblab-x-router',
      route(500),
      {
        clock: fakeClock(),
        intervalMs: 200,
      },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReadinessTimeout);
    expect((error as Error).message).toBe(
      'router: kernel route to 172.16.253.100/32 with 2 nexthop(s) not reached after 0.5 s (last seen: no route)',
    );
    expect(execs[0]).toEqual(['ip', '-j', 'route', 'show', '172.16.253.100/32']);
    expect(execs).toHaveLength(4);
  });

  it('stops when told another condition failed, saying so and what it saw last', async () => {
    let probes = 0;
    const stop = new AbortController();
    const runtime = routelessRouter(() => {
      if (++probes === 3) stop.abort();
    });
    const error = await waitForCheck(runtime, 'lblab-x-router', route(60_000), {
      clock: fakeClock(),
      intervalMs: 200,
      giveUp: { signal: stop.signal, reason: () => 'lb1 failed' },
    }).catch((caught: unknown) => caught);
    expect(probes).toBe(3);
    expect((error as Error).message).toBe(
      'router: kernel route to 172.16.253.100/32 with 2 nexthop(s) not reached: lblab stopped waiting after 0 s of 60 s, as lb1 failed (last seen: no route)',
    );
    expect((error as ReadinessTimeout).stopped?.forAnother).toBe(true);
  });
});

/** ospfd's running config before and after it loaded the integrated frr.conf. */
const OSPFD_BARE =
  'Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nhostname lb1\n!\nend';
const OSPFD_LOADED = [
  'Current configuration:',
  'hostname lb1',
  'interface eth0',
  ' ip ospf network point-to-multipoint',
  'exit',
  '!',
  'router ospf',
  ' ospf router-id 172.16.253.129',
  ' network 172.16.253.0/24 area 0',
  'exit',
  'end',
].join('\n');
const OSPFD_HOLDS = [
  {
    daemon: 'ospfd',
    holds: [
      'router ospf',
      'ospf router-id 172.16.253.129',
      'network 172.16.253.0/24 area 0',
      'interface eth0',
    ],
  },
];
const section = (daemon: string, text: string) => `@@lblab-daemon ${daemon}\n${text}\n`;

describe('judgeFrrConfig', () => {
  it('passes a daemon that shows every wanted line', () => {
    expect(judgeFrrConfig(section('ospfd', OSPFD_LOADED), OSPFD_HOLDS)).toEqual({
      ok: true,
      seen: 'configuration loaded in ospfd',
    });
  });

  it('names what a running daemon lacks and offers to load the integrated config', () => {
    const seen = judgeFrrConfig(section('ospfd', OSPFD_BARE), OSPFD_HOLDS);
    expect(seen.ok).toBe(false);
    expect(seen.seen).toBe(
      'ospfd lacks "router ospf", "ospf router-id 172.16.253.129", "network 172.16.253.0/24 area 0", "interface eth0"',
    );
    expect(seen.repair?.cmd).toEqual(FRR_LOAD_CONFIG);
  });

  it('waits, without a repair, for a daemon vtysh cannot reach yet', () => {
    const output = section('ospfd', 'ospfd is not running\n@@lblab-vtysh-failed 1');
    expect(judgeFrrConfig(output, OSPFD_HOLDS)).toEqual({ ok: false, seen: 'ospfd not answering vtysh yet' });
    expect(judgeFrrConfig('', OSPFD_HOLDS).repair).toBeUndefined();
  });
});

describe('judgeHttpResponse', () => {
  const head = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nX-Host: server1\r\n\r\n';
  it('checks the status and, when asked, a header value', () => {
    expect(judgeHttpResponse(head, 200)).toEqual({ ok: true, seen: 'HTTP 200' });
    expect(judgeHttpResponse(head, 200, { name: 'x-host', value: 'server1' }).ok).toBe(true);
    expect(judgeHttpResponse(head, 200, { name: 'X-Host', value: 'server2' })).toEqual({
      ok: false,
      seen: 'HTTP 200, X-Host: server1',
    });
  });
  it('tells a default page without the header, a wrong status and no answer apart', () => {
    expect(judgeHttpResponse('HTTP/1.1 200 OK\r\n\r\n', 200, { name: 'X-Host', value: 's' }).seen).toBe(
      'HTTP 200, X-Host: (none)',
    );
    expect(judgeHttpResponse('HTTP/1.1 404 Not Found\r\n', 200)).toEqual({ ok: false, seen: 'HTTP 404' });
    expect(judgeHttpResponse('', 200)).toEqual({ ok: false, seen: 'no answer' });
  });
});

describe('waitForCheck repairs FRR that started without its configuration', () => {
  /** A node whose ospfd runs but missed the boot-time load; `vtysh -b` loads it, if it works at all. */
  function frrNode(options: { loadWorks: boolean }) {
    let loaded = false;
    const execs: string[][] = [];
    const runtime = {
      exec: async (_container: string, cmd: string[]): Promise<ExecResult> => {
        execs.push(cmd);
        if (cmd.join(' ') === FRR_LOAD_CONFIG.join(' ')) {
          loaded = options.loadWorks;
          return {
            exitCode: options.loadWorks ? 0 : 1,
            stdout: '',
            stderr: options.loadWorks ? '' : 'ospfd: timeout',
          };
        }
        return { exitCode: 0, stdout: section('ospfd', loaded ? OSPFD_LOADED : OSPFD_BARE), stderr: '' };
      },
    } as unknown as ContainerRuntime;
    return { runtime, execs, repairs: () => execs.filter((cmd) => cmd[0] === 'vtysh').length };
  }
  const check = { type: 'frr-config', node: 'lb1', daemons: OSPFD_HOLDS, timeoutMs: 5_000 } as const;

  it('detects the missing config, loads it once and then holds', async () => {
    const node = frrNode({ loadWorks: true });
    const told: string[] = [];
    const seen = await waitForCheck(node.runtime, 'lblab-x-lb1', check, {
      clock: fakeClock(),
      onRepair: (message) => told.push(message),
    });
    expect(seen.ok).toBe(true);
    expect(node.repairs()).toBe(1);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(
      /^ospfd lacks "router ospf".*; loading \/etc\/frr\/frr\.conf into the daemons \(attempt 1 of 3\)$/,
    );
  });

  it('repairs a bounded number of times, then times out naming the daemon and what it lacks', async () => {
    const node = frrNode({ loadWorks: false });
    const error = await waitForCheck(node.runtime, 'lblab-x-lb1', check, { clock: fakeClock() }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ReadinessTimeout);
    expect(node.repairs()).toBe(MAX_REPAIRS);
    expect((error as Error).message).toContain('lb1: FRR configured');
    expect((error as Error).message).toContain('ospfd lacks "router ospf"');
    expect((error as Error).message).toContain('repaired 3 of 3 times');
    expect((error as Error).message).toContain('exited 1: ospfd: timeout');
    expect((error as ReadinessTimeout).repairs).toBe(MAX_REPAIRS);
  });

  it('gives up once every repair ran and the next observations still fail, long before the timeout', async () => {
    const node = frrNode({ loadWorks: false });
    const clock = fakeClock();
    const error = await waitForCheck(
      node.runtime,
      'lblab-x-lb1',
      { ...check, timeoutMs: 60_000 },
      { clock, intervalMs: 200 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReadinessTimeout);
    expect(node.repairs()).toBe(MAX_REPAIRS);
    // Three observations each followed by a repair, then two that still fail: five probes, 0.8 s.
    expect(node.execs.filter((cmd) => cmd[0] === 'sh')).toHaveLength(MAX_REPAIRS + 2);
    expect(clock.now()).toBe(800);
    expect((error as ReadinessTimeout).stopped).toEqual({ afterMs: 800, why: '3 repairs did not help' });
    expect((error as Error).message).toMatch(
      /^lb1: FRR configured \(ospfd: 4 settings\) not reached: lblab stopped waiting after 1 s of 60 s, as 3 repairs did not help \(last seen: ospfd lacks "router ospf"/,
    );
  });

  it('puts a failure whose repair did not help before the failures it explains', () => {
    const neighbours = { type: 'ospf-full', node: 'lb1', neighbors: 2, timeoutMs: 60_000 } as const;
    const consequence = new ReadinessTimeout(neighbours, '0 of 2 Full');
    const cause = new ReadinessTimeout(check, 'ospfd lacks "router ospf"', MAX_REPAIRS);
    const other = new Error('setup failed');
    expect(ReadinessTimeout.causesFirst([consequence, other, cause])).toEqual([cause, consequence, other]);
    expect(ReadinessTimeout.causesFirst([consequence, other])).toEqual([consequence, other]);
    // One that only stopped because another failed comes after every real failure.
    const stopped = new ReadinessTimeout(neighbours, '1 of 2 Full', 0, {
      afterMs: 9_000,
      why: 'lb1 failed',
      forAnother: true,
    });
    expect(ReadinessTimeout.causesFirst([stopped, consequence, cause])).toEqual([
      cause,
      consequence,
      stopped,
    ]);
  });
});

describe('runPool', () => {
  it('never runs more than the limit at once and collects every failure', async () => {
    let running = 0;
    let peak = 0;
    const failures = await runPool([1, 2, 3, 4, 5, 6], 2, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      if (n % 2 === 0) throw new Error(`task ${n}`);
    });
    expect(peak).toBe(2);
    expect(failures.map((f) => (f.error as Error).message).sort()).toEqual(['task 2', 'task 4', 'task 6']);
  });

  it('schedules nothing new after the signal aborts', async () => {
    const controller = new AbortController();
    const started: number[] = [];
    await runPool(
      [1, 2, 3, 4],
      1,
      async (n) => {
        started.push(n);
        if (n === 2) controller.abort();
      },
      controller.signal,
    );
    expect(started).toEqual([1, 2]);
  });
});
