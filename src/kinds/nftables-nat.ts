import type { ResolvedRealServer, ResolvedService } from './lvs-service.js';

/**
 * A stateful NAT data plane for kernels without IPVS: the first packet of each connection to VIP:port
 * is DNATed to a real server (and its port), conntrack rewrites the rest of the connection and its
 * replies, which come back through the director because it is the real servers' gateway. rr and wrr
 * are exact (a counter over weighted slots), sh and dh hash the source or destination address. Named
 * counters per service stand in for IPVS's InPkts/OutPkts (see the director-stats step).
 */
export function renderNftablesNat(services: ResolvedService[]): string {
  const counters: string[] = [];
  const counted: string[] = [];
  const replies: string[] = [];
  const dnat: string[] = [];
  for (const service of services) {
    const l4 = service.protocol;
    const match = `ip daddr ${service.vip} ${l4} dport ${service.port}`;
    const names = standInCounterNames(service);
    counters.push(`  counter ${names.in} {`, '  }', `  counter ${names.out} {`, '  }');
    counted.push(`    ${match} counter name "${names.in}"`);
    replies.push(
      `    meta l4proto ${l4} ct direction reply ct status dnat ct original ip daddr ${service.vip} ` +
        `ct original proto-dst ${service.port} counter name "${names.out}"`,
    );
    const slots = slotsOf(service);
    const choice =
      service.scheduler === 'sh'
        ? `jhash ip saddr mod ${slots.length}`
        : service.scheduler === 'dh'
          ? `jhash ip daddr mod ${slots.length}`
          : `numgen inc mod ${slots.length}`;
    const map = slots.map((rs, index) => `${index} : ${rs.ip} . ${rs.port}`).join(', ');
    dnat.push(`    ${match} dnat ip to ${choice} map { ${map} }`);
  }
  return [
    'table ip lblab_nat',
    'delete table ip lblab_nat',
    'table ip lblab_nat {',
    ...counters,
    '  chain count_requests {',
    // Before DNAT rewrites the destination, so every packet to the VIP is counted (IPVS's InPkts).
    '    type filter hook prerouting priority mangle; policy accept;',
    ...counted,
    '  }',
    '  chain pick_real_server {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...dnat,
    '  }',
    '  chain count_replies {',
    '    type filter hook forward priority filter; policy accept;',
    ...replies,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The stand-ins' named counters for a service (DR's and NAT's): packets to the VIP, and replies through the director. */
export function standInCounterNames(service: Pick<ResolvedService, 'protocol' | 'port'>): {
  in: string;
  out: string;
} {
  return { in: `in_${service.protocol}_${service.port}`, out: `out_${service.protocol}_${service.port}` };
}

/** Weighted slots: a real server appears once per unit of weight (rr: once each, weight 0 never). */
function slotsOf(service: ResolvedService): ResolvedRealServer[] {
  const live = service.realServers.filter((rs) => rs.weight > 0);
  if (service.scheduler === 'rr') return live;
  // 300:200:100 needs the same slots as 3:2:1.
  const divisor = live.reduce((g, rs) => gcd(g, rs.weight), 0) || 1;
  return live.flatMap((rs) => Array<ResolvedRealServer>(rs.weight / divisor).fill(rs));
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Schedulers the stand-in reproduces; the others need IPVS's per-connection state. */
const STAND_IN_SCHEDULERS = new Set(['rr', 'wrr', 'sh', 'dh']);

export function natStandInCannot(
  service: Pick<ResolvedService, 'scheduler' | 'persistence'>,
): string | undefined {
  if (!STAND_IN_SCHEDULERS.has(service.scheduler)) {
    return `scheduler "${service.scheduler}" counts each real server's connections, which only IPVS keeps`;
  }
  if (service.persistence > 0) return "persistence needs IPVS's persistent connection templates";
  return undefined;
}
