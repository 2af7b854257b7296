/**
 * A director's forwarding counters, read the same way whichever data plane forwards: IPVS's
 * `ipvsadm -L -n --stats --exact` and `ipvsadm -L -n` (the Forward column), or the nftables
 * stand-in's named counters (`nft -j list counters`). Pure parsing and judging; the director-stats
 * step runs the commands.
 */

/** One virtual service as its director counts it. */
export interface ServiceCounters {
  protocol: 'tcp' | 'udp';
  vip: string;
  port: number;
  /** Connections scheduled (IPVS only: the stand-in keeps no connection table). */
  connections?: number;
  inPackets: number;
  outPackets: number;
  /** Each real server's Forward column (Route, Masq, Tunnel, Local); the stand-in's method instead. */
  forwards: { address: string; forward: string }[];
  /** Entries in IPVS's connection table now (ActiveConn + InActConn over the real servers). */
  tracked?: number;
}

const SERVICE_LINE = /^(TCP|UDP)\s+(\d+\.\d+\.\d+\.\d+):(\d+)\b(.*)$/;
const REAL_SERVER_LINE = /^\s+->\s+(\d+\.\d+\.\d+\.\d+:\d+)\s+(.*)$/;

/** `ipvsadm -L -n --stats --exact`, then `ipvsadm -L -n`, as one text split by a line `---`. */
export function parseIpvsadm(text: string): ServiceCounters[] {
  const [statsText = '', listText = ''] = text.split(/^---$/m);
  const services = new Map<string, ServiceCounters>();
  for (const line of statsText.split('\n')) {
    const match = SERVICE_LINE.exec(line);
    if (!match) continue;
    const [conns, inPkts, outPkts] = (match[4] ?? '').trim().split(/\s+/).map(Number);
    const service: ServiceCounters = {
      protocol: (match[1] as string).toLowerCase() as 'tcp' | 'udp',
      vip: match[2] as string,
      port: Number(match[3]),
      connections: conns ?? 0,
      inPackets: inPkts ?? 0,
      outPackets: outPkts ?? 0,
      forwards: [],
    };
    services.set(serviceKey(service), service);
  }
  let current: ServiceCounters | undefined;
  for (const line of listText.split('\n')) {
    const serviceMatch = SERVICE_LINE.exec(line);
    if (serviceMatch) {
      current = services.get(
        `${(serviceMatch[1] as string).toLowerCase()} ${serviceMatch[2] as string}:${serviceMatch[3] as string}`,
      );
      continue;
    }
    const rsMatch = REAL_SERVER_LINE.exec(line);
    if (rsMatch && current) {
      const [forward = '', , active, inactive] = (rsMatch[2] ?? '').trim().split(/\s+/);
      current.forwards.push({ address: rsMatch[1] as string, forward });
      current.tracked = (current.tracked ?? 0) + (Number(active) || 0) + (Number(inactive) || 0);
    }
  }
  return [...services.values()];
}

/** The stand-in's counters (`in_tcp_80`, `out_tcp_80`) from `nft -j list counters`, per service. */
export function parseNftCounters(json: string, forward: string): ServiceCounters[] {
  const parsed = JSON.parse(json) as { nftables?: { counter?: { name: string; packets: number } }[] };
  const byName = new Map<string, number>();
  for (const item of parsed.nftables ?? []) {
    if (item.counter) byName.set(item.counter.name, item.counter.packets);
  }
  const services: ServiceCounters[] = [];
  for (const [name, packets] of byName) {
    const match = /^in_(tcp|udp)_(\d+)$/.exec(name);
    if (!match) continue;
    const protocol = match[1] as 'tcp' | 'udp';
    services.push({
      protocol,
      vip: '',
      port: Number(match[2]),
      inPackets: packets,
      outPackets: byName.get(`out_${protocol}_${match[2] as string}`) ?? 0,
      forwards: [{ address: '*', forward }],
    });
  }
  return services;
}

/**
 * IPVS publishes its counters from an estimator that runs every 2 s (a slow or loaded machine may
 * run it later), so a reading taken right after traffic can still show the counts from before it.
 * A reading is settled when it equals one taken at least one estimator period earlier and counts at
 * least the connections IPVS holds in its table right now.
 */
export const IPVS_ESTIMATOR_PERIOD_MS = 2_000;

export function countersSettled(earlier: ServiceCounters | undefined, now: ServiceCounters): boolean {
  if (earlier === undefined) return false;
  const same =
    earlier.connections === now.connections &&
    earlier.inPackets === now.inPackets &&
    earlier.outPackets === now.outPackets;
  return same && (now.connections ?? 0) >= (now.tracked ?? 0);
}

function serviceKey(service: Pick<ServiceCounters, 'protocol' | 'vip' | 'port'>): string {
  return `${service.protocol} ${service.vip}:${service.port}`;
}

/** A count expectation: `0`, `5`, `">0"`, `">= 10"`, `"<3"`, `"<=3"`. */
export interface CountExpectation {
  op: '=' | '>' | '>=' | '<' | '<=';
  value: number;
}

export function parseCount(raw: number | string): CountExpectation {
  if (typeof raw === 'number') return { op: '=', value: raw };
  const match = /^\s*(>=|<=|>|<|=)?\s*(\d+)\s*$/.exec(raw);
  if (!match) throw new Error(`invalid count "${raw}" (expected N, ">N", ">=N", "<N" or "<=N")`);
  return { op: (match[1] ?? '=') as CountExpectation['op'], value: Number(match[2]) };
}

export function formatCount(expectation: CountExpectation): string {
  return expectation.op === '=' ? String(expectation.value) : `${expectation.op} ${expectation.value}`;
}

export function countHolds(expectation: CountExpectation, seen: number): boolean {
  switch (expectation.op) {
    case '=':
      return seen === expectation.value;
    case '>':
      return seen > expectation.value;
    case '>=':
      return seen >= expectation.value;
    case '<':
      return seen < expectation.value;
    case '<=':
      return seen <= expectation.value;
  }
}
