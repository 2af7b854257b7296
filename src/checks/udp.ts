/** udp: a datagram from the node to host:port is answered (and, for lblab's own servers, says who answered). */
import type { ReadinessCheck } from '../core/plan.js';
import { isPort, splitHostPort } from '../util/ipv4.js';
import { defineCheckType } from './check-type.js';
import { parseUdpExchangeOutput, replyValue, udpExchangeCommand } from './udp-exchange.js';

export interface UdpCheck extends ReadinessCheck {
  type: 'udp';
  host: string;
  port: number;
  /** A reply line that proves the server runs its own configuration, not a default one. */
  header?: { name: string; value: string };
}

const ANSWER_TIMEOUT_MS = 1_000;

export const udpCheck = defineCheckType<UdpCheck>({
  type: 'udp',
  waitKey: 'udp',
  parse: (wait, timeoutMs) => ({
    type: 'udp',
    node: wait.node,
    ...splitHostPort(wait.udp as string),
    timeoutMs,
  }),
  issues: (check, { at }) =>
    !isPort(check.port)
      ? [{ path: at('udp'), message: `port ${check.port} is not between 1 and 65535` }]
      : [],
  describe: (check) =>
    `UDP ${check.host}:${check.port} answers${check.header ? ` with ${check.header.name}: ${check.header.value}` : ''}`,
  async observe(probe, check) {
    const input = {
      host: check.host,
      port: check.port,
      requests: 1,
      timeoutMs: ANSWER_TIMEOUT_MS,
      sources: [],
    };
    const result = await probe(udpExchangeCommand(input));
    const [exchange] = parseUdpExchangeOutput(result.stdout, 1);
    if (!exchange?.reply) return { ok: false, seen: exchange?.error ?? 'no answer' };
    if (!check.header) return { ok: true, seen: 'answered' };
    const value = replyValue(exchange.reply, check.header.name);
    return { ok: value === check.header.value, seen: `answered, ${check.header.name}: ${value ?? '(none)'}` };
  },
  hint: 'is the responder listening on that UDP port (nginx: a stream server with `listen PORT udp`)?',
});
