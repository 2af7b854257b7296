/** The two things the host says to the guest over the tap link: "are you there?" and "halt". */
import http from 'node:http';
import net from 'node:net';
import type { PollResult } from '../util/poll.js';
import { HALT_REQUEST } from './guest-init.js';

/** One GET /_ping against the guest's dockerd; never throws, reports what it saw. */
export function pingDockerd(host: string, port: number, timeoutMs: number): Promise<PollResult> {
  return new Promise((resolve) => {
    const request = http.get({ host, port, path: '/_ping', timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        const ok = response.statusCode === 200 && body.trim() === 'OK';
        resolve({
          ok,
          seen: ok ? 'dockerd answered' : `HTTP ${response.statusCode ?? '?'} ${body.slice(0, 80)}`,
        });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ ok: false, seen: error.message }));
  });
}

/** Asks the guest's init to stop Docker, unmount its disk and power off. */
export function requestHalt(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host, port, timeout: timeoutMs }, () =>
      socket.end(`${HALT_REQUEST}\n`),
    );
    socket.on('timeout', () =>
      socket.destroy(new Error(`the halt port ${host}:${port} did not answer within ${timeoutMs} ms`)),
    );
    socket.on('error', reject);
    socket.on('close', (hadError) => {
      if (!hadError) resolve();
    });
  });
}
