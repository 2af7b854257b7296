/** nginx as an HTTP real server that says who it is (X-Host) and whom it saw (X-Remote-IP). */
export const NGINX_ERROR_LOG = '/var/log/nginx/error.log';

export function renderNginxConfig(options: { port: number; identity: string }): string {
  return `user www-data;
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
`;
}
