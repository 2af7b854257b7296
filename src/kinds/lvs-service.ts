/** A director's virtual service with everything resolved: what every renderer starts from. */

export interface ResolvedRealServer {
  node: string;
  ip: string;
  mac: string;
  /** Where the real server listens: the service port, unless the method remaps ports (NAT). */
  port: number;
  weight: number;
}

export interface ResolvedService {
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  scheduler: string;
  /** The forwarding method's name (kinds/forwarding.ts). */
  method: string;
  persistence: number;
  healthCheck: { path: string; status: number; connectTimeout: number; delayLoop: number };
  realServers: ResolvedRealServer[];
}

export function serviceAddress(service: ResolvedService): string {
  return `${service.vip}:${service.port}`;
}
