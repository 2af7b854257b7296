/**
 * hold-connections: open N TCP connections from a node to host:port and keep them open, idle, for a
 * while, so that a scheduler that counts active connections (lc, wlc, sed, nq) sees a loaded real
 * server. The holders run detached in the node and end by themselves after `for`; the step returns
 * once it sees all N established (or says how many it saw).
 */
import type { TopologyIssue } from '../../core/issue.js';
import { realClock } from '../../util/clock.js';
import { parseDuration } from '../../util/duration.js';
import { isPort, splitHostPort } from '../../util/ipv4.js';
import type { ExpectationResult } from '../expect.js';
import { defineStepType, failedToRun, toEvidence, type VerifyStep } from '../step-type.js';

export interface HoldConnectionsStep extends VerifyStep {
  type: 'hold-connections';
  host: string;
  port: number;
  count: number;
  /** How long each connection is held open. */
  holdMs: number;
}

interface RawHoldConnections {
  node: string;
  /** host:port */
  target: string;
  count: number;
  for: string;
}

export const MAX_HELD = 64;
/**
 * nginx closes a connection that sends no request after client_header_timeout (60 s by default), so a
 * longer hold would silently end early; lblab's servers keep that default.
 */
export const MAX_HOLD_MS = 55_000;
/** How long the step waits for all connections to be established. */
const ESTABLISH_WITHIN_MS = 10_000;

// Each holder is a detached bash that opens the connection (/dev/tcp) and sleeps with it open; its
// output goes nowhere, so the exec ends at once. Host, port and seconds travel as arguments.
const HOLD_SCRIPT = `count=$1 host=$2 port=$3 seconds=$4
i=0
while [ "$i" -lt "$count" ]; do
  setsid bash -c 'exec 3<>"/dev/tcp/$1/$2" && sleep "$3"' hold "$host" "$port" "$seconds" </dev/null >/dev/null 2>&1 &
  i=$((i + 1))
done`;

export const holdConnectionsStep = defineStepType<HoldConnectionsStep, RawHoldConnections>({
  type: 'hold-connections',
  parse(raw, index) {
    return {
      type: 'hold-connections',
      index,
      name: `hold ${raw.count} connection(s) to ${raw.target} for ${raw.for}`,
      node: raw.node,
      ...splitHostPort(raw.target),
      count: raw.count,
      holdMs: parseDuration(raw.for),
    };
  },
  check(step, { at }) {
    const issues: TopologyIssue[] = [];
    if (!isPort(step.port))
      issues.push({ path: at('target'), message: `port ${step.port} is not between 1 and 65535` });
    if (step.holdMs < 1_000 || step.holdMs > MAX_HOLD_MS) {
      issues.push({
        path: at('for'),
        message: `for must be from 1s to ${MAX_HOLD_MS / 1000}s, not ${step.holdMs}ms`,
        fix: `nginx closes an idle connection after 60 s: hold for at most ${MAX_HOLD_MS / 1000}s and run the steps that need the load right after this one`,
      });
    }
    return issues;
  },
  async run(step, { runtime, node }) {
    const seconds = String(Math.ceil(step.holdMs / 1000));
    const start = [
      'sh',
      '-c',
      HOLD_SCRIPT,
      'hold',
      String(step.count),
      step.host,
      String(step.port),
      seconds,
    ];
    const started = await runtime.exec(node.containerName, start);
    if (started.exitCode !== 0) {
      return failedToRun(
        '',
        [toEvidence('holders', start, started)],
        `could not start the holders (exit ${started.exitCode})`,
      );
    }
    // Count them as the node's kernel does: established TCP connections to host:port.
    const count = [
      'sh',
      '-c',
      'ss -Htn state established dst "$1" | wc -l',
      'count',
      `${step.host}:${step.port}`,
    ];
    const deadline = realClock.now() + ESTABLISH_WITHIN_MS;
    let last = await runtime.exec(node.containerName, count);
    let established = Number(last.stdout.trim()) || 0;
    while (established < step.count && realClock.now() < deadline) {
      await realClock.sleep(250);
      last = await runtime.exec(node.containerName, count);
      established = Number(last.stdout.trim()) || 0;
    }
    const expectations = [judgeHeld(step.count, established)];
    return {
      verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
      summary: `${established} of ${step.count} held open for ${seconds} s`,
      expectations,
      evidence: [toEvidence('established', count, last)],
    };
  },
});

/** Pure: were all the connections established? */
export function judgeHeld(wanted: number, established: number): ExpectationResult {
  const ok = established >= wanted;
  return {
    name: 'established',
    ok,
    expected: `${wanted} connection(s) established`,
    seen: `${established}`,
    ...(!ok && { hint: 'is something listening on the target, and does the node reach it?' }),
  };
}
