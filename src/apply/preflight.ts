/**
 * Preflight: everything `up` must know or refuse before it creates anything: does the engine's
 * kernel have IPVS, and would any name or subnet collide with objects that are not this lab's.
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import type { EngineFacts } from '../core/engine.js';
import { LABEL } from '../core/labels.js';
import type { Plan } from '../core/plan.js';
import type { ContainerRuntime } from '../core/runtime.js';
import { cidrsOverlap, parseCidr } from '../util/ipv4.js';
import { LabError } from '../core/errors.js';

/** Asks the engine's kernel, from a throwaway container, whether IPVS can be used. */
export async function probeIpvs(
  runtime: ContainerRuntime,
  image: string,
  /** The lab's label, so a probe orphaned by a hard kill is still found by `down`. */
  labels: Record<string, string> = {},
): Promise<EngineFacts> {
  const result = await runtime.runHelper({
    image,
    cmd: ['ipvsadm', '-Ln'],
    capAdd: ['NET_ADMIN'],
    networkMode: 'none',
    writableProcSys: false,
    labels: { ...labels, 'lblab.probe': 'ipvs' },
  });
  if (result.exitCode === 0) return { ipvs: true };
  const reason =
    (result.stderr.trim() || result.stdout.trim()).split('\n')[0] || `ipvsadm exited ${result.exitCode}`;
  return { ipvs: false, ipvsReason: `ipvsadm: ${reason}` };
}

/** Directors that insist on IPVS cannot fall back; refuse before creating anything. */
/** A director that cannot run on the nftables stand-in, and why. */
export interface IpvsDemand {
  node: string;
  why: string;
}

export function requireIpvsWhereDemanded(demanded: IpvsDemand[], facts: EngineFacts): void {
  if (facts.ipvs || demanded.length === 0) return;
  const who = demanded.map((d) => `${d.node} (${d.why})`).join(', ');
  throw new LabError(
    'preflight',
    `${who} need(s) IPVS, but the engine's kernel has none (${facts.ipvsReason ?? 'unknown'})`,
    {
      hint: 'run with --engine sandbox (a UML kernel with IPVS), or modprobe ip_vs on the Docker host',
    },
  );
}

/** Objects that are not this lab's but would collide with what the plan creates. */
export async function findConflicts(runtime: ContainerRuntime, plan: Plan): Promise<string[]> {
  const conflicts: string[] = [];
  const containers = await runtime.listContainers();
  const networks = await runtime.listNetworks();
  const isOurs = (labels: Record<string, string>) => labels[LABEL.lab] === plan.lab;
  for (const node of plan.nodes) {
    const clash = containers.find((c) => c.name === node.containerName && !isOurs(c.labels));
    if (clash)
      conflicts.push(
        `container "${clash.name}" already exists and is not lab ${plan.lab}'s (node ${node.name})`,
      );
  }
  for (const network of plan.networks) {
    const subnet = parseCidr(network.subnet);
    for (const other of networks) {
      if (isOurs(other.labels)) continue;
      if (other.name === network.dockerName) {
        conflicts.push(`network "${other.name}" already exists and is not lab ${plan.lab}'s`);
      }
      if (network.isolated) continue; // Docker picks a free subnet for it; only the name can clash
      const overlap = other.subnets.find((s) => s.includes('.') && cidrsOverlap(parseCidr(s), subnet));
      if (overlap) {
        const owner = other.labels[LABEL.lab] ? ` (lab ${other.labels[LABEL.lab]})` : '';
        conflicts.push(
          `network "${other.name}"${owner} already uses ${overlap}, which overlaps ${network.name} ${network.subnet}` +
            (owner ? '; to run copies of a lab side by side, add --isolate' : ''),
        );
      }
    }
  }
  return conflicts;
}

/**
 * Every bind source must exist and, with symlinks resolved, lie inside the topology file's directory.
 * Docker would create a missing source as root on the host (a leftover after `down`), and would follow
 * a symlink out of the lab's directory; validation only sees the path as written.
 */
export async function checkBindSources(plan: Plan): Promise<void> {
  const binds = plan.nodes.flatMap((node) => node.binds.map((bind) => ({ node, bind })));
  if (binds.length === 0) return;
  const labDirectory = await realpath(dirname(plan.topologyFile));
  for (const { node, bind } of binds) {
    const source = bind.split(':')[0] ?? '';
    let real: string;
    try {
      real = await realpath(source);
    } catch (error) {
      throw new LabError('preflight', `bind source ${source} cannot be used: ${(error as Error).message}`, {
        node: node.name,
        hint: 'create it (Docker would otherwise create it as root and leave it behind), or remove the bind',
      });
    }
    const inside = relative(labDirectory, real);
    if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
      throw new LabError('preflight', `bind source ${source} resolves to ${real}, outside ${labDirectory}`, {
        node: node.name,
        hint: "binds may only share files from the topology file's directory; copy them there instead of linking",
      });
    }
  }
}
