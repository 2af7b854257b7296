/**
 * Readiness conditions, polled until they hold: no fixed sleeps anywhere in lblab. Each probe is one
 * exec in the node and reports what it saw, so a timeout can say how far the lab got.
 */
import type { ReadinessCheck } from '../plan/plan.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { InterruptedError } from './errors.js';

export interface Observation {
  ok: boolean;
  /** What the probe saw, e.g. "2 nexthops (via 172.16.253.129, via 172.16.253.131)". */
  seen: string;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class ReadinessTimeout extends Error {
  constructor(
    readonly check: ReadinessCheck,
    readonly lastSeen: string,
  ) {
    super(`${check.node}: ${ReadinessTimeout.detail(check, lastSeen)}`);
    this.name = 'ReadinessTimeout';
  }

  /** The message without the node name, for errors that already carry it. */
  static detail(check: ReadinessCheck, lastSeen: string): string {
    return `${describeCheck(check)} not reached after ${check.timeoutMs / 1000} s (last seen: ${lastSeen})`;
  }
}

export function describeCheck(check: ReadinessCheck): string {
  switch (check.type) {
    case 'ospf-full':
      return `${check.neighbors} OSPF neighbour(s) Full`;
    case 'route':
      return `kernel route to ${check.prefix} with ${check.nexthops} nexthop(s)`;
    case 'tcp':
      return `TCP ${check.host}:${check.port} open`;
    case 'http':
      return `HTTP ${check.status} from ${check.url}`;
    case 'ipvs-service':
      return `IPVS service ${check.service} with ${check.realServers} real server(s)`;
  }
}

/** Polls `probe` until it reports ok, or throws what it saw last when `timeoutMs` has passed. */
export async function pollUntil(
  probe: () => Promise<Observation>,
  options: {
    timeoutMs: number;
    intervalMs: number;
    clock?: Clock;
    signal?: AbortSignal;
    onTimeout: (lastSeen: string) => Error;
  },
): Promise<Observation> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) throw InterruptedError.from(options.signal);
    const last = await probe();
    if (last.ok) return last;
    if (clock.now() >= deadline) throw options.onTimeout(last.seen);
    await clock.sleep(options.intervalMs);
  }
}

export async function waitForCheck(
  runtime: ContainerRuntime,
  container: string,
  check: ReadinessCheck,
  options: { clock?: Clock; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<Observation> {
  return pollUntil(() => observe(runtime, container, check), {
    timeoutMs: check.timeoutMs,
    intervalMs: options.intervalMs ?? 200,
    clock: options.clock,
    signal: options.signal,
    onTimeout: (lastSeen) => new ReadinessTimeout(check, lastSeen),
  });
}

export async function observe(
  runtime: ContainerRuntime,
  container: string,
  check: ReadinessCheck,
): Promise<Observation> {
  const run = async (cmd: string[]) => runtime.exec(container, cmd, { timeoutMs: 10_000 });
  switch (check.type) {
    case 'ospf-full': {
      const result = await run(['vtysh', '-c', 'show ip ospf neighbor json']);
      if (result.exitCode !== 0)
        return { ok: false, seen: `vtysh failed: ${firstLine(result.stderr || result.stdout)}` };
      return judgeOspfNeighbours(result.stdout, check.neighbors);
    }
    case 'route': {
      const result = await run(['ip', '-j', 'route', 'show', check.prefix]);
      if (result.exitCode !== 0) return { ok: false, seen: `ip route failed: ${firstLine(result.stderr)}` };
      return judgeRoute(result.stdout, check.nexthops);
    }
    case 'tcp': {
      // Host and port travel as arguments, never as script text.
      const result = await run([
        'bash',
        '-c',
        'exec 3<>"/dev/tcp/$1/$2"',
        'probe',
        check.host,
        String(check.port),
      ]);
      return { ok: result.exitCode === 0, seen: result.exitCode === 0 ? 'open' : 'connection refused' };
    }
    case 'http': {
      const result = await run([
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '--max-time',
        '2',
        '-w',
        '%{http_code}',
        check.url,
      ]);
      const status = Number(result.stdout.trim() || '0');
      return { ok: status === check.status, seen: status === 0 ? 'no answer' : `HTTP ${status}` };
    }
    case 'ipvs-service': {
      const result = await run(['ipvsadm', '-Ln']);
      if (result.exitCode !== 0) return { ok: false, seen: `ipvsadm failed: ${firstLine(result.stderr)}` };
      return judgeIpvsService(result.stdout, check.service, check.realServers);
    }
  }
}

interface OspfNeighbourJson {
  neighbors?: Record<string, { state?: string; nbrState?: string }[]>;
}

export function judgeOspfNeighbours(json: string, wanted: number): Observation {
  let parsed: OspfNeighbourJson;
  try {
    parsed = JSON.parse(json) as OspfNeighbourJson;
  } catch {
    return { ok: false, seen: 'ospfd not answering yet' };
  }
  const states = Object.entries(parsed.neighbors ?? {}).flatMap(([id, entries]) =>
    entries.map((entry) => `${id} ${entry.state ?? entry.nbrState ?? '?'}`),
  );
  const full = states.filter((state) => state.split(' ')[1]?.startsWith('Full')).length;
  return {
    ok: full >= wanted,
    seen: `${full} of ${wanted} Full${states.length ? ` (${states.join(', ')})` : ''}`,
  };
}

interface RouteJson {
  gateway?: string;
  nexthops?: { gateway?: string }[];
}

export function judgeRoute(json: string, wanted: number): Observation {
  let routes: RouteJson[];
  try {
    routes = JSON.parse(json || '[]') as RouteJson[];
  } catch {
    return { ok: false, seen: 'unreadable ip -j output' };
  }
  const route = routes[0];
  if (!route) return { ok: false, seen: 'no route' };
  const gateways = route.nexthops
    ? route.nexthops.map((hop) => hop.gateway ?? '?')
    : route.gateway
      ? [route.gateway]
      : [];
  return {
    ok: gateways.length === wanted,
    seen: `${gateways.length} nexthop(s)${gateways.length ? ` (via ${gateways.join(', via ')})` : ''}`,
  };
}

export function judgeIpvsService(listing: string, service: string, wanted: number): Observation {
  const [protocol = '', address = ''] = service.split(' ');
  let inService = false;
  let realServers = 0;
  let found = false;
  for (const line of listing.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === 'TCP' || fields[0] === 'UDP') {
      inService = fields[0] === protocol && fields[1] === address;
      found ||= inService;
    } else if (inService && fields[0] === '->' && fields[1] !== 'RemoteAddress:Port') {
      realServers += 1;
    }
  }
  if (!found) return { ok: false, seen: `no virtual service ${service}` };
  return { ok: realServers >= wanted, seen: `${realServers} of ${wanted} real server(s)` };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
