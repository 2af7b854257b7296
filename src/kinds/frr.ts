/** FRR configuration rendering (OSPF today; the daemons file leaves room for bgpd). */
import type { FrrDaemonConfig } from '../plan/plan.js';
import type { ResolvedOspfTimers } from '../topology/types.js';

/** Where every FRR daemon logs (one file, so a failed readiness can show it). */
export const FRR_LOG_PATH = '/var/log/frr/frr.log';

export interface OspfInterface {
  ifname: string;
}

export interface OspfRender {
  hostname: string;
  routerId: string;
  area: string;
  networks: string[];
  interfaces: OspfInterface[];
  timers: ResolvedOspfTimers;
}

export function renderFrrDaemons(): string {
  // frrinit.sh reads this; zebra and staticd always run, ospfd because every routing node speaks OSPF.
  return [
    'zebra=yes',
    'ospfd=yes',
    'bgpd=no',
    'staticd=yes',
    'vtysh_enable=yes',
    'zebra_options="  -A 127.0.0.1 -s 90000000"',
    'ospfd_options="  -A 127.0.0.1"',
    'staticd_options="-A 127.0.0.1"',
    '',
  ].join('\n');
}

export function renderFrrConfig(ospf: OspfRender): string {
  const lines = [
    'frr defaults traditional',
    `hostname ${ospf.hostname}`,
    `log file ${FRR_LOG_PATH} informational`,
    'no ipv6 forwarding',
    '!',
  ];
  for (const iface of ospf.interfaces) {
    lines.push(`interface ${iface.ifname}`);
    if (ospf.timers === 'article') {
      lines.push(' ip ospf hello-interval 1');
      lines.push(' ip ospf dead-interval 4');
    } else {
      // No DR election: an adjacency is Full as soon as hellos and the database exchange are done.
      lines.push(' ip ospf network point-to-multipoint');
      if (ospf.timers === 'fast') {
        lines.push(' ip ospf dead-interval minimal hello-multiplier 4');
      } else {
        lines.push(' ip ospf hello-interval 1');
        lines.push(' ip ospf dead-interval 4');
      }
    }
    lines.push(' ip ospf retransmit-interval 1');
    lines.push('!');
  }
  lines.push('router ospf');
  lines.push(` ospf router-id ${ospf.routerId}`);
  // Adjacency changes in the log: the evidence when a readiness check fails or an adjacency flaps.
  lines.push(' log-adjacency-changes detail');
  if (ospf.timers !== 'article') {
    lines.push(' timers throttle spf 0 0 0');
    lines.push(' timers throttle lsa all 0');
    lines.push(' timers lsa min-arrival 0');
  }
  for (const network of ospf.networks) lines.push(` network ${network} area ${ospf.area}`);
  lines.push('!', 'line vty', '!', '');
  return lines.join('\n');
}

/** The integrated config's lines each daemon must show once it has loaded them (see FrrDaemonConfig). */
export function frrDaemonConfigs(ospf: OspfRender): FrrDaemonConfig[] {
  return [
    {
      daemon: 'ospfd',
      holds: [
        'router ospf',
        `ospf router-id ${ospf.routerId}`,
        ...ospf.networks.map((network) => `network ${network} area ${ospf.area}`),
        ...ospf.interfaces.map((iface) => `interface ${iface.ifname}`),
      ],
    },
  ];
}

export function renderVtyshConf(): string {
  return 'service integrated-vtysh-config\n';
}
