/** FRR configuration rendering (OSPF today; the daemons file leaves room for bgpd). */
import type { OspfTimers } from '../topology/types.js';

export interface OspfInterface {
  ifname: string;
}

export interface OspfRender {
  hostname: string;
  routerId: string;
  area: string;
  networks: string[];
  interfaces: OspfInterface[];
  timers: OspfTimers;
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
    'log stdout informational',
    'no ipv6 forwarding',
    '!',
  ];
  for (const iface of ospf.interfaces) {
    lines.push(`interface ${iface.ifname}`);
    if (ospf.timers === 'fast') {
      // No DR election and a sub-second dead interval: adjacencies and ECMP in well under a second.
      lines.push(' ip ospf network point-to-multipoint');
      lines.push(' ip ospf dead-interval minimal hello-multiplier 4');
    } else {
      lines.push(' ip ospf hello-interval 1');
      lines.push(' ip ospf dead-interval 4');
    }
    lines.push(' ip ospf retransmit-interval 1');
    lines.push('!');
  }
  lines.push('router ospf');
  lines.push(` ospf router-id ${ospf.routerId}`);
  if (ospf.timers === 'fast') {
    lines.push(' timers throttle spf 0 0 0');
    lines.push(' timers throttle lsa all 0');
    lines.push(' timers lsa min-arrival 0');
  }
  for (const network of ospf.networks) lines.push(` network ${network} area ${ospf.area}`);
  lines.push('!', 'line vty', '!', '');
  return lines.join('\n');
}

export function renderVtyshConf(): string {
  return 'service integrated-vtysh-config\n';
}
