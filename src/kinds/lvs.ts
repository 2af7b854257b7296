/**
 * Rendering a director's virtual services for IPVS: ipvsadm commands and a keepalived.conf (the
 * nftables stand-in for kernels without IPVS is the forwarding method's, see forwarding.ts). All
 * start from the same resolved service.
 */
import { forwardingMethod } from './forwarding.js';
import { serviceAddress, type ResolvedService } from './lvs-service.js';

const IPVSADM_PROTOCOL_FLAG = { tcp: '-t', udp: '-u' } as const;

export function renderIpvsadmCommands(services: ResolvedService[]): string[] {
  const commands: string[] = [];
  for (const service of services) {
    const flag = IPVSADM_PROTOCOL_FLAG[service.protocol];
    const method = forwardingMethod(service.method);
    const persistence = service.persistence > 0 ? ` -p ${service.persistence}` : '';
    commands.push(`ipvsadm -A ${flag} ${serviceAddress(service)} -s ${service.scheduler}${persistence}`);
    for (const rs of service.realServers) {
      commands.push(
        `ipvsadm -a ${flag} ${serviceAddress(service)} -r ${rs.ip}:${rs.port} ${method.ipvsadmFlag} -w ${rs.weight}`,
      );
    }
  }
  return commands;
}

const UDP_CHECK_PAYLOAD = Buffer.from('lblab\n').toString('hex');

export function renderKeepalivedConfig(routerId: string, services: ResolvedService[]): string {
  const lines = ['global_defs {', `  router_id ${routerId}`, '}', ''];
  for (const service of services) {
    lines.push(`virtual_server ${service.vip} ${service.port} {`);
    lines.push(`  delay_loop ${service.healthCheck.delayLoop}`);
    // Real servers start out of service and join on their first passed check, so "listed in IPVS"
    // means "checked and healthy": up's readiness waits for that, not for keepalived's optimistic start.
    lines.push('  alpha');
    lines.push(`  lvs_sched ${service.scheduler}`);
    lines.push(`  lvs_method ${forwardingMethod(service.method).keepalivedMethod}`);
    if (service.persistence > 0) lines.push(`  persistence_timeout ${service.persistence}`);
    lines.push(`  protocol ${service.protocol.toUpperCase()}`);
    for (const rs of service.realServers) {
      lines.push(`  real_server ${rs.ip} ${rs.port} {`);
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
      } else {
        // A datagram ("lblab\n" in hex) that must be answered: a closed port or a silent server is down.
        lines.push('    UDP_CHECK {');
        lines.push(`      connect_timeout ${service.healthCheck.connectTimeout}`);
        lines.push(`      payload ${UDP_CHECK_PAYLOAD}`);
        lines.push('      require_reply');
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
