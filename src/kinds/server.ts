/** server: an nginx real server for DR: the VIP on lo, ARP for it suppressed, X-Host identity. */
import { BASE_CAPABILITIES, type NodeKind } from './kind.js';
import { NGINX_ERROR_LOG, renderNginxConfig } from './nginx.js';

export const DEFAULT_HTTP_PORT = 8080;

/** Real servers in DR mode must own the VIP but never answer ARP for it (else they bypass the director). */
export const ARP_SUPPRESSION_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.conf.all.arp_ignore': '1',
  'net.ipv4.conf.lo.arp_ignore': '1',
  'net.ipv4.conf.all.arp_announce': '2',
  'net.ipv4.conf.lo.arp_announce': '2',
};

export const serverKind: NodeKind = {
  name: 'server',
  description: 'nginx real server answering with X-Host: <identity> and X-Remote-IP',
  keys: ['vip', 'http'],
  capabilities: BASE_CAPABILITIES,
  check: () => [],
  build(context) {
    const port = context.node.http?.port ?? DEFAULT_HTTP_PORT;
    const identity = context.node.http?.identity ?? context.name;
    const vip = context.node.vip;
    const setup = [];
    if (vip) setup.push({ summary: `VIP ${vip}/32 on lo`, commands: [`ip addr add ${vip}/32 dev lo`] });
    setup.push({ summary: `nginx on :${port} (X-Host: ${identity})`, commands: ['nginx'] });
    return {
      files: [{ path: '/etc/nginx/nginx.conf', content: renderNginxConfig({ port, identity }), mode: 0o644 }],
      setup,
      readiness: [
        {
          type: 'http',
          node: context.name,
          url: `http://127.0.0.1:${port}/`,
          status: 200,
          header: { name: 'X-Host', value: identity },
          timeoutMs: 20_000,
        },
      ],
      logs: [NGINX_ERROR_LOG],
      sysctls: vip ? { ...ARP_SUPPRESSION_SYSCTLS } : {},
      warnings: [],
    };
  },
};
