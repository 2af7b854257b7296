/**
 * link: take a node's interface down or up (`ip link set`, in the node's network namespace). A
 * fault: the state it found is put back when the run ends, and the routes the kernel dropped with the
 * link (a default route, static routes) with it; routes a daemon owns (OSPF's) come back from it.
 */
import { inNetns } from '../node-control.js';
import { defineStepType, failedToRun, outputLine, toEvidence, type VerifyStep } from '../step-type.js';

export interface LinkStep extends VerifyStep {
  type: 'link';
  dev: string;
  state: 'up' | 'down';
}

/** Routes over `dev` that must be put back by hand after the link returns: not the kernel's, not a daemon's. */
export function routesToRestore(routeShow: string, dev: string): string[] {
  return routeShow
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && new RegExp(`\\bdev ${dev}\\b`).test(line))
    .filter((line) => !/\bproto (kernel|ospf|zebra|bgp|rip|dhcp)\b/.test(line) && !/\bnhid\b/.test(line))
    .filter((line) => !/\blinkdown\b/.test(line));
}

/** Whether `ip -o link show dev X` says the link is administratively up. */
export function linkIsUp(linkShow: string): boolean {
  return /<[^>]*\bUP\b[^>]*>/.test(linkShow);
}

export const linkStep = defineStepType<LinkStep, { node: string; dev: string; state: 'up' | 'down' }>({
  type: 'link',
  fault: true,
  parse: (raw, index) => ({
    type: 'link',
    index,
    name: `link ${raw.dev} ${raw.state}`,
    node: raw.node,
    dev: raw.dev,
    state: raw.state,
  }),
  async run(step, { runtime, node, undoLater }) {
    const inNode = (cmd: string[]) => inNetns(runtime, node, cmd);
    const before = await inNode([
      'sh',
      '-c',
      'ip -o link show dev "$1" && echo --- && ip -4 route show',
      'link',
      step.dev,
    ]);
    const evidence = [toEvidence('before', ['ip', '-o', 'link', 'show', 'dev', step.dev], before)];
    if (before.exitCode !== 0) {
      return failedToRun('', evidence, `${node.name} has no interface ${step.dev}: ${outputLine(before)}`);
    }
    const [linkText = '', routeText = ''] = before.stdout.split('\n---\n');
    const wasUp = linkIsUp(linkText);
    const routes = routesToRestore(routeText, step.dev);
    const set = ['ip', 'link', 'set', 'dev', step.dev, step.state];
    const changed = await inNode(set);
    evidence.push(toEvidence('ip link set', set, changed));
    if (changed.exitCode !== 0) {
      return failedToRun('', evidence, `ip link set exited ${changed.exitCode}: ${outputLine(changed)}`);
    }
    if (wasUp !== (step.state === 'up')) {
      undoLater(`${step.dev} ${wasUp ? 'up' : 'down'} on ${node.name}`, async () => {
        const script = wasUp
          ? 'dev=$1; shift; ip link set dev "$dev" up || exit 1; for r in "$@"; do ip route replace $r || exit 1; done'
          : 'ip link set dev "$1" down';
        const back = await inNode(['sh', '-c', script, 'undo', step.dev, ...(wasUp ? routes : [])]);
        if (back.exitCode !== 0) throw new Error(`exited ${back.exitCode}: ${outputLine(back)}`);
      });
    }
    return {
      verdict: 'pass',
      summary: `${step.dev} ${wasUp ? 'up' : 'down'} -> ${step.state}`,
      expectations: [],
      evidence,
    };
  },
});
