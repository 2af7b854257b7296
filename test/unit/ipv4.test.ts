import { describe, expect, it } from 'vitest';
import { freeSubnets, prefixForHosts } from '../../src/util/ipv4.js';

describe('subnets for isolated networks', () => {
  it('sizes a subnet for its nodes plus network, broadcast and gateway', () => {
    expect(prefixForHosts(1)).toBe(30);
    expect(prefixForHosts(5)).toBe(29);
    expect(prefixForHosts(6)).toBe(28);
    expect(prefixForHosts(13)).toBe(28);
    expect(prefixForHosts(14)).toBe(27);
  });

  it('lists the first blocks of the pool that overlap nothing taken, none when it is full', () => {
    expect(freeSubnets('198.18.0.0/15', 28, [], 2)).toEqual(['198.18.0.0/28', '198.18.0.16/28']);
    expect(freeSubnets('198.18.0.0/15', 28, ['172.17.0.0/16', '198.18.0.0/28', '198.18.0.16/29'], 1)).toEqual(
      ['198.18.0.32/28'],
    );
    // A wide network elsewhere that covers the start of the pool pushes past it.
    expect(freeSubnets('198.18.0.0/15', 28, ['198.18.0.0/16'], 1)).toEqual(['198.19.0.0/28']);
    expect(freeSubnets('198.18.0.0/27', 28, ['198.18.0.0/28'], 5)).toEqual(['198.18.0.16/28']);
    expect(freeSubnets('198.18.0.0/27', 28, ['198.18.0.0/28', '198.18.0.16/28'], 5)).toEqual([]);
  });
});
