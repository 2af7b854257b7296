/** sysctl: set `net.*` sysctls in a node's network namespace (the ECMP hash policy, say). */
import { defineStepType, failedToRun, outputLine, toEvidence, type VerifyStep } from '../step-type.js';

export interface SysctlStep extends VerifyStep {
  type: 'sysctl';
  /** Sysctl name -> value, all `net.*` (applied in the node's network namespace). */
  set: Record<string, string>;
}

const HASH_POLICY = 'net.ipv4.fib_multipath_hash_policy';

export const sysctlStep = defineStepType<SysctlStep, { node: string; set: Record<string, number | string> }>({
  type: 'sysctl',
  parse(raw, index) {
    const set = Object.fromEntries(Object.entries(raw.set).map(([key, value]) => [key, String(value)]));
    const name = `sysctl ${Object.entries(set)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ')}`;
    return { type: 'sysctl', index, name, node: raw.node, set };
  },
  check(step, { at }) {
    const policy = step.set[HASH_POLICY];
    if (policy === undefined || ['0', '1', '2', '3'].includes(policy)) return [];
    return [
      {
        path: at('set', HASH_POLICY),
        message: `${HASH_POLICY} is ${policy}; the kernel accepts 0 (L3), 1 (L4), 2 (L3 or inner L3) or 3 (custom)`,
      },
    ];
  },
  /**
   * In the node itself when it has NET_ADMIN (its /proc/sys/net is its own namespace's, writable):
   * one exec. Else, or in a node made while /proc/sys was read-only for nodes, in a helper sharing
   * its netns (a container of its own: seconds on a slow engine).
   */
  async run(step, { runtime, node }) {
    const pairs = Object.entries(step.set).map(([key, value]) => `${key}=${value}`);
    const cmd = ['sysctl', '-w', ...pairs];
    const evidence = [];
    let result = node.capAdd.includes('NET_ADMIN')
      ? await runtime.exec(node.containerName, cmd, { timeoutMs: 60_000 })
      : undefined;
    if (result) evidence.push(toEvidence('sysctl in the node', cmd, result));
    if (
      result === undefined ||
      (result.exitCode !== 0 && /read-only|permission denied/i.test(result.stderr))
    ) {
      result = await runtime.runInNetns({
        target: node.containerName,
        image: node.image,
        cmd,
        capAdd: ['NET_ADMIN'],
        writableProcSys: true,
        labels: node.labels,
      });
      evidence.push(toEvidence('sysctl', cmd, result));
    }
    if (result.exitCode !== 0) {
      return failedToRun(
        pairs.join(' '),
        evidence,
        `sysctl -w exited ${result.exitCode}: ${outputLine(result)}`,
      );
    }
    return { verdict: 'pass', summary: pairs.join(' '), expectations: [], evidence };
  },
});
