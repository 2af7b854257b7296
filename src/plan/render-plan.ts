/** The human form of a Plan, as `lblab plan` prints it. */
import type { Plan } from '../core/plan.js';
import { describeCheck } from '../checks/registry.js';

/** What the engine means for the lab's timing: OSPF's "auto" timers (only if a node runs OSPF), the readiness timeouts. */
export function describeTuning(plan: Plan): string {
  const { tuning } = plan;
  const ospf = plan.nodes.some((node) => node.setup.some((step) => step.daemons?.includes('ospfd')));
  return `${ospf ? `OSPF timers "auto" mean ${tuning.ospfTimers}, ` : ''}readiness timeouts x${tuning.timeoutScale}`;
}

export function renderPlan(plan: Plan, options: { files?: boolean } = {}): string {
  const { tuning } = plan;
  const lines = [
    `lab ${plan.lab} (topology ${plan.topologyHash}, lblab ${plan.lblabVersion})`,
    `engine ${tuning.engine}: ${describeTuning(plan)} (${tuning.why})`,
    '',
  ];
  for (const network of plan.networks) {
    const driver = network.overlay
      ? `Swarm overlay across ${(network.members ?? []).join(', ')} (attachable; OSPF non-broadcast, hellos by unicast)`
      : network.members
        ? `bridge on ${network.members.join(', ')}`
        : 'bridge';
    lines.push(
      `network ${network.dockerName}: ${driver} ${network.subnet}, docker pool ${network.ipRange}, gateway ${network.gateway}`,
    );
  }
  for (const node of plan.nodes) {
    lines.push('');
    const where = node.placement ? `, runs ${whereNodeRuns(plan, node.placement)}` : '';
    lines.push(
      `node ${node.name} (${node.kind}${node.dataPlane ? `, data plane ${node.dataPlane}` : ''}${where})`,
    );
    lines.push(`  container  ${node.containerName}  image ${node.image}`);
    for (const iface of node.interfaces) {
      lines.push(
        `  ${iface.ifname.padEnd(9)}  ${iface.ip}/${iface.prefixLength} on ${iface.dockerNetwork}, mac ${iface.mac}`,
      );
    }
    lines.push(`  caps       ${node.capAdd.join(', ')}`);
    if (node.seccomp) lines.push(`  seccomp    ${node.seccomp.name}: ${node.seccomp.description}`);
    const sysctls = Object.entries(node.sysctls).map(([key, value]) => `${key}=${value}`);
    if (sysctls.length > 0) lines.push(`  sysctls    ${sysctls.join(', ')}`);
    lines.push(
      `  /proc/sys  ${node.writableNetSysctls ? "read-only but net (the node's own namespace)" : 'read-only'}`,
    );
    for (const bind of node.binds) lines.push(`  bind       ${bind}`);
    for (const file of node.files) {
      lines.push(`  file       ${file.path} (${file.content.length} bytes)`);
      if (options.files)
        lines.push(
          ...file.content
            .trimEnd()
            .split('\n')
            .map((line) => `             | ${line}`),
        );
    }
    for (const step of node.setup) {
      lines.push(`  setup      ${step.summary}`);
      for (const command of step.commands) lines.push(`             $ ${command}`);
    }
    for (const check of node.readiness)
      lines.push(`  ready when ${describeCheck(check)} (within ${check.timeoutMs / 1000} s)`);
  }
  if (plan.warnings.length > 0) {
    lines.push('');
    for (const warning of plan.warnings) lines.push(`warning: ${warning}`);
  }
  return lines.join('\n');
}

function whereNodeRuns(plan: Plan, placement: string): string {
  if (plan.networks.some((network) => network.members)) return `on pool engine ${placement}`;
  return placement === 'guest' ? 'in the sandbox guest' : 'on the host engine';
}
