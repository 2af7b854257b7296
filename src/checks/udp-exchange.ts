/**
 * A UDP exchange from inside a node: send one datagram per request, each from a new socket (so a new
 * source port: a new "connection" for IPVS's scheduler), and wait for one datagram back. Perl does
 * it because every node image has perl-base and one perl process runs all requests in one exec;
 * bash's /dev/udp reads a socket a byte at a time, which loses all but the first byte of a datagram.
 *
 * The real servers' nginx answers each datagram with header-like lines (`X-Host: web1`,
 * `X-Remote-IP: 10.77.1.130`), so a UDP tally reads the same names an HTTP tally does.
 */

export interface UdpExchangeInput {
  host: string;
  port: number;
  requests: number;
  /** Per request: how long to wait for the answer. */
  timeoutMs: number;
  /** Source addresses used round-robin (request i from sources[i % n]); empty: the kernel picks. */
  sources: string[];
}

/** One request as the script saw it. */
export interface UdpExchange {
  ms: number;
  /** The answer's lines, when one came. */
  reply?: string[];
  /** Why no answer came (timed out, connection refused, cannot bind the source). */
  error?: string;
}

/** Per request, on top of its timeout: a socket, a send, a select, in perl. */
const PER_REQUEST_OVERHEAD_MS = 20;
const EXEC_SLACK_MS = 10_000;

// Output: one line per request, `index \t seconds \t reply|error \t text`, the reply's newlines as `\n`.
const SCRIPT = `use strict; use warnings;
use IO::Socket::INET; use IO::Select; use Time::HiRes qw(time);
my ($host, $port, $count, $timeout, @sources) = @ARGV;
$| = 1;
for my $i (0 .. $count - 1) {
  my @bind = @sources ? (LocalAddr => $sources[$i % @sources]) : ();
  my $start = time;
  my $socket = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $host, PeerPort => $port, @bind);
  my ($reply, $error) = (undef, '');
  if (!$socket) { $error = "cannot open a socket: " . ($@ || $!); }
  elsif (!defined $socket->send("lblab $i\\n")) { $error = "send: $!"; }
  elsif (!IO::Select->new($socket)->can_read($timeout)) { $error = 'timed out'; }
  elsif (!defined $socket->recv($reply, 4096)) { $error = "$!"; $reply = undef; }
  my $seconds = time - $start;
  close $socket if $socket;
  if (defined $reply) { $reply =~ s/\\r//g; $reply =~ s/\\t/ /g; $reply =~ s/\\n/\\\\n/g; }
  $error =~ s/[\\t\\n]/ /g;
  printf "%d\\t%.6f\\t%s\\t%s\\n", $i, $seconds, defined $reply ? 'reply' : 'error', defined $reply ? $reply : $error;
}
`;

/** The command (no shell: every value is its own argument). */
export function udpExchangeCommand(input: UdpExchangeInput): string[] {
  const { host, port, requests, timeoutMs, sources } = input;
  if (!Number.isInteger(requests) || requests < 1)
    throw new Error(`requests must be at least 1, not ${requests}`);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`port ${port} is not 1..65535`);
  return ['perl', '-e', SCRIPT, host, String(port), String(requests), String(timeoutMs / 1000), ...sources];
}

export function udpExchangeExecTimeoutMs(input: Pick<UdpExchangeInput, 'requests' | 'timeoutMs'>): number {
  return input.requests * (input.timeoutMs + PER_REQUEST_OVERHEAD_MS) + EXEC_SLACK_MS;
}

/**
 * Exactly `requests` exchanges in request order: a request whose line is missing (the exec was cut
 * short, perl is absent) is a failed one rather than a gap.
 */
export function parseUdpExchangeOutput(stdout: string, requests: number): UdpExchange[] {
  const seen = new Map<number, UdpExchange>();
  for (const line of stdout.split('\n')) {
    const match = /^(\d+)\t(\d+(?:\.\d+)?)\t(reply|error)\t(.*)$/.exec(line);
    if (!match) continue;
    const index = Number(match[1]);
    if (index >= requests || seen.has(index)) continue;
    const ms = Math.round(Number(match[2]) * 1_000_000) / 1_000;
    const text = match[4] ?? '';
    seen.set(
      index,
      match[3] === 'reply'
        ? { ms, reply: text.split('\\n').filter((l) => l !== '') }
        : { ms, error: describeError(text) },
    );
  }
  return Array.from(
    { length: requests },
    (_, i) => seen.get(i) ?? { ms: 0, error: 'no output for this request' },
  );
}

/** `X-Host: web1` among the reply's lines -> `web1` (names compared without case, as HTTP does). */
export function replyValue(reply: string[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const line of reply) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted)
      return line.slice(colon + 1).trim();
  }
  return undefined;
}

function describeError(text: string): string {
  if (/refused/i.test(text)) return 'connection refused (nothing listens on that port)';
  if (/assign requested address/i.test(text))
    return "couldn't bind the source address (is it assigned on the node?)";
  return text || 'error';
}
