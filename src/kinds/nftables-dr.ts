import type { ResolvedService } from './lvs-service.js';

/**
 * A stateless DR data plane in the netdev ingress hook: packets for VIP:port get the director's MAC
 * as source (else the host bridge learns the client's MAC on the director's port and loses replies)
 * and a real server's MAC as destination, chosen by a 5-tuple hash weighted by repeating entries,
 * then leave by the interface they came in on. Not IPVS: no connection table, no health checks.
 */
export function renderNftablesDr(ifname: string, directorMac: string, services: ResolvedService[]): string {
  const rules = services.map((service) => {
    const slots = service.realServers.flatMap((rs) => Array<string>(Math.max(rs.weight, 0)).fill(rs.mac));
    const map = slots.map((mac, index) => `${index} : ${mac}`).join(', ');
    const l4 = service.protocol;
    return (
      `    ip daddr ${service.vip} ${l4} dport ${service.port} ether saddr set ${directorMac} ` +
      `ether daddr set jhash ip saddr . ${l4} sport . ip daddr . ${l4} dport mod ${slots.length} map { ${map} } ` +
      `fwd to "${ifname}"`
    );
  });
  return [
    'table netdev lblab_dr',
    'delete table netdev lblab_dr',
    'table netdev lblab_dr {',
    `  chain ingress_${ifname} {`,
    `    type filter hook ingress device "${ifname}" priority 0; policy accept;`,
    ...rules,
    '  }',
    '}',
    '',
  ].join('\n');
}
