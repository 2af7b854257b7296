/** FRR configuration rendering (OSPF today; the daemons file leaves room for bgpd). */
import type { FrrDaemonConfig } from '../checks/frr-config.js';
import type { ResolvedOspfTimers } from '../core/topology.js';

/** Where every FRR daemon logs (one file, so a failed readiness can show it). */
export const FRR_LOG_PATH = '/var/log/frr/frr.log';

export interface OspfInterface {
  ifname: string;
  /**
   * Set where the network carries no multicast (a Swarm overlay across engines): hellos go by
   * unicast to these neighbours (non-broadcast), and `priority` 0 keeps the node from being DR.
   */
  unicast?: { priority: number; neighbors: string[] };
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
    if (iface.unicast) {
      // No multicast here: non-broadcast, hellos to the neighbours named under router ospf. Its
      // defaults (hello 30 s, dead 120 s) would take minutes, so the profile's steady timers.
      lines.push(' ip ospf network non-broadcast');
      lines.push(' ip ospf hello-interval 1');
      lines.push(' ip ospf dead-interval 4');
      lines.push(` ip ospf priority ${iface.unicast.priority}`);
    } else if (ospf.timers === 'article') {
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
  // A neighbour that stops answering is polled every second, so it is back soon after it returns.
  for (const neighbor of unicastNeighbors(ospf)) lines.push(` neighbor ${neighbor} poll-interval 1`);
  lines.push('!', 'line vty', '!', '');
  return lines.join('\n');
}

function unicastNeighbors(ospf: OspfRender): string[] {
  return [...new Set(ospf.interfaces.flatMap((iface) => iface.unicast?.neighbors ?? []))];
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

/** Where the setup script's own check that ospfd took its config is written (see below). */
export const FRR_CONFIG_LOADED_SCRIPT = '/etc/lblab/frr-config-loaded.sh';

/**
 * Run by the setup script right after FRR starts, in the node (no exec round trip, which costs
 * seconds on the sandbox): waits until ospfd answers and, if FRR's own boot-time load missed it, loads
 * the integrated config itself. Bounded, and never fails setup: the frr-config readiness check judges
 * the result and says what is missing.
 */
export function renderFrrConfigLoadedScript(): string {
  return `# Rendered by lblab: make sure ospfd holds frr.conf (FRR's own load can miss a slow daemon).
holds_config() { vtysh -d ospfd -c 'show running-config' 2>/dev/null | grep -q '^router ospf'; }
answers() { vtysh -d ospfd -c 'show version' >/dev/null 2>&1; }
for second in $(seq 1 ${FRR_ANSWER_WAIT_SECONDS}); do answers && break; sleep 1; done
# Give FRR's own load a moment, then load the file ourselves, a bounded number of times.
for attempt in 1 2 3 4 5; do
  holds_config && exit 0
  if [ "$attempt" -gt 2 ]; then
    echo "lblab: ospfd runs without its config; loading /etc/frr/frr.conf"
    vtysh -b || true
  fi
  sleep 1
done
echo "lblab: ospfd still lacks its config; the readiness check will say what is missing"
`;
}

/** How long setup waits for ospfd to answer vtysh at all (the guest can take this long when busy). */
const FRR_ANSWER_WAIT_SECONDS = 60;

export function renderVtyshConf(): string {
  return 'service integrated-vtysh-config\n';
}
