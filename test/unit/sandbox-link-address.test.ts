import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LINK_CIDR,
  linkCidrFromEnv,
  planLinkAddresses,
  type HostRoute,
} from '../../src/sandbox/link-address.js';

/** This machine's routes: its uplink is 192.0.2.0/24, Docker's bridge 172.17.0.0/16. */
const hostRoutes: HostRoute[] = [
  { dst: 'default', dev: 'eth0' },
  { dst: '172.17.0.0/16', dev: 'docker0' },
  { dst: '192.0.2.0/24', dev: 'eth0' },
  { dst: '127.0.0.0/8', dev: 'lo' },
  { dst: '192.0.2.2', dev: 'eth0' },
  { dst: 'fe80::/64', dev: 'eth0' },
];

describe('planLinkAddresses', () => {
  it('puts the host on the first address and the guest on the second', () => {
    expect(planLinkAddresses(DEFAULT_LINK_CIDR, hostRoutes)).toEqual({
      cidr: '198.51.100.0/30',
      hostAddress: '198.51.100.1',
      guestAddress: '198.51.100.2',
      prefixLength: 30,
    });
    expect(planLinkAddresses('10.200.0.8/29', []).guestAddress).toBe('10.200.0.10');
  });

  it('refuses a link inside a network the host routes, naming the route and a next range', () => {
    expect(() => planLinkAddresses('192.0.2.0/30', hostRoutes)).toThrow(
      /192\.0\.2\.0\/30 overlaps the host route 192\.0\.2\.0\/24 on eth0.*e\.g\. 192\.0\.2\.4\/30/,
    );
  });

  it('refuses a link that contains a host address or covers a routed network', () => {
    expect(() => planLinkAddresses('10.0.0.0/8', [{ dst: '10.1.2.3', dev: 'wg0' }])).toThrow(
      /10\.1\.2\.3 on wg0/,
    );
    expect(() => planLinkAddresses('172.16.0.0/12', hostRoutes)).toThrow(/172\.17\.0\.0\/16 on docker0/);
  });

  it('ignores the default route, IPv6 routes and routes on its own tap device', () => {
    const routes: HostRoute[] = [...hostRoutes, { dst: '198.51.100.0/30', dev: 'lblab-sandbox' }];
    expect(planLinkAddresses(DEFAULT_LINK_CIDR, routes, 'lblab-sandbox').guestAddress).toBe('198.51.100.2');
    expect(() => planLinkAddresses(DEFAULT_LINK_CIDR, routes, 'other-tap')).toThrow(/lblab-sandbox/);
  });

  it('refuses CIDRs that are malformed, too small, or have host bits set', () => {
    expect(() => planLinkAddresses('198.51.100.0', [])).toThrow(/not an IPv4 CIDR/);
    expect(() => planLinkAddresses('300.1.1.0/30', [])).toThrow(/not an IPv4 CIDR/);
    expect(() => planLinkAddresses('198.51.100.0/31', [])).toThrow(/between \/8 and \/30/);
    expect(() => planLinkAddresses('198.51.100.1/30', [])).toThrow(/did you mean 198\.51\.100\.0\/30/);
  });
});

describe('linkCidrFromEnv', () => {
  it('takes LBLAB_SANDBOX_LINK, else the documentation range', () => {
    expect(linkCidrFromEnv({ LBLAB_SANDBOX_LINK: '198.51.100.8/30' })).toBe('198.51.100.8/30');
    expect(linkCidrFromEnv({})).toBe(DEFAULT_LINK_CIDR);
  });
});
