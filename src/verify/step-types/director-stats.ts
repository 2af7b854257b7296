/**
 * director-stats: read a director's forwarding counters and assert on them, the same way on IPVS and on
 * the nftables stand-in. What tells the methods apart: in NAT the replies pass back through the
 * director (out-packets > 0), in DR and TUN they go straight to the client (out-packets 0), and
 * ipvsadm's Forward column names the method (Masq, Route, Tunnel).
 */
import { KIND_TRAIT } from '../../core/kind-traits.js';
import type { PlannedNode } from '../../core/plan.js';
import type { ExecResult } from '../../core/runtime.js';
import { forwardingMethod } from '../../kinds/forwarding.js';
import { realClock } from '../../util/clock.js';
import { parseDuration } from '../../util/duration.js';
import {
  countersSettled,
  countHolds,
  formatCount,
  IPVS_ESTIMATOR_PERIOD_MS,
  parseCount,
  parseIpvsadm,
  parseNftCounters,
  type CountExpectation,
  type ServiceCounters,
} from '../director-counters.js';
import type { ExpectationResult } from '../expect.js';
import type { Evidence } from '../report.js';
import {
  defineStepType,
  failedToRun,
  outputLine,
  timeoutIssues,
  toEvidence,
  type VerifyStep,
} from '../step-type.js';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './exec.js';

export interface DirectorStatsStep extends VerifyStep {
  type: 'director-stats';
  port?: number;
  protocol?: 'tcp' | 'udp';
  expect: {
    forward?: string;
    connections?: CountExpectation;
    inPackets?: CountExpectation;
    outPackets?: CountExpectation;
  };
  timeoutMs: number;
}

interface RawDirectorStats {
  node: string;
  port?: number;
  protocol?: 'tcp' | 'udp';
  expect?: {
    forward?: string;
    connections?: number | string;
    'in-packets'?: number | string;
    'out-packets'?: number | string;
  };
  timeout?: string;
}

const IPVSADM_SCRIPT = 'ipvsadm -L -n --stats --exact && echo --- && ipvsadm -L -n';
const NFT_COUNTERS = ['nft', '-j', 'list', 'counters'];
/** How long to wait for IPVS's estimator to publish counters that hold still (a few periods). */
const SETTLE_LIMIT_MS = 20_000;

export const directorStatsStep = defineStepType<DirectorStatsStep, RawDirectorStats>({
  type: 'director-stats',
  parse(raw, index) {
    const expect = raw.expect ?? {};
    return {
      type: 'director-stats',
      index,
      name: `director-stats ${raw.node}${raw.port !== undefined ? ` :${raw.port}` : ''}`,
      node: raw.node,
      ...(raw.port !== undefined && { port: raw.port }),
      ...(raw.protocol !== undefined && { protocol: raw.protocol }),
      expect: {
        ...(expect.forward !== undefined && { forward: expect.forward }),
        ...(expect.connections !== undefined && { connections: parseCount(expect.connections) }),
        ...(expect['in-packets'] !== undefined && { inPackets: parseCount(expect['in-packets']) }),
        ...(expect['out-packets'] !== undefined && { outPackets: parseCount(expect['out-packets']) }),
      },
      timeoutMs: parseDuration(raw.timeout ?? DEFAULT_COMMAND_TIMEOUT_MS),
    };
  },
  check: (step, { at, requireTrait }) => [
    ...requireTrait(KIND_TRAIT.director, 'director-stats', at('node')),
    ...timeoutIssues(step.timeoutMs, at('timeout')),
  ],
  async run(step, { runtime, node }) {
    const onNftables = node.dataPlane === 'nftables';
    const cmd = onNftables ? NFT_COUNTERS : ['sh', '-c', IPVSADM_SCRIPT];
    const label = onNftables ? 'nftables counters' : 'ipvsadm';
    // nftables counts as packets pass; IPVS publishes from its estimator, so wait until it has.
    const deadline = performance.now() + SETTLE_LIMIT_MS;
    let earlier: ServiceCounters | undefined;
    let evidence: Evidence[];
    let service: ServiceCounters;
    for (;;) {
      const result = await runtime.exec(node.containerName, cmd, { timeoutMs: step.timeoutMs });
      evidence = [toEvidence(label, cmd, result)];
      const read = readService(step, node.name, result, onNftables, node.forwarding);
      if (typeof read === 'string') return failedToRun('', evidence, read);
      service = read;
      if (onNftables || countersSettled(earlier, service) || performance.now() >= deadline) break;
      earlier = service;
      await realClock.sleep(IPVS_ESTIMATOR_PERIOD_MS + 200);
    }
    const expectations = evaluateDirectorStats(step.expect, service, onNftables);
    const summary =
      `${service.protocol.toUpperCase()} :${service.port}` +
      `${service.connections !== undefined ? `, ${service.connections} conns` : ''}` +
      `, in ${service.inPackets} pkts, out ${service.outPackets} pkts` +
      `, ${[...new Set(service.forwards.map((f) => f.forward))].join('/') || 'no real servers'}` +
      (onNftables ? ' (nftables stand-in)' : '');
    return {
      verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
      summary,
      expectations,
      evidence,
    };
  },
});

/** The one service the step names, from one reading; a string says why it cannot be read. */
function readService(
  step: DirectorStatsStep,
  nodeName: string,
  result: ExecResult,
  onNftables: boolean,
  forwarding: PlannedNode['forwarding'],
): ServiceCounters | string {
  if (result.exitCode !== 0) return `exited ${result.exitCode}: ${outputLine(result)}`;
  let services: ServiceCounters[];
  try {
    services = onNftables
      ? parseNftCounters(result.stdout, forwardingMethod(forwarding).ipvsadmForward)
      : parseIpvsadm(result.stdout);
  } catch (error) {
    return `cannot read the counters: ${(error as Error).message}`;
  }
  const chosen = services.filter(
    (s) => (step.port === undefined || s.port === step.port) && (step.protocol ?? s.protocol) === s.protocol,
  );
  if (chosen.length === 1) return chosen[0] as ServiceCounters;
  const listed = services.map((s) => `${s.protocol.toUpperCase()} :${s.port}`).join(', ') || 'none';
  return chosen.length === 0
    ? `${nodeName} has no virtual service${step.port !== undefined ? ` on port ${step.port}` : ''} (it has: ${listed})`
    : `${nodeName} has several virtual services (${listed}): say which with port:`;
}

/** Pure: the step's expectations against one service's counters. */
export function evaluateDirectorStats(
  expect: DirectorStatsStep['expect'],
  service: ServiceCounters,
  onNftables: boolean,
): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  if (expect.forward !== undefined) {
    const wrong = service.forwards.filter((f) => f.forward !== expect.forward);
    const seen = service.forwards.map((f) => `${f.address} ${f.forward}`).join(', ') || 'no real servers';
    results.push({
      name: 'forward',
      ok: service.forwards.length > 0 && wrong.length === 0,
      expected: `every real server forwarded by ${expect.forward}`,
      seen: onNftables ? `${seen} (the nftables stand-in's method)` : seen,
    });
  }
  const count = (
    name: string,
    expectation: CountExpectation | undefined,
    seen: number | undefined,
    hint: string,
  ) => {
    if (expectation === undefined) return;
    if (seen === undefined) {
      results.push({
        name,
        ok: false,
        expected: formatCount(expectation),
        seen: 'not counted',
        hint: 'the nftables stand-in keeps no connection table; count packets, or run on IPVS (--engine sandbox)',
      });
      return;
    }
    const ok = countHolds(expectation, seen);
    results.push({ name, ok, expected: formatCount(expectation), seen: String(seen), ...(!ok && { hint }) });
  };
  count(
    'connections',
    expect.connections,
    service.connections,
    'connections counts what the director scheduled since the service was created',
  );
  count(
    'in-packets',
    expect.inPackets,
    service.inPackets,
    'no packets reached the VIP on this director: does the route to the VIP lead here?',
  );
  count(
    'out-packets',
    expect.outPackets,
    service.outPackets,
    service.outPackets > 0
      ? 'replies passed back through the director: in DR and TUN the real servers answer the client directly, so their replies should not come this way'
      : "no replies passed back through the director: in NAT the real servers' default route must point at it",
  );
  return results;
}
