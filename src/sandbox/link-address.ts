/**
 * The point-to-point link between the host and the sandbox guest: a small IPv4 network on a host tap
 * device, host on the first address, guest on the second. It must not overlap anything the host
 * already routes, or the host would send the guest's traffic elsewhere (or the guest would shadow a
 * real network).
 */
import { cidrsOverlap, formatCidr, hasHostBits, intToIp, parseCidr } from '../util/ipv4.js';

/** A documentation range (RFC 5737), so it never belongs to a real network. */
export const DEFAULT_LINK_CIDR = '198.51.100.0/30';
export const LINK_CIDR_ENV = 'LBLAB_SANDBOX_LINK';

/** One row of `ip -j route show table all`; `dst` is "default", a CIDR, or a bare address. */
export interface HostRoute {
  dst: string;
  dev?: string;
}

export interface LinkAddresses {
  cidr: string;
  hostAddress: string;
  guestAddress: string;
  prefixLength: number;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
/** The guest needs two addresses besides the network and broadcast ones. */
const LONGEST_PREFIX = 30;
const SHORTEST_PREFIX = 8;

export function linkCidrFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env[LINK_CIDR_ENV] || DEFAULT_LINK_CIDR;
}

/**
 * Host and guest addresses for `cidr`, refusing a CIDR that overlaps one of `hostRoutes`. Routes on
 * `ownDevice` (the sandbox's own tap, when it is being replaced) do not count.
 */
export function planLinkAddresses(
  cidr: string,
  hostRoutes: readonly HostRoute[],
  ownDevice?: string,
): LinkAddresses {
  validateLinkCidr(cidr);
  const link = parseCidr(cidr);
  for (const route of hostRoutes) {
    if (route.dev !== undefined && route.dev === ownDevice) continue;
    const routed = routePrefix(route.dst);
    if (routed === undefined || !cidrsOverlap(link, parseCidr(routed))) continue;
    const where = route.dev === undefined ? '' : ` on ${route.dev}`;
    throw new Error(
      `the sandbox link ${cidr} overlaps the host route ${route.dst}${where}; ` +
        `choose a free range with --link or ${LINK_CIDR_ENV}, e.g. ${suggestNextLink(cidr)}`,
    );
  }
  return {
    cidr: formatCidr(link),
    hostAddress: intToIp(link.network + 1),
    guestAddress: intToIp(link.network + 2),
    prefixLength: link.prefixLength,
  };
}

function validateLinkCidr(cidr: string): void {
  const match = IPV4_CIDR.exec(cidr);
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const prefixLength = Number(match?.[5]);
  if (!match || octets.some((octet) => octet > 255)) {
    throw new Error(`the sandbox link "${cidr}" is not an IPv4 CIDR like ${DEFAULT_LINK_CIDR}`);
  }
  if (prefixLength < SHORTEST_PREFIX || prefixLength > LONGEST_PREFIX) {
    throw new Error(
      `the sandbox link ${cidr} needs a prefix length between /${SHORTEST_PREFIX} and /${LONGEST_PREFIX} ` +
        '(two usable addresses: host and guest)',
    );
  }
  if (hasHostBits(cidr)) {
    throw new Error(
      `the sandbox link ${cidr} has host bits set; did you mean ${formatCidr(parseCidr(cidr))}?`,
    );
  }
}

/** The IPv4 prefix a route covers; undefined for the default route (it overlaps everything) and IPv6. */
function routePrefix(dst: string): string | undefined {
  if (dst === 'default' || dst.includes(':')) return undefined;
  return dst.includes('/') ? dst : `${dst}/32`;
}

function suggestNextLink(cidr: string): string {
  const link = parseCidr(cidr);
  return formatCidr({
    network: link.network + 2 ** (32 - link.prefixLength),
    prefixLength: link.prefixLength,
  });
}
