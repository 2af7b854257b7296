/**
 * Rendering a director's virtual services three ways: ipvsadm commands, a keepalived.conf, and the
 * nftables stand-in for kernels without IPVS. All three start from the same resolved service.
 */

export interface ResolvedRealServer {
  node: string;
  ip: string;
  mac: string;
  weight: number;
}

export interface ResolvedService {
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  scheduler: string;
  method: 'dr';
  persistence: number;
  healthCheck: { path: string; status: number; connectTimeout: number; delayLoop: number };
  realServers: ResolvedRealServer[];
}

const IPVSADM_PROTOCOL_FLAG = { tcp: '-t', udp: '-u' } as const;

export function serviceAddress(service: ResolvedService): string {
  return `${service.vip}:${service.port}`;
}

export function renderIpvsadmCommands(services: ResolvedService[]): string[] {
  const commands: string[] = [];
  for (const service of services) {
    const flag = IPVSADM_PROTOCOL_FLAG[service.protocol];
    const persistence = service.persistence > 0 ? ` -p ${service.persistence}` : '';
    commands.push(`ipvsadm -A ${flag} ${serviceAddress(service)} -s ${service.scheduler}${persistence}`);
    for (const rs of service.realServers) {
      // -g: gatewaying (direct routing); DR cannot remap ports, so the real server port is the VIP port.
      commands.push(
        `ipvsadm -a ${flag} ${serviceAddress(service)} -r ${rs.ip}:${service.port} -g -w ${rs.weight}`,
      );
    }
  }
  return commands;
}

export function renderKeepalivedConfig(routerId: string, services: ResolvedService[]): string {
  const lines = ['global_defs {', `  router_id ${routerId}`, '}', ''];
  for (const service of services) {
    lines.push(`virtual_server ${service.vip} ${service.port} {`);
    lines.push(`  delay_loop ${service.healthCheck.delayLoop}`);
    lines.push(`  lvs_sched ${service.scheduler}`);
    lines.push('  lvs_method DR');
    if (service.persistence > 0) lines.push(`  persistence_timeout ${service.persistence}`);
    lines.push(`  protocol ${service.protocol.toUpperCase()}`);
    for (const rs of service.realServers) {
      lines.push(`  real_server ${rs.ip} ${service.port} {`);
      lines.push(`    weight ${rs.weight}`);
      if (service.protocol === 'tcp') {
        lines.push('    HTTP_GET {');
        lines.push('      url {');
        lines.push(`        path ${service.healthCheck.path}`);
        lines.push(`        status_code ${service.healthCheck.status}`);
        lines.push('      }');
        lines.push(`      connect_timeout ${service.healthCheck.connectTimeout}`);
        lines.push('      retry 1');
        lines.push('      delay_before_retry 1');
        lines.push('    }');
      }
      lines.push('  }');
    }
    lines.push('}', '');
  }
  return lines.join('\n');
}

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
