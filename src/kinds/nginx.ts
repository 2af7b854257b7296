/**
 * nginx as an HTTP real server that says who it is (X-Host) and whom it saw (X-Remote-IP), and, with a
 * UDP port, a stream server answering each datagram with the same two lines (Debian's
 * libnginx-mod-stream: a module of the same nginx, no second daemon to start and check).
 */
export const NGINX_ERROR_LOG = '/var/log/nginx/error.log';
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export function renderNginxConfig(options: { port: number; identity: string; udpPort?: number }): string {
  const loadStream = options.udpPort !== undefined ? `load_module ${NGINX_STREAM_MODULE};\n` : '';
  const stream =
    options.udpPort !== undefined
      ? `stream {
  server {
    listen ${options.udpPort} udp reuseport;
    return "X-Host: ${options.identity}\\nX-Remote-IP: $remote_addr\\n";
  }
}
`
      : '';
  return `${loadStream}user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log ${NGINX_ERROR_LOG} warn;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen ${options.port} default_server reuseport;
    location / {
      add_header X-Host ${options.identity} always;
      add_header X-Remote-IP $remote_addr always;
      default_type text/plain;
      return 200 "${options.identity}\\n";
    }
  }
}
${stream}`;
}
