import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BASE_GUEST_MODULES,
  DOCKER_IPTABLES_MODULES,
  defaultDockerdFlags,
  guestKernelModules,
  renderGuestInit,
  type GuestInitOptions,
} from '../../src/sandbox/guest-init.js';

const options: GuestInitOptions = {
  guestAddress: '198.51.100.2',
  prefixLength: 30,
  modules: guestKernelModules(false),
  dockerdFlags: defaultDockerdFlags(false),
};

function modprobeLine(script: string): string[] {
  const line = script.split('\n').find((text) => text.startsWith('modprobe -a '));
  if (line === undefined) throw new Error('no modprobe line');
  return line
    .replace(/ \|\|.*$/, '')
    .split(' ')
    .slice(2);
}

describe('renderGuestInit', () => {
  it('loads every requested module, IPVS and its schedulers among them, in one modprobe', () => {
    const loaded = modprobeLine(renderGuestInit(options));
    expect(loaded).toEqual([...BASE_GUEST_MODULES]);
    expect(loaded).toEqual(
      expect.arrayContaining(['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'overlay', 'veth']),
    );
  });

  it('adds the iptables modules, br_netfilter among them, only when dockerd manages iptables', () => {
    expect(modprobeLine(renderGuestInit(options))).not.toContain('br_netfilter');
    const withIptables = renderGuestInit({
      ...options,
      modules: guestKernelModules(true),
      dockerdFlags: defaultDockerdFlags(true),
    });
    expect(modprobeLine(withIptables)).toEqual([...BASE_GUEST_MODULES, ...DOCKER_IPTABLES_MODULES]);
    expect(withIptables).not.toContain('--iptables=false');
    expect(renderGuestInit(options)).toMatch(/^dockerd .*--iptables=false &$/m);
  });

  it('uses the legacy iptables, the only one the UML kernel supports, to fence off the API and halt ports', () => {
    const script = renderGuestInit(options);
    expect(script).toContain('iptables-legacy -A INPUT -p tcp --dport 2375 ! -i vec0 -j DROP');
    expect(script).toContain('iptables-legacy -A INPUT -p tcp --dport 2376 ! -i vec0 -j DROP');
    expect(script).not.toMatch(/^iptables /m);
  });

  it('puts the guest on its link address and has dockerd listen there only, without the TLS warning delay', () => {
    const script = renderGuestInit({ ...options, guestAddress: '198.51.100.6', dockerApiPort: 2400 });
    expect(script).toContain('ip addr add 198.51.100.6/30 dev vec0');
    expect(script).toMatch(/^dockerd --host=tcp:\/\/198\.51\.100\.6:2400 --tls=false /m);
    expect(script).not.toContain('0.0.0.0');
  });

  it('waits for the halt word on the halt port, then unmounts the Docker disk before powering off', () => {
    const script = renderGuestInit({ ...options, haltPort: 2999 });
    expect(script).toContain('busybox nc -l -p 2999');
    expect(script).toContain('= halt ]');
    const halting = script.slice(script.indexOf('say "halting"'));
    expect(halting.indexOf('umount -R /var/lib/docker')).toBeGreaterThan(
      halting.indexOf('stop_daemon "$dockerd_pid"'),
    );
    expect(halting.indexOf('poweroff -f')).toBeGreaterThan(halting.indexOf('umount -R /var/lib/docker'));
  });

  it('quotes dockerd flags for the shell', () => {
    const script = renderGuestInit({ ...options, dockerdFlags: ['--label=owner=lab one'] });
    expect(script).toContain(`'--label=owner=lab one'`);
  });

  it('renders a script that sh parses', () => {
    expect(() => execFileSync('sh', ['-n'], { input: renderGuestInit(options) })).not.toThrow();
  });
});
