/**
 * server: an nginx real server with an X-Host identity; what it needs to take a director's traffic
 * (for DR: the VIP on lo, ARP for it suppressed) is its forwarding method's.
 */
import { KIND_TRAIT } from '../core/kind-traits.js';
import { forwardingMethod } from './forwarding.js';
import { BASE_CAPABILITIES, type KindContext, type NodeKind } from './kind.js';
import { NGINX_ERROR_LOG, renderNginxConfig } from './nginx.js';

export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_UDP_PORT = 8053;

export const serverKind: NodeKind = {
  name: 'server',
  description: 'nginx real server answering with X-Host: <identity> and X-Remote-IP',
  keys: ['vip', 'http', 'udp'],
  capabilities: BASE_CAPABILITIES,
  traits: [KIND_TRAIT.realServer],
  ownConfigs: ['nginx'],
  check: () => [],
  build(context) {
    const port = context.node.http?.port ?? DEFAULT_HTTP_PORT;
    const identity = context.node.http?.identity ?? context.name;
    const udpPort = context.node.udp ? (context.node.udp.port ?? DEFAULT_UDP_PORT) : undefined;
    const served = servingDirector(context);
    const method = forwardingMethod(served?.method);
    const realServer = method.realServer({
      vip: context.node.vip,
      directorIp: served?.directorIp,
      ifnames: context.interfaces.map((iface) => iface.ifname),
    });
    const setup = [
      ...realServer.setup,
      {
        summary: `nginx on :${port}${udpPort !== undefined ? ` and UDP :${udpPort}` : ''} (X-Host: ${identity})`,
        commands: ['nginx'],
        daemons: ['nginx'],
      },
    ];
    return {
      files: [
        {
          path: '/etc/nginx/nginx.conf',
          content:
            context.ownConfig('nginx') ??
            renderNginxConfig({ port, identity, ...(udpPort !== undefined && { udpPort }) }),
          mode: 0o644,
        },
      ],
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
        ...(udpPort !== undefined
          ? [
              {
                type: 'udp',
                node: context.name,
                host: '127.0.0.1',
                port: udpPort,
                header: { name: 'X-Host', value: identity },
                timeoutMs: 20_000,
              },
            ]
          : []),
      ],
      logs: [NGINX_ERROR_LOG],
      sysctls: realServer.sysctls,
      ...(served && method.realServerKernel.length > 0 ? { kernel: [...method.realServerKernel] } : {}),
      warnings: [],
    };
  },
};

/**
 * The first director service that names this server: its forwarding method, and the director's
 * address on a network they share (NAT's gateway). Undefined when no director names it.
 */
function servingDirector(
  context: KindContext,
): { method: string | undefined; directorIp: string | undefined } | undefined {
  const mine = new Set(context.interfaces.map((iface) => iface.network));
  for (const [directorName, director] of context.nodesWith(KIND_TRAIT.director)) {
    const service = director.services?.find((s) => s['real-servers'].some((rs) => rs.node === context.name));
    if (!service) continue;
    const shared = context.interfacesOf(directorName).find((iface) => mine.has(iface.network));
    return { method: service.method, directorIp: shared?.ip };
  }
  return undefined;
}
