import { describe, expect, it } from 'vitest';
import {
  defaultGuestRootInputs,
  hashGuestRootInputs,
  type GuestRootInputs,
} from '../../src/sandbox/guest-root-hash.js';

const inputs: GuestRootInputs = defaultGuestRootInputs('6.1.176');

describe('hashGuestRootInputs', () => {
  it('is stable and short', () => {
    expect(hashGuestRootInputs(inputs)).toBe(hashGuestRootInputs(defaultGuestRootInputs('6.1.176')));
    expect(hashGuestRootInputs(inputs)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('does not depend on the package order', () => {
    expect(hashGuestRootInputs({ ...inputs, packages: [...inputs.packages].reverse() })).toBe(
      hashGuestRootInputs(inputs),
    );
  });

  it.each<[string, Partial<GuestRootInputs>]>([
    ['kernel version', { kernelVersion: '6.1.177' }],
    ['package list', { packages: [...inputs.packages, 'tcpdump'] }],
    ['suite', { suite: 'trixie' }],
    ['recipe revision', { recipeRevision: inputs.recipeRevision + 1 }],
  ])('changes with the %s', (_what, change) => {
    expect(hashGuestRootInputs({ ...inputs, ...change })).not.toBe(hashGuestRootInputs(inputs));
  });

  it('includes docker.io and ipvsadm by default', () => {
    expect(inputs.packages).toEqual(
      expect.arrayContaining(['docker.io', 'ipvsadm', 'iptables', 'busybox', 'kmod']),
    );
  });
});
