/**
 * PID 1 of the sandbox guest, as a POSIX shell script. There is no init system in the guest root:
 * this script mounts what Docker needs, loads the kernel modules (IPVS among them), brings up the
 * link to the host, starts containerd and dockerd, then waits for the host to ask for a halt.
 *
 * It is rewritten at every start, so it can carry the link address and dockerd flags without
 * forcing a rebuild of the guest root.
 */
import { shellQuote } from '../util/shell.js';

/** What dockerd needs for bridge networks, veth pairs and overlay2, plus IPVS and its schedulers. */
export const BASE_GUEST_MODULES = [
  'overlay',
  'bridge',
  'veth',
  'ip_tables',
  'iptable_filter',
  'nf_conntrack',
  'ip_vs',
  // Every scheduler the course names (seed 002), loaded up front: a director's first use then
  // needs no module load inside the guest.
  'ip_vs_rr',
  'ip_vs_wrr',
  'ip_vs_sh',
  'ip_vs_dh',
  'ip_vs_lc',
  'ip_vs_wlc',
  'ip_vs_sed',
  'ip_vs_nq',
  'ip_vs_lblc',
  'ip_vs_lblcr',
  // LVS-TUN's real servers unwrap IPIP on tunl0, which every network namespace gets once it is loaded.
  'ipip',
  // Lab links: a sandbox lab network is a macvlan on a vecN in here (see lab-links.ts).
  'macvlan',
] as const;

/**
 * Only needed when dockerd manages iptables. br_netfilter is left out otherwise on purpose: loaded,
 * it sends every bridged lab packet through the guest's own netfilter and conntrack.
 */
export const DOCKER_IPTABLES_MODULES = [
  'br_netfilter',
  'iptable_nat',
  'nf_nat',
  'xt_MASQUERADE',
  'xt_addrtype',
  'xt_conntrack',
  'xt_nat',
] as const;

export const DOCKER_API_PORT = 2375;
/** The guest halts when the host sends "halt" to this port (see stopSandbox). */
export const HALT_PORT = 2376;
export const HALT_REQUEST = 'halt';

export interface GuestInitOptions {
  guestAddress: string;
  prefixLength: number;
  /** Kernel modules to load before containerd starts. */
  modules: readonly string[];
  /** Appended to dockerd's fixed flags (listen address, TLS off, containerd socket). */
  dockerdFlags: readonly string[];
  dockerApiPort?: number;
  haltPort?: number;
  /** The lab links' guest ends (vec1...): up, unaddressed, for the macvlan networks on them. */
  labInterfaces?: readonly string[];
}

export function guestKernelModules(dockerIptables: boolean): string[] {
  return dockerIptables ? [...BASE_GUEST_MODULES, ...DOCKER_IPTABLES_MODULES] : [...BASE_GUEST_MODULES];
}

/**
 * dockerd's iptables management costs ~30 ms per iptables call under UML (about 100 calls at start,
 * ~20 per network) and lab traffic is routed by the lab's own containers, needing no NAT: off
 * unless asked for.
 */
export function defaultDockerdFlags(dockerIptables: boolean): string[] {
  return dockerIptables ? [] : ['--iptables=false'];
}

export function renderGuestInit(options: GuestInitOptions): string {
  const apiPort = options.dockerApiPort ?? DOCKER_API_PORT;
  const haltPort = options.haltPort ?? HALT_PORT;
  const address = `${options.guestAddress}/${options.prefixLength}`;
  const dockerd = [
    'dockerd',
    `--host=tcp://${options.guestAddress}:${apiPort}`,
    // Without an explicit --tls=false, dockerd 20.10 sleeps 15 s to warn about a plain TCP socket.
    '--tls=false',
    '--containerd=/run/containerd/containerd.sock',
    '--log-level=warn',
    // Lab containers need no grace period, and a halt should take seconds.
    '--shutdown-timeout=2',
    ...options.dockerdFlags,
  ]
    .map(shellQuote)
    .join(' ');

  return `#!/bin/sh
# PID 1 of lblab's sandbox guest. Rendered by lblab (src/sandbox/guest-init.ts) and rewritten at every
# start: edits here are lost.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "lblab-init: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666,newinstance devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Hand every controller down from the root cgroup, so containers can have their own limits.
for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$controller" > /sys/fs/cgroup/cgroup.subtree_control
done
hostname lblab-sandbox

# overlay2 cannot put its upper layers on hostfs: Docker's storage is the ubd disk.
mkdir -p /var/lib/docker
if ! mount -t ext4 -o noinit_itable /dev/ubda /var/lib/docker; then
  say "cannot mount the Docker disk /dev/ubda; halting"
  poweroff -f
fi

modprobe -a ${options.modules.map(shellQuote).join(' ')} || say "some kernel modules did not load"
[ -e /proc/net/ip_vs ] || say "IPVS is not available"

ip link set lo up
ip addr add ${address} dev vec0
ip link set vec0 up
${(options.labInterfaces ?? []).map((iface) => `ip link set ${shellQuote(iface)} up`).join('\n')}

# The engine API and the halt port are for the host, over the tap link; not for containers in here.
# The UML kernel has no nf_tables for IPv4: only the legacy iptables works.
iptables-legacy -A INPUT -p tcp --dport ${apiPort} ! -i vec0 -j DROP
iptables-legacy -A INPUT -p tcp --dport ${haltPort} ! -i vec0 -j DROP

mkdir -p /run/lblab
# The CRI plugin (for Kubernetes) costs seconds to start under UML and nothing here uses it.
printf 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n' > /run/lblab/containerd.toml
containerd --config /run/lblab/containerd.toml --log-level warn &
containerd_pid=$!
${dockerd} &
dockerd_pid=$!

say "started containerd and dockerd; waiting for a halt request on port ${haltPort}"
until [ "$(busybox nc -l -p ${haltPort} < /dev/null)" = ${HALT_REQUEST} ]; do sleep 0.2; done

say "halting"
# stop_daemon PID SECONDS: SIGTERM, then SIGKILL if it is still there after SECONDS.
stop_daemon() {
  kill -TERM "$1" 2> /dev/null
  (sleep "$2"; kill -KILL "$1" 2> /dev/null) &
  wait "$1"
}
stop_daemon "$dockerd_pid" 15
stop_daemon "$containerd_pid" 5
kill -KILL -1
sync
# The ext4 disk must be clean for the next boot: unmount it, or at least leave it read-only.
umount -R /var/lib/docker || mount -o remount,ro /var/lib/docker
sync
poweroff -f
`;
}
