/** tcp: a TCP connection from the node to host:port is accepted. */
import type { ReadinessCheck } from '../core/plan.js';
import { isPort, splitHostPort } from '../util/ipv4.js';
import { defineCheckType } from './check-type.js';

export interface TcpCheck extends ReadinessCheck {
  type: 'tcp';
  host: string;
  port: number;
}

export const tcpCheck = defineCheckType<TcpCheck>({
  type: 'tcp',
  waitKey: 'tcp',
  parse: (wait, timeoutMs) => ({
    type: 'tcp',
    node: wait.node,
    ...splitHostPort(wait.tcp as string),
    timeoutMs,
  }),
  issues: (check, { at }) =>
    !isPort(check.port)
      ? [{ path: at('tcp'), message: `port ${check.port} is not between 1 and 65535` }]
      : [],
  describe: (check) => `TCP ${check.host}:${check.port} open`,
  async observe(probe, check) {
    // Host and port travel as arguments, never as script text.
    const result = await probe([
      'bash',
      '-c',
      'exec 3<>"/dev/tcp/$1/$2"',
      'probe',
      check.host,
      String(check.port),
    ]);
    return { ok: result.exitCode === 0, seen: result.exitCode === 0 ? 'open' : 'connection refused' };
  },
});
