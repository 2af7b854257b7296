/**
 * Each LVS method's lab proves its defining behaviour: on real IPVS in the sandbox (NAT with both
 * keepalived and ipvsadm directors, single-director DR, the schedulers) and, where an honest stand-in
 * exists, on a host engine without IPVS. ipvsadm's Forward column names the method.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunSandbox } from '../../src/sandbox/index.js';
import { lblab } from '../support/cli.js';
import { labFile, LONG, upAndVerify, type UpJson } from '../support/experiments.js';

const lab = labFile;
const prerequisites = await canRunSandbox();

const scratch = mkdtempSync(path.join(tmpdir(), 'lblab-lvs-methods-'));
/** lvs-nat.yml with plain ipvsadm commands instead of keepalived (the lab keeps its name). */
const natIpvsadm = path.join(scratch, 'lvs-nat-ipvsadm.yml');
writeFileSync(natIpvsadm, readFileSync(lab('lvs-nat'), 'utf8').replace('lvs: keepalived', 'lvs: ipvsadm'));
/** lvs-tun.yml with ipvsadm (-i) instead of keepalived. */
const tunIpvsadm = path.join(scratch, 'lvs-tun-ipvsadm.yml');
writeFileSync(tunIpvsadm, readFileSync(lab('lvs-tun'), 'utf8').replace('lvs: keepalived', 'lvs: ipvsadm'));

async function forwardColumn(topology: string, engine: string): Promise<string> {
  const result = await lblab(['exec', topology, 'lb', '--engine', engine, '--', 'ipvsadm', '-L', '-n']);
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return String(result.stdout);
}

/** Runs `body` with the lab up and always takes it down after, so a failure never blocks the next lab. */
async function withLab(topology: string, body: (json: UpJson) => Promise<void>): Promise<void> {
  try {
    await body(await upAndVerify(topology, 'sandbox'));
  } finally {
    const down = await lblab(['down', topology, '--engine', 'sandbox']);
    expect(down.exitCode, String(down.stderr)).toBe(0);
  }
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!prerequisites.ok)('LVS methods on real IPVS (sandbox)', () => {
  const labs = ['lvs-nat', 'lvs-dr', 'lvs-tun', 'lvs-schedulers', 'own-config/lvs-dr'];
  beforeAll(async () => {
    for (const name of labs) await lblab(['down', lab(name), '--engine', 'sandbox']);
  }, 300_000);
  afterAll(async () => {
    for (const name of labs) await lblab(['down', lab(name), '--engine', 'sandbox']);
    await lblab(['engine', 'stop']);
  }, 300_000);

  it(
    'NAT with keepalived: spread, client address kept, replies through the director, the gateway matters',
    () =>
      withLab(lab('lvs-nat'), async (json) => {
        expect(json.engine).toBe('sandbox');
        expect(json.dataPlanes).toEqual({ lb: 'ipvs' });
        const stats = json.verify.steps.find((s) => s.type === 'director-stats');
        expect(stats?.summary).toMatch(/out [1-9]\d* pkts, Masq$/);
        const list = await forwardColumn(lab('lvs-nat'), 'sandbox');
        expect(list).toMatch(/->\s+10\.77\.2\.131:8080\s+Masq\s+1\b/);
        // ipvsadm -u: the UDP service, its replies back through the director (keepalived's UDP_CHECK kept both).
        expect(list).toMatch(/UDP\s+10\.77\.1\.100:53 rr/);
        expect(list).toMatch(/->\s+10\.77\.2\.131:8053\s+Masq\s+1\b/);
        const udpStats = json.verify.steps.filter((s) => s.type === 'director-stats')[1];
        expect(udpStats?.summary).toMatch(
          /^UDP :53, [1-9]\d* conns, in [1-9]\d* pkts, out [1-9]\d* pkts, Masq$/,
        );
        const keepalived = await lblab([
          'exec',
          lab('lvs-nat'),
          'lb',
          '--engine',
          'sandbox',
          '--',
          'pgrep',
          '-x',
          'keepalived',
        ]);
        expect(keepalived.exitCode).toBe(0);
      }),
    LONG,
  );

  it(
    'NAT with ipvsadm (-m) passes the same experiment',
    () =>
      withLab(natIpvsadm, async (json) => {
        expect(json.dataPlanes).toEqual({ lb: 'ipvs' });
        const list = await forwardColumn(natIpvsadm, 'sandbox');
        expect(list).toMatch(/TCP\s+10\.77\.1\.100:80 rr/);
        expect(list).toMatch(/->\s+10\.77\.2\.132:8080\s+Masq\s+1\b/);
        expect(list).toMatch(/->\s+10\.77\.2\.132:8053\s+Masq\s+1\b/);
        const keepalived = await lblab([
          'exec',
          natIpvsadm,
          'lb',
          '--engine',
          'sandbox',
          '--',
          'pgrep',
          '-x',
          'keepalived',
        ]);
        expect(keepalived.exitCode).not.toBe(0);
      }),
    LONG,
  );

  it(
    'DR with one director: OutPkts stays 0 and the client resolves the VIP to the director',
    () =>
      withLab(lab('lvs-dr'), async (json) => {
        expect(json.dataPlanes).toEqual({ lb: 'ipvs' });
        const stats = json.verify.steps.find((s) => s.type === 'director-stats');
        expect(stats?.summary).toMatch(/in [1-9]\d* pkts, out 0 pkts, Route$/);
        expect(json.verify.steps.find((s) => s.type === 'neighbor')?.summary).toMatch(/\(lb\)$/);
        expect(await forwardColumn(lab('lvs-dr'), 'sandbox')).toMatch(
          /->\s+10\.78\.0\.131:8080\s+Route\s+1\b/,
        );
      }),
    LONG,
  );

  it(
    'TUN with keepalived: IPIP across a router to real servers in the guest, MTU 1480, replies bypass the director',
    () =>
      withLab(lab('lvs-tun'), async (json) => {
        expect(json.dataPlanes).toEqual({ lb: 'ipvs' });
        const stats = json.verify.steps.find((s) => s.type === 'director-stats');
        expect(stats?.summary).toMatch(/in [1-9]\d* pkts, out 0 pkts, Tunnel$/);
        expect(await forwardColumn(lab('lvs-tun'), 'sandbox')).toMatch(
          /->\s+10\.80\.2\.131:8080\s+Tunnel\s+1\b/,
        );
        const mtu = await lblab([
          'exec',
          lab('lvs-tun'),
          'web2',
          '--engine',
          'sandbox',
          '--',
          'cat',
          '/sys/class/net/eth0/mtu',
        ]);
        expect(String(mtu.stdout).trim()).toBe('1480');
      }),
    LONG,
  );

  it(
    'TUN with ipvsadm (-i) passes the same experiment',
    () =>
      withLab(tunIpvsadm, async () => {
        expect(await forwardColumn(tunIpvsadm, 'sandbox')).toMatch(/->\s+10\.80\.2\.132:8080\s+Tunnel\s+1\b/);
      }),
    LONG,
  );

  it(
    "the course's own keepalived.conf and nginx.conf run the DR lab on IPVS",
    () =>
      withLab(lab('own-config/lvs-dr'), async () => {
        const ownConfig = lab('own-config/lvs-dr');
        const conf = await lblab([
          'exec',
          ownConfig,
          'lb',
          '--engine',
          'sandbox',
          '--',
          'cat',
          '/etc/keepalived/keepalived.conf',
        ]);
        expect(String(conf.stdout)).toContain('router_id LVS_DR_COURSE');
        const answer = await lblab([
          'exec',
          ownConfig,
          'client',
          '--engine',
          'sandbox',
          '--',
          'curl',
          '-s',
          'http://10.78.0.100:8080/',
        ]);
        expect(String(answer.stdout)).toMatch(/^served by web[12] with the course's own nginx\.conf$/m);
        expect(await forwardColumn(ownConfig, 'sandbox')).toMatch(/->\s+10\.78\.0\.131:8080\s+Route\s+1\b/);
      }),
    LONG,
  );

  it(
    'schedulers: rr thirds, wrr 3:2:1 within 5 points, sh and persistence keep each source on one server, lc avoids the loaded server',
    () =>
      withLab(lab('lvs-schedulers'), async (json) => {
        const list = await forwardColumn(lab('lvs-schedulers'), 'sandbox');
        expect(list).toMatch(/TCP\s+10\.79\.1\.100:8082 wrr/);
        expect(list).toMatch(/TCP\s+10\.79\.1\.100:8083 sh/);
        expect(list).toMatch(/TCP\s+10\.79\.1\.100:8084 rr persistent 300/);
        expect(list).toMatch(/->\s+10\.79\.2\.131:8080\s+Masq\s+3\b/);
        expect(list).toMatch(/TCP\s+10\.79\.1\.100:8085 lc/);
        const tallies = json.verify.steps.filter((s) => s.type === 'http-tally');
        expect(tallies).toHaveLength(6);
        // lc: web1 held four open connections, so not one of the new ones went to it.
        const lc = tallies[5]?.tally;
        expect(lc?.values.map((v) => v.value).sort()).toEqual(['web2', 'web3']);
        expect(lc?.answered).toBe(60);
      }),
    LONG,
  );
});
