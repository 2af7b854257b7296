/**
 * server: an nginx real server with an X-Host identity; what it needs to take a director's traffic
 * (for DR: the VIP on lo, ARP for it suppressed) is its forwarding method's.
 */
import { KIND_TRAIT } from '../core/kind-traits.js';
import { forwardingMethod } from './forwarding.js';
import { BASE_CAPABILITIES, type KindContext, type NodeKind } from './kind.js';
import { NGINX_ERROR_LOG, renderNginxConfig } from './nginx.js';

export const DEFAULT_HTTP_PORT = 8080;

export const serverKind: NodeKind = {
  name: 'server',
  description: 'nginx real server answering with X-Host: <identity> and X-Remote-IP',
  keys: ['vip', 'http'],
  capabilities: BASE_CAPABILITIES,
  traits: [KIND_TRAIT.realServer],
  check: () => [],
  build(context) {
    const port = context.node.http?.port ?? DEFAULT_HTTP_PORT;
    const identity = context.node.http?.identity ?? context.name;
    const realServer = forwardingMethod(methodServing(context)).realServer(context.node.vip);
    const setup = [
      ...realServer.setup,
      { summary: `nginx on :${port} (X-Host: ${identity})`, commands: ['nginx'] },
    ];
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
      sysctls: realServer.sysctls,
      warnings: [],
    };
  },
};

/** The forwarding method of the first director service that names this server (the default when none does). */
function methodServing(context: KindContext): string | undefined {
  for (const [, director] of context.nodesWith(KIND_TRAIT.director)) {
    const service = director.services?.find((s) => s['real-servers'].some((rs) => rs.node === context.name));
    if (service) return service.method;
  }
  return undefined;
}
