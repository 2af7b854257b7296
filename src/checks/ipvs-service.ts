/** ipvs-service: a director's IPVS table has the virtual service with its real servers. */
import type { ReadinessCheck } from '../core/plan.js';
import { firstLine } from '../util/text.js';
import { defineCheckType, type Observation } from './check-type.js';

export interface IpvsServiceCheck extends ReadinessCheck {
  type: 'ipvs-service';
  /** `TCP 172.16.253.100:8080`, as ipvsadm -Ln lists it. */
  service: string;
  realServers: number;
}

export const ipvsServiceCheck = defineCheckType<IpvsServiceCheck>({
  type: 'ipvs-service',
  describe: (check) => `IPVS service ${check.service} with ${check.realServers} real server(s)`,
  async observe(probe, check) {
    const result = await probe(['ipvsadm', '-Ln']);
    if (result.exitCode !== 0) return { ok: false, seen: `ipvsadm failed: ${firstLine(result.stderr)}` };
    return judgeIpvsService(result.stdout, check.service, check.realServers);
  },
});

export function judgeIpvsService(listing: string, service: string, wanted: number): Observation {
  const [protocol = '', address = ''] = service.split(' ');
  let inService = false;
  let realServers = 0;
  let found = false;
  for (const line of listing.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === 'TCP' || fields[0] === 'UDP') {
      inService = fields[0] === protocol && fields[1] === address;
      found ||= inService;
    } else if (inService && fields[0] === '->' && fields[1] !== 'RemoteAddress:Port') {
      realServers += 1;
    }
  }
  if (!found) return { ok: false, seen: `no virtual service ${service}` };
  return { ok: realServers >= wanted, seen: `${realServers} of ${wanted} real server(s)` };
}
