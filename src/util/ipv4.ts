/** Small IPv4 arithmetic: enough for subnet membership, overlap and address allocation checks. */

export interface Cidr {
  network: number;
  prefixLength: number;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function parseCidr(cidr: string): Cidr {
  const [ip = '', length = '32'] = cidr.split('/');
  const prefixLength = Number(length);
  return { network: networkOf(ipToInt(ip), prefixLength), prefixLength };
}

export function networkOf(ip: number, prefixLength: number): number {
  const size = 2 ** (32 - prefixLength);
  return ip - (ip % size);
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefixLength);
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.network && ip < cidr.network + cidrSize(cidr);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.network < b.network + cidrSize(b) && b.network < a.network + cidrSize(a);
}

/** True when `cidr` has host bits set, e.g. 172.16.253.1/24. */
export function hasHostBits(cidr: string): boolean {
  const [ip = ''] = cidr.split('/');
  return parseCidr(cidr).network !== ipToInt(ip);
}

export function formatCidr(cidr: Cidr): string {
  return `${intToIp(cidr.network)}/${cidr.prefixLength}`;
}

/** `10.0.0.1:8080` -> host and port (the port as written: check it with isPort). */
export function splitHostPort(target: string): { host: string; port: number } {
  const colon = target.lastIndexOf(':');
  return { host: target.slice(0, colon), port: Number(target.slice(colon + 1)) };
}

export function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65_535;
}

/** The smallest prefix whose subnet holds `hosts` addresses besides network, broadcast and gateway. */
export function prefixForHosts(hosts: number): number {
  let prefixLength = 30;
  while (prefixLength > 8 && 2 ** (32 - prefixLength) - 3 < hosts) prefixLength -= 1;
  return prefixLength;
}

/** The first `count` `prefixLength` blocks of `pool` that overlap none of `taken` (fewer when it fills up). */
export function freeSubnets(pool: string, prefixLength: number, taken: string[], count: number): string[] {
  const range = parseCidr(pool);
  const used = taken.map(parseCidr);
  const step = 2 ** (32 - prefixLength);
  const end = range.network + cidrSize(range);
  const free: string[] = [];
  for (let network = range.network; network + step <= end && free.length < count; network += step) {
    const candidate = { network, prefixLength };
    if (!used.some((other) => cidrsOverlap(candidate, other))) free.push(formatCidr(candidate));
  }
  return free;
}
