import { describe, expect, it } from 'vitest';
import {
  judgeIpvsService,
  judgeOspfNeighbours,
  judgeRoute,
  pollUntil,
  ReadinessTimeout,
  waitForCheck,
  type Clock,
} from '../../src/apply/readiness.js';
import { runPool } from '../../src/apply/pool.js';
import type { ContainerRuntime, ExecResult } from '../../src/runtime/runtime.js';

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
  it('probes through the runtime and names node, condition and last observation on timeout', async () => {
    const execs: string[][] = [];
    const runtime = {
      exec: async (_container: string, cmd: string[]): Promise<ExecResult> => {
        execs.push(cmd);
        return { exitCode: 0, stdout: '[]', stderr: '' };
      },
    } as unknown as ContainerRuntime;
    const check = {
      type: 'route',
      node: 'router',
      prefix: '172.16.253.100/32',
      nexthops: 2,
      timeoutMs: 500,
    } as const;
    const error = await waitForCheck(runtime, 'lblab-x-router', check, {
      clock: fakeClock(),
      intervalMs: 200,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReadinessTimeout);
    expect((error as Error).message).toBe(
      'router: kernel route to 172.16.253.100/32 with 2 nexthop(s) not reached after 0.5 s (last seen: no route)',
    );
    expect(execs[0]).toEqual(['ip', '-j', 'route', 'show', '172.16.253.100/32']);
    expect(execs).toHaveLength(4);
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
