/**
 * The renderers on their own: ipvsadm commands, keepalived.conf, the nftables DR ruleset, frr.conf,
 * and shellQuote, which is proven against a real POSIX shell rather than against its own idea of one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderFrrConfig, type OspfRender } from '../../src/kinds/frr.js';
import { renderIpvsadmCommands, renderKeepalivedConfig } from '../../src/kinds/lvs.js';
import type { ResolvedRealServer, ResolvedService } from '../../src/kinds/lvs-service.js';
import { renderNftablesDr } from '../../src/kinds/nftables-dr.js';
import { shellCommand, shellQuote } from '../../src/util/shell.js';

const MAC = {
  director: '02:00:00:00:00:01',
  rs1: '02:00:00:00:00:11',
  rs2: '02:00:00:00:00:12',
  rs3: '02:00:00:00:00:13',
};

function realServer(node: string, ip: string, mac: string, weight = 1, port = 80): ResolvedRealServer {
  return { node, ip, mac, port, weight };
}

function service(overrides: Partial<ResolvedService> = {}): ResolvedService {
  const port = overrides.port ?? 80;
  return {
    vip: '10.0.0.100',
    port,
    protocol: 'tcp',
    scheduler: 'rr',
    method: 'dr',
    persistence: 0,
    healthCheck: { path: '/', status: 200, connectTimeout: 3, delayLoop: 6 },
    realServers: [
      realServer('web1', '10.0.0.11', MAC.rs1, 1, port),
      realServer('web2', '10.0.0.12', MAC.rs2, 1, port),
    ],
    ...overrides,
  };
}

describe('renderIpvsadmCommands', () => {
  it('adds the virtual service, then each real server in DR mode (-g) with its weight', () => {
    expect(renderIpvsadmCommands([service()])).toEqual([
      'ipvsadm -A -t 10.0.0.100:80 -s rr',
      'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 1',
      'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.12:80 -g -w 1',
    ]);
  });

  it('passes the scheduler and the weights through', () => {
    const weighted = service({
      scheduler: 'wlc',
      realServers: [realServer('web1', '10.0.0.11', MAC.rs1, 3), realServer('web2', '10.0.0.12', MAC.rs2, 0)],
    });
    expect(renderIpvsadmCommands([weighted])).toEqual([
      'ipvsadm -A -t 10.0.0.100:80 -s wlc',
      'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 3',
      'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.12:80 -g -w 0',
    ]);
  });

  it('adds -p with a persistence timeout, and only then', () => {
    expect(renderIpvsadmCommands([service({ persistence: 300 })])[0]).toBe(
      'ipvsadm -A -t 10.0.0.100:80 -s rr -p 300',
    );
    expect(renderIpvsadmCommands([service({ persistence: 0 })])[0]).not.toContain('-p');
  });

  it('uses -u for a UDP service on both the service and its real servers', () => {
    expect(renderIpvsadmCommands([service({ protocol: 'udp', port: 53, scheduler: 'sh' })])).toEqual([
      'ipvsadm -A -u 10.0.0.100:53 -s sh',
      'ipvsadm -a -u 10.0.0.100:53 -r 10.0.0.11:53 -g -w 1',
      'ipvsadm -a -u 10.0.0.100:53 -r 10.0.0.12:53 -g -w 1',
    ]);
  });

  it('sends each real server to its own port in NAT mode (-m), which may differ from the service port', () => {
    const nat = service({
      method: 'nat',
      realServers: [
        realServer('web1', '10.0.0.11', MAC.rs1, 1, 8080),
        realServer('web2', '10.0.0.12', MAC.rs2, 2, 8081),
      ],
    });
    expect(renderIpvsadmCommands([nat])).toEqual([
      'ipvsadm -A -t 10.0.0.100:80 -s rr',
      'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.11:8080 -m -w 1',
      'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.12:8081 -m -w 2',
    ]);
  });

  it('renders services in order, each followed by its own real servers', () => {
    const commands = renderIpvsadmCommands([
      service({ port: 80, realServers: [realServer('web1', '10.0.0.11', MAC.rs1)] }),
      service({ port: 443, realServers: [realServer('web2', '10.0.0.12', MAC.rs2, 1, 443)] }),
    ]);
    expect(commands).toEqual([
      'ipvsadm -A -t 10.0.0.100:80 -s rr',
      'ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 1',
      'ipvsadm -A -t 10.0.0.100:443 -s rr',
      'ipvsadm -a -t 10.0.0.100:443 -r 10.0.0.12:443 -g -w 1',
    ]);
  });
});

describe('renderKeepalivedConfig', () => {
  const tuned = service({
    scheduler: 'wlc',
    persistence: 60,
    healthCheck: { path: '/healthz', status: 204, connectTimeout: 5, delayLoop: 10 },
    realServers: [realServer('web1', '10.0.0.11', MAC.rs1, 2)],
  });

  it('renders a DR virtual_server with an HTTP_GET check per real server', () => {
    expect(renderKeepalivedConfig('lb1', [tuned])).toMatchInlineSnapshot(`
      "global_defs {
        router_id lb1
      }

      virtual_server 10.0.0.100 80 {
        delay_loop 10
        alpha
        lvs_sched wlc
        lvs_method DR
        persistence_timeout 60
        protocol TCP
        real_server 10.0.0.11 80 {
          weight 2
          HTTP_GET {
            url {
              path /healthz
              status_code 204
            }
            connect_timeout 5
            retry 1
            delay_before_retry 1
          }
        }
      }
      "
    `);
  });

  it('takes each knob from the service', () => {
    const config = renderKeepalivedConfig('director-7', [tuned]);
    expect(config).toContain('  router_id director-7\n');
    expect(config).toContain('virtual_server 10.0.0.100 80 {\n');
    expect(config).toContain('  lvs_sched wlc\n');
    expect(config).toContain('  lvs_method DR\n');
    expect(config).toContain('  real_server 10.0.0.11 80 {\n');
    expect(config).toContain('        path /healthz\n        status_code 204\n');
    expect(config).toContain('      connect_timeout 5\n');
    expect(config).toContain('  delay_loop 10\n');
  });

  it('leaves out persistence_timeout when there is none', () => {
    expect(renderKeepalivedConfig('lb1', [service()])).not.toContain('persistence_timeout');
  });

  it('checks a UDP service with a datagram that must be answered, not with HTTP', () => {
    const config = renderKeepalivedConfig('lb1', [service({ protocol: 'udp', port: 53 })]);
    expect(config).toContain('  protocol UDP\n');
    expect(config).toContain('  real_server 10.0.0.12 53 {\n');
    expect(config).not.toContain('HTTP_GET');
    // "lblab\n" in hex; require_reply: a silent server counts as down, not only a refusing one.
    expect(config).toContain(
      '    UDP_CHECK {\n      connect_timeout 3\n      payload 6c626c61620a\n      require_reply\n',
    );
  });

  it('balances its braces for any number of services and real servers', () => {
    const config = renderKeepalivedConfig('lb1', [
      service(),
      service({ port: 443, protocol: 'udp' }),
      service({ port: 8080, realServers: [] }),
    ]);
    expect(config.split('{').length).toBe(config.split('}').length);
    expect(config.match(/^virtual_server /gm)).toHaveLength(3);
  });
});

describe('renderNftablesDr', () => {
  const ruleOf = (ruleset: string) => ruleset.split('\n').filter((line) => line.includes(' daddr set '));

  it('takes frames addressed to the director, rewrites the source MAC to it and the destination MAC by a 5-tuple hash', () => {
    const [rule] = ruleOf(renderNftablesDr('eth0', MAC.director, [service()]));
    expect(rule).toBe(
      `    ether daddr ${MAC.director} ip daddr 10.0.0.100 tcp dport 80 counter name "in_tcp_80" ` +
        `ether saddr set ${MAC.director} ` +
        'ether daddr set jhash ip saddr . tcp sport . ip daddr . tcp dport mod 2 ' +
        `map { 0 : ${MAC.rs1}, 1 : ${MAC.rs2} } ` +
        'fwd to "eth0"',
    );
  });

  it('repeats a real server once per unit of weight and skips weight 0', () => {
    const weighted = service({
      realServers: [
        realServer('web1', '10.0.0.11', MAC.rs1, 2),
        realServer('web2', '10.0.0.12', MAC.rs2, 0),
        realServer('web3', '10.0.0.13', MAC.rs3, 1),
      ],
    });
    const [rule] = ruleOf(renderNftablesDr('eth0', MAC.director, [weighted]));
    expect(rule).toContain(`mod 3 map { 0 : ${MAC.rs1}, 1 : ${MAC.rs1}, 2 : ${MAC.rs3} }`);
    expect(rule).not.toContain(MAC.rs2);
  });

  it('forwards out of the interface the traffic came in on', () => {
    const ruleset = renderNftablesDr('eth1', MAC.director, [service()]);
    expect(ruleset).toContain('  chain ingress_eth1 {\n');
    expect(ruleset).toContain('    type filter hook ingress device "eth1" priority 0; policy accept;\n');
    expect(ruleOf(ruleset)[0]).toMatch(/ fwd to "eth1"$/);
  });

  it('hashes on UDP ports for a UDP service', () => {
    const [rule] = ruleOf(renderNftablesDr('eth0', MAC.director, [service({ protocol: 'udp', port: 53 })]));
    expect(rule).toContain('ip daddr 10.0.0.100 udp dport 53 ');
    expect(rule).toContain('jhash ip saddr . udp sport . ip daddr . udp dport mod 2 ');
  });

  it('replaces its own table and nothing else, so loading it twice is safe', () => {
    const lines = renderNftablesDr('eth0', MAC.director, [service()]).split('\n');
    // Declaring the table first makes the delete succeed on the first load too.
    expect(lines.slice(0, 3)).toEqual([
      'table netdev lblab_dr',
      'delete table netdev lblab_dr',
      'table netdev lblab_dr {',
    ]);
    expect(lines.filter((line) => /^(table|delete|flush)\b/.test(line))).toHaveLength(3);
  });

  it('one rule per service', () => {
    const ruleset = renderNftablesDr('eth0', MAC.director, [service(), service({ port: 443 })]);
    expect(ruleOf(ruleset).map((rule) => rule.match(/tcp dport (\d+) /)?.[1])).toEqual(['80', '443']);
  });

  const nftChecks =
    spawnSync('nft', ['-c', '-f', '-'], { input: 'table netdev lblab_probe {}\n' }).status === 0;
  it.runIf(nftChecks)('is accepted by `nft -c` (check only, nothing is loaded)', () => {
    const ruleset = renderNftablesDr('lo', MAC.director, [
      service(),
      service({ protocol: 'udp', port: 53, realServers: [realServer('web3', '10.0.0.13', MAC.rs3, 3)] }),
    ]);
    const result = spawnSync('nft', ['-c', '-f', '-'], { input: ruleset, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('renderFrrConfig', () => {
  const ospf = (timers: OspfRender['timers']): OspfRender => ({
    hostname: 'lb1',
    routerId: '10.0.0.2',
    area: '0.0.0.0',
    networks: ['10.0.0.0/24', '10.0.0.100/32'],
    interfaces: [{ ifname: 'eth0' }, { ifname: 'eth1' }],
    timers,
  });

  it('fast: point-to-multipoint, sub-second dead interval, no SPF/LSA throttling', () => {
    expect(renderFrrConfig(ospf('fast'))).toMatchInlineSnapshot(`
      "frr defaults traditional
      hostname lb1
      log file /var/log/frr/frr.log informational
      no ipv6 forwarding
      !
      interface eth0
       ip ospf network point-to-multipoint
       ip ospf dead-interval minimal hello-multiplier 4
       ip ospf retransmit-interval 1
      !
      interface eth1
       ip ospf network point-to-multipoint
       ip ospf dead-interval minimal hello-multiplier 4
       ip ospf retransmit-interval 1
      !
      router ospf
       ospf router-id 10.0.0.2
       log-adjacency-changes detail
       timers throttle spf 0 0 0
       timers throttle lsa all 0
       timers lsa min-arrival 0
       network 10.0.0.0/24 area 0.0.0.0
       network 10.0.0.100/32 area 0.0.0.0
      !
      line vty
      !
      "
    `);
  });

  it("article: the course's hello 1 s / dead 4 s on a broadcast network, default throttles", () => {
    const config = renderFrrConfig(ospf('article'));
    expect(config).toContain('interface eth0\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n');
    expect(config).toContain('interface eth1\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n');
    expect(config).not.toContain('point-to-multipoint');
    expect(config).not.toContain('minimal');
    expect(config).not.toContain('timers throttle');
    expect(config).toContain(' network 10.0.0.100/32 area 0.0.0.0\n');
  });

  it('the two profiles differ only in timers', () => {
    const strip = (config: string) =>
      config
        .split('\n')
        .filter((line) => !/ip ospf (network|dead-interval|hello-interval)|timers /.test(line))
        .join('\n');
    expect(strip(renderFrrConfig(ospf('fast')))).toBe(strip(renderFrrConfig(ospf('article'))));
  });
});

describe('shellQuote against a real sh', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'lblab-quote-'));
  const canary = path.join(scratch, 'pwned');
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** What sh makes of `printf %s <quoted>`: exactly the word, if the quoting is right. */
  const roundTrip = (word: string) =>
    execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' });

  const HOSTILE = [
    "it's",
    "'",
    "''",
    "'\\''",
    '"double" quotes',
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `a; touch ${canary}`,
    `a && touch ${canary} || true`,
    `a | touch ${canary}`,
    `> ${canary}`,
    'line one\nline two\n',
    '\ttabs\tand  spaces ',
    '$HOME ${HOME} $0 $1 $@ $*',
    'back\\slash\\',
    'glob * ? [a-z] ~ ~root',
    '!history !! ^x',
    '#not a comment',
    '-n',
    '--',
    '%s %d %%',
    'ünïcödé €',
    '',
  ];

  it.each(HOSTILE.map((word) => [JSON.stringify(word), word]))('%s survives sh -c printf', (_label, word) => {
    expect(roundTrip(word)).toBe(word);
    expect(existsSync(canary)).toBe(false);
  });

  it('leaves plain words bare and quotes everything else', () => {
    expect(shellQuote('eth0')).toBe('eth0');
    expect(shellQuote('172.16.253.100/32')).toBe('172.16.253.100/32');
    expect(shellQuote('net.ipv4.ip_forward=1')).toBe('net.ipv4.ip_forward=1');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });

  it('shellCommand keeps every argument one word', () => {
    const argv = ['printf', '[%s]', "it's", '$(id)', 'a b', '', 'x\ny'];
    const output = execFileSync('sh', ['-c', shellCommand(argv)], { encoding: 'utf8' });
    expect(output).toBe("[it's][$(id)][a b][][x\ny]");
  });

  it('a script line built with it runs only the intended command', () => {
    const script = path.join(scratch, 'setup.sh');
    const value = `x'; touch ${canary}; echo '`;
    writeFileSync(script, `printf %s ${shellQuote(value)} > ${shellQuote(path.join(scratch, 'out'))}\n`);
    execFileSync('sh', [script]);
    expect(existsSync(canary)).toBe(false);
    expect(execFileSync('cat', [path.join(scratch, 'out')], { encoding: 'utf8' })).toBe(value);
  });
});
