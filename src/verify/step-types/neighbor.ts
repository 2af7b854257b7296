/**
 * neighbor: whose MAC a node's ARP entry for an address holds. A ping first makes the node resolve it;
 * the entry then says who answered ARP: for a VIP, the director (DR's ARP rules kept the real servers
 * quiet) or a real server (they did not, and clients bypass the director).
 */
import { isIPv4 } from 'node:net';
import type { PlannedNode } from '../../core/plan.js';
import { parseDuration } from '../../util/duration.js';
import type { ExpectationResult } from '../expect.js';
import {
  defineStepType,
  failedToRun,
  outputLine,
  timeoutIssues,
  toEvidence,
  type VerifyStep,
} from '../step-type.js';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './exec.js';

export interface NeighborStep extends VerifyStep {
  type: 'neighbor';
  ip: string;
  owner: string;
  timeoutMs: number;
}

export const neighborStep = defineStepType<
  NeighborStep,
  { node: string; ip: string; owner: string; timeout?: string }
>({
  type: 'neighbor',
  parse: (raw, index) => ({
    type: 'neighbor',
    index,
    name: `neighbor ${raw.ip} on ${raw.node} is ${raw.owner}`,
    node: raw.node,
    ip: raw.ip,
    owner: raw.owner,
    timeoutMs: parseDuration(raw.timeout ?? DEFAULT_COMMAND_TIMEOUT_MS),
  }),
  check: (step, { at, nodeExists }) => [
    ...(isIPv4(step.ip) ? [] : [{ path: at('ip'), message: `"${step.ip}" is not an IPv4 address` }]),
    ...nodeExists(step.owner, at('owner')),
    ...timeoutIssues(step.timeoutMs, at('timeout')),
  ],
  async run(step, { runtime, plan, node }) {
    // The ping may go unanswered (a VIP need not answer ICMP); it is only there to make ARP happen.
    const script = `ping -c 1 -W 2 ${step.ip} >/dev/null 2>&1; ip -4 neigh show ${step.ip}`;
    const cmd = ['sh', '-c', script];
    const result = await runtime.exec(node.containerName, cmd, { timeoutMs: step.timeoutMs });
    const evidence = [toEvidence('ARP entry', cmd, result)];
    if (result.exitCode !== 0) {
      return failedToRun('', evidence, `exited ${result.exitCode}: ${outputLine(result)}`);
    }
    const mac = parseNeighborMac(result.stdout);
    const expectations = [judgeNeighbor(step, mac, node, plan.nodes)];
    return {
      verdict: expectations.every((e) => e.ok) ? 'pass' : 'fail',
      summary: mac
        ? `${step.ip} is at ${mac} (${macOwner(mac, plan.nodes) ?? 'no lab node'})`
        : `${step.ip}: no ARP entry`,
      expectations,
      evidence,
    };
  },
});

/** The lladdr of `ip -4 neigh show ADDR`, or undefined when the entry is missing or incomplete. */
export function parseNeighborMac(output: string): string | undefined {
  return /\blladdr ([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i.exec(output)?.[1]?.toLowerCase();
}

function macOwner(mac: string, nodes: PlannedNode[]): string | undefined {
  return nodes.find((n) => n.interfaces.some((iface) => iface.mac.toLowerCase() === mac))?.name;
}

/** Pure: the entry's MAC against the owner's MAC on a network it shares with the asking node. */
export function judgeNeighbor(
  step: Pick<NeighborStep, 'ip' | 'owner'>,
  mac: string | undefined,
  asking: PlannedNode,
  nodes: PlannedNode[],
): ExpectationResult {
  const networks = new Set(asking.interfaces.map((iface) => iface.network));
  const owner = nodes.find((n) => n.name === step.owner);
  const ownerIface = owner?.interfaces.find((iface) => networks.has(iface.network));
  const expected = ownerIface
    ? `${step.owner}'s MAC on ${ownerIface.network} (${ownerIface.mac})`
    : `${step.owner}'s MAC`;
  if (!ownerIface) {
    return {
      name: 'owner',
      ok: false,
      expected,
      seen: mac ?? 'no entry',
      hint: `${step.owner} shares no network with ${asking.name}, so ${asking.name} cannot reach it by ARP`,
    };
  }
  const ok = mac === ownerIface.mac.toLowerCase();
  const who = mac ? macOwner(mac, nodes) : undefined;
  return {
    name: 'owner',
    ok,
    expected,
    seen: mac ? `${mac}${who ? ` (${who})` : ''}` : 'no entry: nothing answered ARP for it',
    ...(!ok && {
      hint: who
        ? `${who} answered ARP for ${step.ip}: a DR real server must hold the VIP on lo with arp_ignore=1 and arp_announce=2`
        : `no node answered ARP for ${step.ip}: is it on ${step.owner}'s interface (vip-on)?`,
    }),
  };
}
