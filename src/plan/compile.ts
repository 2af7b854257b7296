/**
 * compile: a validated topology (plus what the preflight learned about the engine) → Plan.
 * Pure and deterministic: same inputs, same plan, byte for byte; no Docker, no clock, no randomness.
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { EngineFacts } from '../core/engine.js';
import type { KindContext } from '../kinds/kind.js';
import { getKind, nodeHas } from '../kinds/registry.js';
import { NO_MOUNT_SECCOMP } from '../kinds/seccomp.js';
import type { OpenedTopology } from '../topology/open.js';
import type { NodeConfig, TopologyConfig } from '../core/topology.js';
import { cidrContains, cidrSize, formatCidr, intToIp, ipToInt, parseCidr } from '../util/ipv4.js';
import { shellQuote } from '../util/shell.js';
import { LABEL } from '../core/labels.js';
import { LBLAB_VERSION } from '../core/version.js';
import { tuningFor } from './engine-tuning.js';
import type { KernelFeature, PlannedInterface, PlannedNetwork, PlannedNode, Plan } from '../core/plan.js';
import { parseWaitCondition } from '../checks/registry.js';

export interface CompileOptions {
  /** Absolute path of the topology file (binds resolve against its directory). */
  file: string;
  /** The file's exact text, hashed into the labels so `up` can tell a changed topology. */
  text: string;
  /** Overrides the file's `name` so several copies of one lab can run side by side. */
  labName?: string;
  /** Treat every network as `isolated: true` (copies of a lab side by side on one engine). */
  isolate?: boolean;
  /** The node image lblab builds, used by nodes that name no image of their own. */
  defaultImage: string;
  facts: EngineFacts;
  /** Contents of the nodes' own config files (`config:`), by the path the topology gives. */
  ownFiles?: Readonly<Record<string, string>>;
}

/** compile() for an opened topology file. */
export function planTopology(topology: OpenedTopology, options: Omit<CompileOptions, 'file' | 'text'>): Plan {
  return compile(topology.config, {
    file: topology.file,
    text: topology.text,
    ownFiles: topology.ownFiles,
    ...options,
  });
}

export function compile(config: TopologyConfig, options: CompileOptions): Plan {
  const lab = options.labName ?? config.name;
  // The user's own config files are part of the lab: a changed frr.conf is a changed lab.
  const ownFiles = options.ownFiles ?? {};
  const hashedText = [
    options.text,
    ...Object.keys(ownFiles)
      .sort()
      .map((p) => `\n# ${p}\n${ownFiles[p]}`),
  ].join('');
  const topologyHash = topologyHashOf(hashedText, options.isolate === true);
  const commonLabels = {
    [LABEL.lab]: lab,
    [LABEL.topologyHash]: topologyHash,
    [LABEL.topologyFile]: options.file,
    [LABEL.version]: LBLAB_VERSION,
  };

  const networks: PlannedNetwork[] = Object.entries(config.topology.networks).map(([name, network]) => {
    const subnet = parseCidr(network.subnet);
    return {
      name,
      dockerName: `lblab-${lab}-${name}`,
      subnet: network.subnet,
      ipRange: network['ip-range'] ?? network.subnet,
      gateway: network.gateway ?? intToIp(subnet.network + 1),
      isolated: options.isolate === true || network.isolated === true,
      labels: { ...commonLabels, [LABEL.network]: name },
    };
  });

  const interfacesByNode = new Map<string, PlannedInterface[]>(
    Object.entries(config.topology.nodes).map(([name, node]) => [
      name,
      Object.entries(node.networks).map(([network, ip], index) => ({
        network,
        dockerNetwork: `lblab-${lab}-${network}`,
        ifname: `eth${index}`,
        ip,
        prefixLength: parseCidr(config.topology.networks[network]?.subnet ?? `${ip}/32`).prefixLength,
        mac: macAddressFor(lab, name, network),
        selfAddressed: networks.find((planned) => planned.name === network)?.isolated ?? false,
      })),
    ]),
  );
  const interfacesOf = (node: string) => interfacesByNode.get(node) ?? [];

  const warnings: string[] = [];
  const tuning = tuningFor(options.facts.engine);
  const defaults = config.topology.defaults ?? {};
  const contextOf = (
    name: string,
    node: NodeConfig,
    facts: EngineFacts,
    unicastNetworks: ReadonlySet<string>,
  ): KindContext => ({
    name,
    node,
    topology: config,
    interfaces: interfacesOf(name),
    interfacesOf,
    facts,
    tuning,
    unicastNetworks,
    ownConfig: (which) => {
      const path = node.config?.[which];
      return path === undefined ? undefined : ownFiles[path];
    },
    nodesWith: (trait) => Object.entries(config.topology.nodes).filter(([, other]) => nodeHas(other, trait)),
  });
  const pool = options.facts.members ? spreadOverPool(config, options.facts, contextOf) : undefined;
  if (pool) {
    for (const network of networks) {
      network.members = pool.membersOf(network.name);
      network.overlay = pool.overlays.has(network.name);
      if (network.overlay && !network.isolated) {
        const taken = Object.values(config.topology.nodes).flatMap((node) => {
          const ip = node.networks[network.name];
          return ip ? [ip] : [];
        });
        network.ipRange = overlayDynamicRange(network.ipRange, [...taken, network.gateway]);
      }
    }
  }
  const nodes: PlannedNode[] = Object.entries(config.topology.nodes).map(([name, node]) => {
    const kind = getKind(node.kind);
    const facts = pool?.factsOf(name) ?? options.facts;
    const output = kind.build(contextOf(name, node, facts, pool?.overlays ?? NO_NETWORKS));
    warnings.push(...output.warnings);
    const selfAddressed = interfacesOf(name).filter((iface) => iface.selfAddressed);
    const steps = [
      ...(selfAddressed.length > 0
        ? [
            {
              summary: `lab addresses on isolated networks (${selfAddressed.map((i) => `${i.ifname}=${i.ip}`).join(', ')})`,
              commands: selfAddressed.flatMap((iface) => [
                `ip -4 addr flush dev ${iface.ifname}`,
                `ip addr add ${iface.ip}/${iface.prefixLength} dev ${iface.ifname}`,
              ]),
            },
          ]
        : []),
      ...output.setup,
    ];
    if (node.exec && node.exec.length > 0) {
      steps.push({
        summary: `exec: ${node.exec.length} command(s) from the topology`,
        commands: node.exec.map((line) => `sh -c ${shellQuote(line)}`),
      });
    }
    const kernel: KernelFeature[] = [
      ...(output.dataPlane === 'ipvs' ? ['ipvs' as const] : []),
      ...(output.kernel ?? []),
    ];
    const placement = pool?.placementOf(name) ?? placementOf(options.facts, kernel);
    const capabilities = kind.capabilitiesFor?.(node) ?? kind.capabilities;
    return {
      name,
      kind: node.kind,
      containerName: `lblab-${lab}-${name}`,
      hostname: name,
      image: node.image ?? defaults.image ?? options.defaultImage,
      labels: {
        ...commonLabels,
        [LABEL.node]: name,
        [LABEL.kind]: node.kind,
        [LABEL.addresses]: interfacesOf(name)
          .map((iface) => `${iface.network}=${iface.ip}`)
          .join(','),
        ...(output.dataPlane ? { [LABEL.dataPlane]: output.dataPlane } : {}),
        ...(placement ? { [LABEL.placement]: placement } : {}),
      },
      env: stringValues({ ...defaults.env, ...node.env }),
      capAdd: Object.keys(capabilities),
      ...('SYS_ADMIN' in capabilities ? { seccomp: { ...NO_MOUNT_SECCOMP } } : {}),
      sysctls: { ...output.sysctls, ...stringValues(node.sysctls ?? {}) },
      writableNetSysctls: true,
      binds: (node.binds ?? []).map((bind) => resolveBind(options.file, bind)),
      interfaces: interfacesOf(name),
      files: output.files,
      setupScript: renderSetupScript(steps),
      setup: steps,
      readiness: [
        ...output.readiness.map((check) => ({ ...check, timeoutMs: check.timeoutMs * tuning.timeoutScale })),
        ...(node.ready ?? []).map((condition) => parseWaitCondition({ ...condition, node: name })),
      ],
      logs: output.logs,
      ...(placement ? { placement } : {}),
      ...(output.dataPlane ? { dataPlane: output.dataPlane } : {}),
      ...(output.forwarding ? { forwarding: output.forwarding } : {}),
      ...(kernel.length > 0 ? { kernel } : {}),
    };
  });

  return {
    lab,
    topologyFile: options.file,
    topologyHash,
    lblabVersion: LBLAB_VERSION,
    networks,
    nodes,
    tuning,
    warnings,
  };
}

/**
 * What the topology-hash label says: the file's exact text, and whether `up --isolate` made the lab
 * (isolation changes what is created, so it is part of what "unchanged" compares).
 */
export function topologyHashOf(text: string, isolate: boolean): string {
  return sha256(isolate ? `${text}\n# --isolate` : text).slice(0, 12);
}

const NO_NETWORKS: ReadonlySet<string> = new Set();

/**
 * Swarm gives every engine on an overlay an address of its own from the dynamic range (its load
 * balancer endpoint), before or after the lab's fixed addresses are taken: so the range shrinks to
 * the highest /28 of it (a /29 or less if it is that small) that no node uses.
 */
export function overlayDynamicRange(ipRange: string, taken: string[]): string {
  const range = parseCidr(ipRange);
  const used = taken.map(ipToInt);
  for (let prefix = Math.max(range.prefixLength, 28); prefix <= 30; prefix += 1) {
    const size = 2 ** (32 - prefix);
    for (let start = range.network + cidrSize(range) - size; start >= range.network; start -= size) {
      const block = { network: start, prefixLength: prefix };
      if (!used.some((ip) => cidrContains(block, ip))) return formatCidr(block);
    }
  }
  return ipRange;
}

/**
 * Where each node of a pool lab runs: where its `placement:` says, else (when it needs a kernel
 * feature: IPVS, ipip) on the first member whose kernel has IPVS, else on the first member (the
 * Swarm manager). A network whose nodes land on several members becomes an overlay. Each node is
 * built once with its member's facts to learn what it needs; the real build follows with them.
 */
function spreadOverPool(
  config: TopologyConfig,
  facts: EngineFacts,
  contextOf: (
    name: string,
    node: NodeConfig,
    facts: EngineFacts,
    unicast: ReadonlySet<string>,
  ) => KindContext,
) {
  const members = facts.members ?? [];
  const first = members[0]?.name ?? '';
  const withIpvs = members.find((member) => member.ipvs)?.name ?? first;
  const factsOfMember = (member: string | undefined): EngineFacts => {
    const found = members.find((m) => m.name === member);
    return found ? { ...facts, ipvs: found.ipvs, ipvsReason: found.ipvsReason } : facts;
  };
  const placements = new Map<string, string>();
  for (const [name, node] of Object.entries(config.topology.nodes)) {
    if (node.placement !== undefined) {
      placements.set(name, node.placement);
      continue;
    }
    const trial = getKind(node.kind).build(contextOf(name, node, facts, NO_NETWORKS));
    const needsKernel = trial.dataPlane === 'ipvs' || (trial.kernel ?? []).length > 0;
    placements.set(name, needsKernel ? withIpvs : first);
  }
  const membersByNetwork = new Map<string, Set<string>>();
  for (const [name, node] of Object.entries(config.topology.nodes)) {
    for (const network of Object.keys(node.networks)) {
      const set = membersByNetwork.get(network) ?? new Set<string>();
      set.add(placements.get(name) ?? first);
      membersByNetwork.set(network, set);
    }
  }
  const order = (set: Set<string>) => members.map((m) => m.name).filter((m) => set.has(m));
  const overlays = new Set(
    [...membersByNetwork].filter(([, set]) => set.size > 1).map(([network]) => network),
  );
  return {
    overlays: overlays as ReadonlySet<string>,
    membersOf: (network: string) => order(membersByNetwork.get(network) ?? new Set([first])),
    placementOf: (node: string) => placements.get(node) ?? first,
    factsOf: (node: string) => factsOfMember(placements.get(node)),
  };
}

/** Where a sandbox lab's node runs: in the guest only when it needs the guest's kernel (IPVS, ipip). */
function placementOf(facts: EngineFacts, kernel: KernelFeature[]): PlannedNode['placement'] {
  if (facts.engine !== 'sandbox') return undefined;
  return !facts.splitsNodes || kernel.length > 0 ? 'guest' : 'host';
}

/**
 * One script per node so setup costs one exec. Each command names its step on failure, so `up` can
 * report "lb1: setup failed at: keepalived ..." instead of a bare exit code.
 */
export function renderSetupScript(steps: { summary: string; commands: string[] }[]): string {
  // fail keeps the command's own exit code, so `exit 3` in an exec line fails `up` with 3, not 1.
  const lines = ['set -u', 'fail() { echo "lblab: setup failed at: $1 (exit $2)" >&2; exit "$2"; }'];
  for (const step of steps) {
    for (const command of step.commands)
      lines.push(`${command} || fail ${shellQuote(`${step.summary}: ${command}`)} $?`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Locally administered, unicast, stable per (lab, node, network): the nftables director needs it up front. */
export function macAddressFor(lab: string, node: string, network: string): string {
  const digest = sha256(`${lab}/${node}/${network}`);
  const bytes = [0x02, ...[0, 2, 4, 6, 8].map((i) => parseInt(digest.slice(i, i + 2), 16))];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function resolveBind(file: string, bind: string): string {
  const [source = '', ...rest] = bind.split(':');
  return [resolve(dirname(file), source), ...rest].join(':');
}

function stringValues(values: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, String(value)]));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
