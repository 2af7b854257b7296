import type { ResolvedService } from './lvs-service.js';
import { standInCounterNames } from './nftables-nat.js';

/**
 * A stateless DR data plane in the netdev ingress hook: packets for VIP:port get the director's MAC
 * as source (else the host bridge learns the client's MAC on the director's port and loses replies)
 * and a real server's MAC as destination, chosen by a 5-tuple hash weighted by repeating entries,
 * then leave by the interface they came in on. Not IPVS: no connection table, no health checks.
 * Only frames addressed to the director count, as for IPVS: a bridge floods frames for a director
 * that is gone to every port, and the ingress hook sees them before the kernel would drop them.
 * Named counters per service stand in for IPVS's InPkts and OutPkts (replies from the VIP that reach
 * the director: none, in DR, unless a real server is misconfigured).
 */
export function renderNftablesDr(ifname: string, directorMac: string, services: ResolvedService[]): string {
  const counters = services.flatMap((service) => {
    const names = standInCounterNames(service);
    return [`  counter ${names.in} {`, '  }', `  counter ${names.out} {`, '  }'];
  });
  const replies = services.map(
    (service) =>
      `    ip saddr ${service.vip} ${service.protocol} sport ${service.port} counter name "${standInCounterNames(service).out}"`,
  );
  const rules = services.map((service) => {
    const slots = service.realServers.flatMap((rs) => Array<string>(Math.max(rs.weight, 0)).fill(rs.mac));
    const map = slots.map((mac, index) => `${index} : ${mac}`).join(', ');
    const l4 = service.protocol;
    return (
      `    ether daddr ${directorMac} ip daddr ${service.vip} ${l4} dport ${service.port} counter name "${standInCounterNames(service).in}" ` +
      `ether saddr set ${directorMac} ` +
      `ether daddr set jhash ip saddr . ${l4} sport . ip daddr . ${l4} dport mod ${slots.length} map { ${map} } ` +
      `fwd to "${ifname}"`
    );
  });
  return [
    'table netdev lblab_dr',
    'delete table netdev lblab_dr',
    'table netdev lblab_dr {',
    ...counters,
    `  chain ingress_${ifname} {`,
    `    type filter hook ingress device "${ifname}" priority 0; policy accept;`,
    ...replies,
    ...rules,
    '  }',
    '}',
    '',
  ].join('\n');
}
