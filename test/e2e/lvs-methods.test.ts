/**
 * The LVS method labs on a host engine without IPVS: NAT and DR pass their experiments on the
 * nftables stand-ins, and the labs that need IPVS (TUN, the schedulers) are refused before anything
 * is created. The same labs on the sandbox's real IPVS: lvs-methods-sandbox.test.ts.
 */
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerObjectsLabelled, lblab } from '../support/cli.js';
import { labFile, LONG, upAndVerify } from '../support/experiments.js';

const lab = labFile;
const hostHasIpvs = (await execa('sh', ['-c', 'test -e /proc/net/ip_vs'], { reject: false })).exitCode === 0;

describe.skipIf(hostHasIpvs)('LVS methods on a host engine without IPVS (nftables stand-ins)', () => {
  afterAll(async () => {
    for (const name of ['lvs-nat', 'lvs-dr']) await lblab(['down', lab(name), '--engine', 'docker']);
  }, 300_000);

  it(
    'NAT: the stateful stand-in passes the experiment, replies counted through the director',
    async () => {
      const json = await upAndVerify(lab('lvs-nat'), 'docker');
      expect(json.dataPlanes).toEqual({ lb: 'nftables' });
      const stats = json.verify.steps.find((s) => s.type === 'director-stats');
      expect(stats?.summary).toMatch(/out [1-9]\d* pkts, Masq \(nftables stand-in\)$/);
      // The UDP service: datagrams spread over both servers and their replies counted on the way back.
      const udp = json.verify.steps.filter((s) => s.type === 'udp-tally');
      expect(udp[0]?.tally?.values.map((v) => v.value).sort()).toEqual(['web1', 'web2']);
      const udpStats = json.verify.steps.filter((s) => s.type === 'director-stats')[1];
      expect(udpStats?.summary).toMatch(/^UDP :53, in [1-9]\d* pkts, out [1-9]\d* pkts, Masq/);
      expect((await lblab(['down', lab('lvs-nat'), '--engine', 'docker'])).exitCode).toBe(0);
    },
    LONG,
  );

  it(
    'DR: the stand-in forwards, no reply passes the director, and the VIP resolves to it',
    async () => {
      const json = await upAndVerify(lab('lvs-dr'), 'docker');
      expect(json.dataPlanes).toEqual({ lb: 'nftables' });
      const stats = json.verify.steps.find((s) => s.type === 'director-stats');
      expect(stats?.summary).toMatch(/in [1-9]\d* pkts, out 0 pkts, Route \(nftables stand-in\)$/);
      expect((await lblab(['down', lab('lvs-dr'), '--engine', 'docker'])).exitCode).toBe(0);
    },
    LONG,
  );

  it.each([
    ['lvs-schedulers', 'persistence needs IPVS'],
    ['lvs-tun', 'forwarding method "tun" has no nftables stand-in'],
  ])(
    '%s needs IPVS: refused before anything is created, pointing at the sandbox',
    async (name, why) => {
      const result = await lblab(['up', lab(name), '--engine', 'docker']);
      expect(result.exitCode).not.toBe(0);
      expect(String(result.stderr)).toContain(why);
      expect(String(result.stderr)).toContain('--engine sandbox');
      const left = await dockerObjectsLabelled(`lblab.lab=${name}`);
      expect(left.containers).toEqual([]);
      expect(left.networks).toEqual([]);
    },
    300_000,
  );
});
