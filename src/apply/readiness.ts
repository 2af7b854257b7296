/**
 * Readiness conditions, polled until they hold: no fixed sleeps anywhere in lblab. Each probe is one
 * exec in the node and reports what it saw, so a timeout can say how far the lab got.
 */
import type { FrrDaemonConfig, ReadinessCheck } from '../plan/plan.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { realClock, type Clock } from '../util/clock.js';
import { InterruptedError } from './errors.js';

export interface Observation {
  ok: boolean;
  /** What the probe saw, e.g. "2 nexthops (via 172.16.253.129, via 172.16.253.131)". */
  seen: string;
  /** A command that should bring the node to the wanted state, when the probe knows one. */
  repair?: { cmd: string[]; what: string };
}

/** How often waitForCheck runs an observation's repair before it only waits (and then times out). */
export const MAX_REPAIRS = 3;

export { realClock, type Clock } from '../util/clock.js';

export class ReadinessTimeout extends Error {
  /** The node's daemon logs (last lines), added by whoever can read them. */
  evidence = '';
  /** The same node's other conditions that were not met either (often consequences of this one). */
  alsoUnmet: string[] = [];

  constructor(
    readonly check: ReadinessCheck,
    readonly lastSeen: string,
    /** How often a repair ran before the timeout: a check that was repaired and still failed is the likely cause. */
    readonly repairs = 0,
  ) {
    super(`${check.node}: ${ReadinessTimeout.detail(check, lastSeen)}`);
    this.name = 'ReadinessTimeout';
  }

  /** The message without the node name, for errors that already carry it. */
  /**
   * Failures in the order to report them: one whose repair ran and did not help first (an ospfd
   * without its config explains why its neighbours never came Full), the rest as they came.
   */
  static causesFirst<T>(errors: T[]): T[] {
    const repairs = (error: T) => (error instanceof ReadinessTimeout ? error.repairs : 0);
    return [...errors].sort((a, b) => Number(repairs(b) > 0) - Number(repairs(a) > 0));
  }

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
      return `HTTP ${check.status}${check.header ? ` with ${check.header.name}: ${check.header.value}` : ''} from ${check.url}`;
    case 'ipvs-service':
      return `IPVS service ${check.service} with ${check.realServers} real server(s)`;
    case 'frr-config':
      return `FRR configured (${check.daemons.map((d) => `${d.daemon}: ${d.holds.length} settings`).join(', ')})`;
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
    /**
     * The timeout counts from when this settles (polling starts at once): a condition that needs
     * other nodes gets its full time once they all exist, however slowly they were created.
     */
    countFrom?: Promise<unknown>;
  },
): Promise<Observation> {
  const clock = options.clock ?? realClock;
  let deadline = options.countFrom ? Infinity : clock.now() + options.timeoutMs;
  void options.countFrom?.finally(() => (deadline = clock.now() + options.timeoutMs));
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
  options: {
    clock?: Clock;
    intervalMs?: number;
    signal?: AbortSignal;
    /** Told each time an observation's repair ran, with what it did and what came of it. */
    onRepair?: (message: string) => void;
    /** See pollUntil. */
    countFrom?: Promise<unknown>;
    /** How long one probe exec may take before it counts as "no answer". */
    probeTimeoutMs?: number;
  } = {},
): Promise<Observation> {
  let repairs = 0;
  let lastRepair = '';
  const probe = async (): Promise<Observation> => {
    const seen = await observe(runtime, container, check, options.probeTimeoutMs);
    if (seen.ok || !seen.repair) return seen;
    if (repairs >= MAX_REPAIRS) return { ...seen, seen: `${seen.seen}; ${lastRepair}` };
    repairs += 1;
    const result = await runtime.exec(container, seen.repair.cmd, { timeoutMs: 30_000 });
    const output = firstLine(result.stderr || result.stdout);
    lastRepair =
      `repaired ${repairs} of ${MAX_REPAIRS} times (${seen.repair.what}: \`${seen.repair.cmd.join(' ')}\` ` +
      `exited ${result.exitCode}${output ? `: ${output}` : ''})`;
    options.onRepair?.(`${seen.seen}; ${seen.repair.what} (attempt ${repairs} of ${MAX_REPAIRS})`);
    return { ...seen, seen: `${seen.seen}; ${lastRepair}` };
  };
  return pollUntil(probe, {
    timeoutMs: check.timeoutMs,
    intervalMs: options.intervalMs ?? 200,
    clock: options.clock,
    signal: options.signal,
    countFrom: options.countFrom,
    onTimeout: (lastSeen) => new ReadinessTimeout(check, lastSeen, repairs),
  });
}

/** One probe exec on the host engine; slower engines pass a longer one (see EngineTuning). */
export const PROBE_TIMEOUT_MS = 10_000;

export async function observe(
  runtime: ContainerRuntime,
  container: string,
  check: ReadinessCheck,
  probeTimeoutMs = PROBE_TIMEOUT_MS,
): Promise<Observation> {
  const run = async (cmd: string[]) => runtime.exec(container, cmd, { timeoutMs: probeTimeoutMs });
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
      const result = await run(['curl', '-s', '-o', '/dev/null', '-D', '-', '--max-time', '2', check.url]);
      return judgeHttpResponse(result.stdout, check.status, check.header);
    }
    case 'ipvs-service': {
      const result = await run(['ipvsadm', '-Ln']);
      if (result.exitCode !== 0) return { ok: false, seen: `ipvsadm failed: ${firstLine(result.stderr)}` };
      return judgeIpvsService(result.stdout, check.service, check.realServers);
    }
    case 'frr-config': {
      // One exec for every daemon: an exec is the expensive part on a slow engine.
      const result = await run([
        'sh',
        '-c',
        FRR_RUNNING_CONFIG_SCRIPT,
        'probe',
        ...check.daemons.map((d) => d.daemon),
      ]);
      return judgeFrrConfig(result.stdout, check.daemons);
    }
  }
}

const DAEMON_MARK = '@@lblab-daemon ';
const FAILED_MARK = '@@lblab-vtysh-failed ';

/** Each daemon's running config under a marker line; a daemon vtysh cannot reach gets a failure mark. */
const FRR_RUNNING_CONFIG_SCRIPT = `for daemon in "$@"; do
  echo "${DAEMON_MARK}$daemon"
  vtysh -d "$daemon" -c 'show running-config' 2>&1 || echo "${FAILED_MARK}$?"
done`;

/** The command that loads the integrated frr.conf into every running daemon, as FRR's boot does. */
export const FRR_LOAD_CONFIG = ['vtysh', '-b'];

/**
 * Judges FRR_RUNNING_CONFIG_SCRIPT's output: every daemon answers and holds every wanted line. A
 * daemon that answers without its settings missed the boot-time config load: the repair loads it.
 */
export function judgeFrrConfig(output: string, daemons: FrrDaemonConfig[]): Observation {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith(DAEMON_MARK)) {
      current = [];
      sections.set(line.slice(DAEMON_MARK.length).trim(), current);
    } else {
      current?.push(line.trim());
    }
  }
  const notAnswering: string[] = [];
  const lacking: string[] = [];
  for (const { daemon, holds } of daemons) {
    const lines = sections.get(daemon);
    if (!lines || lines.some((line) => line.startsWith(FAILED_MARK))) {
      notAnswering.push(daemon);
      continue;
    }
    const missing = holds.filter((wanted) => !lines.includes(wanted));
    if (missing.length > 0) lacking.push(`${daemon} lacks ${missing.map((m) => `"${m}"`).join(', ')}`);
  }
  if (notAnswering.length > 0) {
    return {
      ok: false,
      seen: `${notAnswering.join(', ')} not answering vtysh yet${lacking.length ? `; ${lacking.join('; ')}` : ''}`,
    };
  }
  if (lacking.length > 0) {
    return {
      ok: false,
      seen: lacking.join('; '),
      repair: { cmd: FRR_LOAD_CONFIG, what: 'loading /etc/frr/frr.conf into the daemons' },
    };
  }
  return { ok: true, seen: `configuration loaded in ${daemons.map((d) => d.daemon).join(', ')}` };
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

/** Judges the head of an HTTP response (`curl -D -`): the status and, if wanted, one header's value. */
export function judgeHttpResponse(
  head: string,
  status: number,
  header?: { name: string; value: string },
): Observation {
  const lines = head.split(/\r?\n/);
  const got = Number(/^HTTP\/\S+\s+(\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  if (got === 0) return { ok: false, seen: 'no answer' };
  if (got !== status) return { ok: false, seen: `HTTP ${got}` };
  if (!header) return { ok: true, seen: `HTTP ${got}` };
  const wanted = header.name.toLowerCase();
  const value = lines
    .map((line) => /^([^:]+):\s*(.*)$/.exec(line))
    .find((match) => match?.[1]?.trim().toLowerCase() === wanted)?.[2]
    ?.trim();
  return {
    ok: value === header.value,
    seen: `HTTP ${got}, ${header.name}: ${value ?? '(none)'}`,
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
