/**
 * A delay line in user space, for kernels without netem (sch_netem): the `impair` step's second way
 * to make a bad link. Many distribution and CI kernels leave netem out, and the nftables DR stand-in
 * forwards in the netdev hook, past netfilter's IP hooks, so only something at the interface's egress
 * sees every frame a node sends. The line is:
 *
 *   eth0 egress --tc u32 + mirred redirect--> tap lbdelay<ifindex> --perl: hold, drop, pace-->
 *   packet socket on eth0 with PACKET_QDISC_BYPASS (skips eth0's egress filter, so no loop) --> wire
 *
 * It delays, jitters (uniform, reordering as netem does), drops (loss) and paces (rate, then delay, as
 * netem does) every frame, ARP and OSPF included. The perl process holds the frames; the node must
 * have NET_ADMIN (every kind has), since a helper container would take the process with it.
 *
 * State lives in the node at /run/lblab-delay-<dev> (`key=value` lines), so a later step or the undo
 * can read what is set and put it back.
 */
/** A bad link's figures, as the impair step gives them. */
export interface Impairment {
  delayMs?: number;
  jitterMs?: number;
  /** Percent of packets dropped. */
  lossPercent?: number;
  /** tc's rate, e.g. `10mbit`. */
  rate?: string;
}

/** What a running delay line on an interface was started with. */
export interface DelayLineState {
  pid: number;
  delayMs: number;
  jitterMs: number;
  lossPercent: number;
  rateBitsPerSecond: number;
}

const RATE_UNITS: Readonly<Record<string, number>> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** tc's rate (`10mbit`, `512kbit`, `1mbps` = bytes) in bits per second, or undefined when it is not one. */
export function rateBitsPerSecond(rate: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(rate.trim());
  if (!match) return undefined;
  const unit = RATE_UNITS[(match[2] ?? '').toLowerCase() || 'bit'];
  const bits = unit === undefined ? NaN : Number(match[1]) * unit;
  return Number.isFinite(bits) && bits >= 1 ? Math.round(bits) : undefined;
}

/** The state file's path for an interface (validated names only: it goes into a shell argument). */
export function delayLineStateFile(dev: string): string {
  return `/run/lblab-delay-${dev}`;
}

/** Reads a state file's `key=value` lines; undefined when there is no running line. */
export function parseDelayLineState(text: string): DelayLineState | undefined {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z]+)=(\d+(?:\.\d+)?)$/.exec(line.trim());
    if (match) values.set(match[1]!, Number(match[2]));
  }
  const pid = values.get('pid');
  if (pid === undefined) return undefined;
  return {
    pid,
    delayMs: values.get('delay') ?? 0,
    jitterMs: values.get('jitter') ?? 0,
    lossPercent: values.get('loss') ?? 0,
    rateBitsPerSecond: values.get('rate') ?? 0,
  };
}

/** The impairment a state describes, as the step would write it (to start it again on undo). */
export function impairmentOf(state: DelayLineState): Impairment {
  return {
    ...(state.delayMs > 0 && { delayMs: state.delayMs }),
    ...(state.jitterMs > 0 && { jitterMs: state.jitterMs }),
    ...(state.lossPercent > 0 && { lossPercent: state.lossPercent }),
    ...(state.rateBitsPerSecond > 0 && { rate: `${state.rateBitsPerSecond}bit` }),
  };
}

// The frames' path: tap in, packet socket out. Every value arrives in @ARGV and is checked again.
// Times on the monotonic clock. Prints `ready` once the tap and the socket are open (the launcher
// waits for it), and on SIGTERM sends every frame it still holds at once, then exits.
const SCRIPT = String.raw`use strict; use warnings;
use Socket qw(SOCK_RAW); use Fcntl qw(O_RDWR F_GETFL F_SETFL O_NONBLOCK);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);
$| = 1;
sub bad { print STDERR "lblab delay line: $_[0]\n"; exit 2; }
@ARGV == 6 or bad('usage: DEV TAP DELAY_MS JITTER_MS LOSS_PERCENT RATE_BITS_PER_S');
my ($dev, $tap, $delay_ms, $jitter_ms, $loss, $rate) = @ARGV;
$dev =~ /^[A-Za-z0-9_.@-]{1,15}\z/ or bad("interface $dev");
$tap =~ /^lbdelay\d{1,8}\z/ or bad("tap $tap");
$delay_ms =~ /^\d{1,5}\z/ && $delay_ms <= 60000 or bad("delay $delay_ms ms");
$jitter_ms =~ /^\d{1,5}\z/ && $jitter_ms <= 60000 or bad("jitter $jitter_ms ms");
$loss =~ /^\d{1,3}(?:\.\d+)?\z/ && $loss <= 100 or bad("loss $loss %");
$rate =~ /^\d{1,13}\z/ or bad("rate $rate bit/s");
sysopen(my $tun, '/dev/net/tun', O_RDWR) or bad("/dev/net/tun: $!");
# struct ifreq: name, then flags IFF_TAP | IFF_NO_PI; TUNSETIFF = _IOW('T', 202, int).
ioctl($tun, 0x400454ca, pack('Z16 s x22', $tap, 0x0002 | 0x1000)) or bad("TUNSETIFF $tap: $!");
fcntl($tun, F_SETFL, fcntl($tun, F_GETFL, 0) | O_NONBLOCK) or bad("O_NONBLOCK: $!");
open(my $idx, '<', "/sys/class/net/$dev/ifindex") or bad("no interface $dev: $!");
my $ifindex = <$idx>; close $idx; chomp $ifindex;
# AF_PACKET, protocol 0: sends only. PACKET_QDISC_BYPASS (SOL_PACKET 263, option 20) skips the
# interface's qdisc and egress filter, where the redirect into the tap sits.
socket(my $out, 17, SOCK_RAW, 0) or bad("packet socket: $!");
setsockopt($out, 263, 20, pack('i', 1)) or bad("PACKET_QDISC_BYPASS: $!");
bind($out, pack('S n i S C C a8', 17, 0, $ifindex, 0, 0, 0, '')) or bad("bind to $dev: $!");
my $stop = 0;
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { $stop = 1 };
my ($delay, $jitter) = ($delay_ms / 1000, $jitter_ms / 1000);
my $limit = 1000;    # frames held at most, as netem's default limit
my (@held, $link_free);
my ($passed, $lost, $overflow) = (0, 0, 0);
$link_free = 0;
sub now { clock_gettime(CLOCK_MONOTONIC) }
print "ready $$\n";
my $rin = ''; vec($rin, fileno($tun), 1) = 1;
until ($stop) {
  my $t = now();
  while (@held && $held[0][0] <= $t) { my $frame = shift @held; $passed++ if send($out, $frame->[1], 0); }
  my $wait = @held ? $held[0][0] - $t : 1;
  $wait = 0 if $wait < 0;
  my $ready = select(my $rout = $rin, undef, undef, $wait);
  next unless $ready && $ready > 0;
  while (1) {
    my $got = sysread($tun, my $frame, 65600);
    last unless $got;
    if ($loss > 0 && rand(100) < $loss) { $lost++; next; }
    if (@held >= $limit) { $overflow++; next; }
    my $at = now();
    if ($rate > 0) {
      # The link sends one frame at a time: this one starts when the last has gone.
      $link_free = $at if $link_free < $at;
      $link_free += length($frame) * 8 / $rate;
      $at = $link_free;
    }
    $at += $delay + ($jitter > 0 ? (2 * rand() - 1) * $jitter : 0);
    my $i = @held;
    $i-- while $i > 0 && $held[$i - 1][0] > $at;
    splice(@held, $i, 0, [$at, $frame]);
  }
}
send($out, $_->[1], 0) for @held;
print "stopped: $passed passed, $lost lost, $overflow over the limit, " . scalar(@held) . " sent at once\n";
`;

// Starts the line: clsact on the interface (kept if it was there), the perl process (its log in
// /run), the tap up, then the redirect. The state file is written before the redirect, so the clear
// script can take back a start that failed half-way.
const START = String.raw`set -u
dev=$1 delay=$2 jitter=$3 loss=$4 rate=$5 script=$6
state=/run/lblab-delay-$dev log=/run/lblab-delay-$dev.log
[ -e "/sys/class/net/$dev" ] || { echo "no interface $dev" >&2; exit 3; }
tap=lbdelay$(cat "/sys/class/net/$dev/ifindex")
[ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; } || { echo "cannot make /dev/net/tun" >&2; exit 3; }
clsact=0
tc qdisc show dev "$dev" | grep -q '^qdisc clsact' || { tc qdisc add dev "$dev" clsact || exit 3; clsact=1; }
setsid perl -e "$script" -- "$dev" "$tap" "$delay" "$jitter" "$loss" "$rate" </dev/null >"$log" 2>&1 &
pid=$!
printf 'pid=%s\nclsact=%s\ndelay=%s\njitter=%s\nloss=%s\nrate=%s\n' "$pid" "$clsact" "$delay" "$jitter" "$loss" "$rate" >"$state"
i=0
until grep -q '^ready' "$log" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 4; }
  i=$((i + 1)); [ "$i" -le 300 ] || { echo "the delay line did not start in 30 s" >&2; exit 4; }
  sleep 0.1
done
# The tap is only a way into the perl process: no IPv6 of its own (its router solicitations would go
# out on the link), the interface's MTU.
{ echo 1 >"/proc/sys/net/ipv6/conf/$tap/disable_ipv6"; } 2>/dev/null
ip link set dev "$tap" mtu "$(cat "/sys/class/net/$dev/mtu")" up || exit 5
tc filter add dev "$dev" egress pref 49 protocol all u32 match u32 0 0 action mirred egress redirect dev "$tap" || exit 5
tc filter show dev "$dev" egress | grep -q "Redirect to device $tap" || { echo "the redirect into $tap is not in place" >&2; exit 6; }
kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 6; }
echo "$dev: frames through $tap, held by pid $pid"
`;

// Removes the line on an interface when there is one: the redirect first (frames go straight out
// again), then the process (it sends what it holds), then clsact if the line added it.
const CLEAR = String.raw`dev=$1 state=/run/lblab-delay-$1 log=/run/lblab-delay-$1.log
[ -f "$state" ] || exit 0
pid=$(sed -n 's/^pid=//p' "$state") clsact=$(sed -n 's/^clsact=//p' "$state")
tc filter del dev "$dev" egress pref 49 2>/dev/null
# Only the line's own process: a pid from before a restart may name another one now.
if [ -n "$pid" ] && grep -q 'lblab delay line' "/proc/$pid/cmdline" 2>/dev/null && kill -TERM "$pid"; then
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
fi
[ "$clsact" = 1 ] && tc qdisc del dev "$dev" clsact 2>/dev/null
rm -f "$state"
sed -n 's/^stopped: /frames on the line: /p' "$log" 2>/dev/null
rm -f "$log"
if tc filter show dev "$dev" egress 2>/dev/null | grep -q 'Redirect to device lbdelay'; then
  echo "the redirect on $dev is still there" >&2; exit 1
fi
echo "$dev: delay line removed"
`;

function assertDev(dev: string): void {
  if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(dev)) throw new Error(`delay line: "${dev}" is not an interface name`);
}

/** The command that starts a delay line with the impairment on `dev` (in the node's namespace). */
export function startDelayLineCommand(dev: string, impairment: Impairment): string[] {
  assertDev(dev);
  const rate = impairment.rate === undefined ? 0 : rateBitsPerSecond(impairment.rate);
  if (rate === undefined) throw new Error(`delay line: rate "${impairment.rate}" is not a tc rate`);
  return [
    'sh',
    '-c',
    START,
    'delay-line',
    dev,
    String(Math.round(impairment.delayMs ?? 0)),
    String(Math.round(impairment.jitterMs ?? 0)),
    String(impairment.lossPercent ?? 0),
    String(rate),
    SCRIPT,
  ];
}

/** The command that removes a delay line on `dev` if one runs (exit 0 either way, unless it stays). */
export function clearDelayLineCommand(dev: string): string[] {
  assertDev(dev);
  return ['sh', '-c', CLEAR, 'delay-line', dev];
}

/** The perl program alone (for a syntax check). */
export const DELAY_LINE_SCRIPT = SCRIPT;
