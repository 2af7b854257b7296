/**
 * weight: set a real server's weight in a director's IPVS service (`ipvsadm -e ... -w N`), e.g. 0 to
 * drain or quiesce it. A fault: the weight it found is put back when the run ends. The nftables
 * stand-in (host engine) can drain: the real server's slots in the service's map go to the others,
 * so no other flow changes server; its ruleset as `up` loaded it comes back at the end.
 */
import { isIPv4 } from 'node:net';
import { KIND_TRAIT } from '../../core/kind-traits.js';
import { isPort, splitHostPort } from '../../util/ipv4.js';
import type { TopologyIssue } from '../../core/issue.js';
import {
  defineStepType,
  failedToRun,
  outputLine,
  toEvidence,
  type StepRunContext,
  type VerifyStep,
} from '../step-type.js';

export interface WeightStep extends VerifyStep {
  type: 'weight';
  /** The virtual service, VIP:port. */
  service: string;
  protocol: 'tcp' | 'udp';
  realServer: string;
  weight: number;
}

interface RawWeight {
  node: string;
  service: string;
  protocol?: 'tcp' | 'udp';
  'real-server': string;
  weight: number;
}

/** ipvsadm's Forward column -> the flag that keeps the method when a real server is edited. */
const METHOD_FLAG: Record<string, string> = { Route: '-g', Masq: '-m', Tunnel: '-i' };

/** One real server's line of `ipvsadm -L -n -t|-u VIP:port`, found by its address. */
export function realServerEntry(
  list: string,
  ip: string,
): { address: string; forward: string; weight: number } | undefined {
  for (const line of list.split('\n')) {
    const match = /^\s+->\s+(\d+\.\d+\.\d+\.\d+):(\d+)\s+(\S+)\s+(\d+)\b/.exec(line);
    if (match && match[1] === ip) {
      return {
        address: `${ip}:${match[2] as string}`,
        forward: match[3] as string,
        weight: Number(match[4]),
      };
    }
  }
  return undefined;
}

export const weightStep = defineStepType<WeightStep, RawWeight>({
  type: 'weight',
  fault: true,
  parse(raw, index) {
    return {
      type: 'weight',
      index,
      name: `weight ${raw['real-server']} ${raw.weight} on ${raw.service}`,
      node: raw.node,
      service: raw.service,
      protocol: raw.protocol ?? 'tcp',
      realServer: raw['real-server'],
      weight: raw.weight,
    };
  },
  check(step, { at, requireTrait, nodeExists }) {
    const issues: TopologyIssue[] = [
      ...requireTrait(KIND_TRAIT.director, 'weight', at('node')),
      ...nodeExists(step.realServer, at('real-server')),
    ];
    const { host, port } = splitHostPort(step.service);
    if (!isIPv4(host) || !isPort(port)) {
      issues.push({ path: at('service'), message: `service "${step.service}" is not VIP:port` });
    }
    return issues;
  },
  async run(step, context) {
    const { runtime, plan, node, undoLater } = context;
    if (node.dataPlane === 'nftables') return drainStandIn(step, context);
    if (node.dataPlane !== 'ipvs') {
      return failedToRun('', [], `${node.name} has no data plane to change a weight in`);
    }
    const flag = step.protocol === 'udp' ? '-u' : '-t';
    const list = ['ipvsadm', '-L', '-n', flag, step.service];
    const listed = await runtime.exec(node.containerName, list);
    const evidence = [toEvidence('service', list, listed)];
    if (listed.exitCode !== 0) {
      return failedToRun(
        '',
        evidence,
        `${node.name} has no IPVS service ${step.service}: ${outputLine(listed)}`,
      );
    }
    const ips = plan.nodes.find((n) => n.name === step.realServer)?.interfaces.map((i) => i.ip) ?? [];
    const entry = ips.map((ip) => realServerEntry(listed.stdout, ip)).find((e) => e !== undefined);
    const method = entry && METHOD_FLAG[entry.forward];
    if (!entry || !method) {
      return failedToRun(
        '',
        evidence,
        `${step.realServer} is not a real server of ${step.service} on ${node.name}`,
      );
    }
    const set = (weight: number) => [
      'ipvsadm',
      '-e',
      flag,
      step.service,
      '-r',
      entry.address,
      method,
      '-w',
      String(weight),
    ];
    const changed = await runtime.exec(node.containerName, set(step.weight));
    evidence.push(toEvidence('ipvsadm -e', set(step.weight), changed));
    if (changed.exitCode !== 0) {
      return failedToRun('', evidence, `ipvsadm -e exited ${changed.exitCode}: ${outputLine(changed)}`);
    }
    undoLater(`weight ${entry.weight} for ${step.realServer} on ${node.name} ${step.service}`, async () => {
      const back = await runtime.exec(node.containerName, set(entry.weight));
      if (back.exitCode !== 0) throw new Error(`ipvsadm -e exited ${back.exitCode}: ${outputLine(back)}`);
    });
    return {
      verdict: 'pass',
      summary: `${step.realServer} (${entry.address}) weight ${entry.weight} -> ${step.weight}`,
      expectations: [],
      evidence,
    };
  },
});

/**
 * The stand-in's ruleset with the map values that mean one real server (`targets`: its MAC for DR,
 * its address for NAT's `ip . port`) replaced, slot by slot, by the service's other real servers in turn; undefined
 * when the service has no such slot or no other real server.
 */
export function drainedRuleset(
  ruleset: string,
  service: { vip: string; port: string; protocol: string },
  targets: string[],
): string | undefined {
  const isTarget = (value: string) => targets.some((t) => value === t || value.startsWith(`${t} . `));
  let drained = false;
  const lines = ruleset.split('\n').map((line) => {
    if (!line.includes(`ip daddr ${service.vip} ${service.protocol} dport ${service.port} `)) return line;
    const map = /map \{ ([^}]*) \}/.exec(line);
    if (!map) return line;
    const entries = (map[1] as string).split(', ').map((entry) => entry.split(' : ') as [string, string]);
    const others = entries.map(([, value]) => value).filter((value) => !isTarget(value));
    if (others.length === 0 || others.length === entries.length) return line;
    let next = 0;
    const remapped = entries.map(([slot, value]) =>
      isTarget(value) ? `${slot} : ${others[next++ % others.length] as string}` : `${slot} : ${value}`,
    );
    drained = true;
    return line.replace(map[0], `map { ${remapped.join(', ')} }`);
  });
  return drained ? lines.join('\n') : undefined;
}

async function drainStandIn(step: WeightStep, { runtime, plan, node, undoLater }: StepRunContext) {
  const file = node.files.find((f) => f.path.endsWith('.nft'));
  const realServer = plan.nodes.find((n) => n.name === step.realServer);
  if (!file || !realServer) return failedToRun('', [], `${node.name} has no nftables ruleset to drain in`);
  if (step.weight !== 0) {
    return failedToRun(
      '',
      [],
      `${node.name} forwards with the nftables stand-in, which can only drain (weight 0); other weights need IPVS (--engine sandbox)`,
    );
  }
  const { host, port } = splitHostPort(step.service);
  const targets = realServer.interfaces.flatMap((i) => [i.mac, i.ip]);
  const ruleset = drainedRuleset(
    file.content,
    { vip: host, port: String(port), protocol: step.protocol },
    targets,
  );
  if (ruleset === undefined) {
    return failedToRun(
      '',
      [],
      `${step.realServer} is not a real server of ${step.service} on ${node.name}, or it is the only one`,
    );
  }
  const load = ['nft', '-f', '-'];
  const loaded = await runtime.exec(node.containerName, load, { stdin: ruleset });
  const evidence = [toEvidence('nft -f', load, loaded)];
  if (loaded.exitCode !== 0)
    return failedToRun('', evidence, `nft exited ${loaded.exitCode}: ${outputLine(loaded)}`);
  undoLater(`${step.realServer} back in ${step.service} on ${node.name}`, async () => {
    const back = await runtime.exec(node.containerName, ['nft', '-f', file.path]);
    if (back.exitCode !== 0)
      throw new Error(`nft -f ${file.path} exited ${back.exitCode}: ${outputLine(back)}`);
  });
  return {
    verdict: 'pass' as const,
    summary: `${step.realServer} drained (its slots went to the other real servers)`,
    expectations: [],
    evidence,
  };
}
