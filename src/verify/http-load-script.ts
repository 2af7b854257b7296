/**
 * The http-load step sends HTTP requests at a steady rate while other steps break the lab, to see
 * when requests fail and when they come back. The load must be open-loop: a new request starts every
 * 1/rate seconds whether or not earlier ones answered, or a hung request would pause the traffic and
 * hide the outage it is meant to measure. curl cannot do that from one process, so one perl process
 * (perl-base core modules only: every node image has them) runs an event loop over non-blocking
 * sockets in ONE exec; this module renders it and parses its output back into records.
 */
import { isIPv4 } from 'node:net';
import type { RequestRecord } from './tally.js';

export interface HttpLoadInput {
  /** `http://host[:port][/path]`, host an IPv4 literal or a name. */
  url: string;
  ratePerSecond: number;
  durationMs: number;
  /** The response header tallied (compared without case). */
  header: string;
  /** Used round-robin: request i goes out from sources[i % sources.length]; empty: the kernel picks. */
  sources: string[];
  /** Per request, counted from when it was sent. */
  timeoutMs: number;
  /**
   * Keep sending past `durationMs`, up to `maxDurationMs`, until `stopFile` exists in the node: the
   * runner creates it once the steps run during the traffic have ended, so a slow fault step still
   * has traffic around it.
   */
  stretch?: { maxDurationMs: number; stopFile: string };
}

/** One request: a RequestRecord placed in time. */
export interface LoadRecord extends RequestRecord {
  /** Its number in send order, from 0. */
  seq: number;
  /** Epoch milliseconds (wall clock) when it was started, comparable with the runner's Date.now(). */
  sentAt: number;
}

/** The bounds validation holds a step to and the script asserts again: one set, used by both. */
export const HTTP_LOAD_BOUNDS = {
  minRatePerSecond: 1,
  maxRatePerSecond: 500,
  minDurationMs: 1_000,
  maxDurationMs: 600_000,
  minTimeoutMs: 50,
  maxTimeoutMs: 30_000,
  /** ratePerSecond × duration: bounds the output and the records kept in memory. */
  maxRequests: 30_000,
} as const;

/** Perl start-up, name resolution and a busy node running late, on top of duration + timeout. */
const EXEC_SLACK_MS = 15_000;

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const STOP_FILE = /^\/tmp\/lblab-load-[a-z0-9]{1,32}$/;
// Printable ASCII without blank, quotes, `#` or backslash: the path goes verbatim into the request line.
const HTTP_URL =
  /^http:\/\/[A-Za-z0-9][A-Za-z0-9.-]{0,252}(?::\d{1,5})?(?:\/[\x21\x24-\x26\x28-\x5b\x5d-\x7e]*)?$/;

/** Requests i = 0, 1, ... are due at i / rate seconds while that is before the end: ceil(rate × s). */
export function httpLoadRequestCount(
  input: Pick<HttpLoadInput, 'ratePerSecond' | 'durationMs' | 'stretch'>,
): number {
  // Integer arithmetic, the same expression as the script's, so both agree on the count.
  const ms = input.stretch?.maxDurationMs ?? input.durationMs;
  return Math.floor((input.ratePerSecond * ms + 999) / 1000);
}

function assertLoadInput(input: HttpLoadInput): void {
  const { url, ratePerSecond, durationMs, header, sources, timeoutMs } = input;
  const b = HTTP_LOAD_BOUNDS;
  const within = (value: number, min: number, max: number) =>
    Number.isInteger(value) && value >= min && value <= max;
  if (!within(ratePerSecond, b.minRatePerSecond, b.maxRatePerSecond)) {
    throw new Error(
      `http-load: rate must be an integer from ${b.minRatePerSecond} to ${b.maxRatePerSecond} per second, not ${ratePerSecond}`,
    );
  }
  if (!within(durationMs, b.minDurationMs, b.maxDurationMs)) {
    throw new Error(
      `http-load: duration must be ${b.minDurationMs}..${b.maxDurationMs} ms (whole ms), not ${durationMs}`,
    );
  }
  if (!within(timeoutMs, b.minTimeoutMs, b.maxTimeoutMs)) {
    throw new Error(
      `http-load: per-request timeout must be ${b.minTimeoutMs}..${b.maxTimeoutMs} ms (whole ms), not ${timeoutMs}`,
    );
  }
  const { stretch } = input;
  if (stretch && !within(stretch.maxDurationMs, durationMs, b.maxDurationMs)) {
    throw new Error(
      `http-load: the longest stretch must be ${durationMs}..${b.maxDurationMs} ms, not ${stretch.maxDurationMs}`,
    );
  }
  if (stretch && !STOP_FILE.test(stretch.stopFile)) {
    throw new Error(`http-load: stop file "${stretch.stopFile}" is not /tmp/lblab-load-<letters and digits>`);
  }
  const requests = httpLoadRequestCount(input);
  if (requests > b.maxRequests) {
    throw new Error(`http-load: rate × duration is ${requests} requests, more than ${b.maxRequests}`);
  }
  if (!HEADER_NAME.test(header)) throw new Error(`http-load: header "${header}" is not an HTTP header name`);
  const port = /:(\d+)$/.exec(url.slice('http://'.length).split('/')[0] ?? '')?.[1];
  if (!HTTP_URL.test(url) || (port !== undefined && (Number(port) < 1 || Number(port) > 65_535))) {
    throw new Error(
      `http-load: url "${url}" is not http://host[:port][/path] (no https; no blanks, quotes, # or backslashes)`,
    );
  }
  for (const source of sources) {
    if (!isIPv4(source)) throw new Error(`http-load: source "${source}" is not an IPv4 address`);
  }
}

// Every value arrives in @ARGV (after `--`), none is spliced into the source, and the script checks
// them again itself: it is the one that opens sockets. Times: the schedule, latencies and timeouts
// use the monotonic clock (a wall-clock step must not bend them); only sentAt is wall clock, since
// the runner lines it up with fault times it takes with Date.now().
//
// Output: one line per request when it ends,
// `seq \t sourceIndex \t sentEpochMs \t latencyMs \t status \t header \t error`, then `done \t sent`.
const SCRIPT = String.raw`use strict; use warnings;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_ERROR inet_aton pack_sockaddr_in);
use IO::Select; use POSIX qw(F_GETFL F_SETFL O_NONBLOCK);
use Errno qw(EINPROGRESS EAGAIN EWOULDBLOCK EINTR ECONNREFUSED EHOSTUNREACH ENETUNREACH EADDRNOTAVAIL ECONNRESET EPIPE ETIMEDOUT);
use Time::HiRes qw(time clock_gettime CLOCK_MONOTONIC);
$| = 1;
$SIG{PIPE} = 'IGNORE';
sub bad { print STDERR "lblab http-load: $_[0]\n"; exit 2; }
@ARGV >= 7 or bad('usage: URL RATE DURATION_MS HEADER TIMEOUT_MS MAX_DURATION_MS STOP_FILE|- [SOURCE...]');
my ($url, $rate, $duration_ms, $header, $timeout_ms, $max_ms, $stop_file, @sources) = @ARGV;
my ($host, $port, $path) = $url =~ m{^http://([A-Za-z0-9][A-Za-z0-9.-]{0,252})(?::(\d{1,5}))?(/[\x21\x24-\x26\x28-\x5b\x5d-\x7e]*)?\z}
  or bad("url $url is not http://host[:port][/path]");
$port //= 80; $path //= '/';
$port >= 1 && $port <= 65535 or bad("port $port is not 1..65535");
$rate =~ /^\d+\z/ && $rate >= 1 && $rate <= 500 or bad("rate $rate is not 1..500 per second");
$duration_ms =~ /^\d+\z/ && $duration_ms >= 1000 && $duration_ms <= 600000 or bad("duration $duration_ms is not 1000..600000 ms");
$timeout_ms =~ /^\d+\z/ && $timeout_ms >= 50 && $timeout_ms <= 30000 or bad("timeout $timeout_ms is not 50..30000 ms");
$max_ms =~ /^\d+\z/ && $max_ms >= $duration_ms && $max_ms <= 600000 or bad("max duration $max_ms is not $duration_ms..600000 ms");
$stop_file eq '-' || $stop_file =~ m{^/tmp/lblab-load-[a-z0-9]{1,32}\z} or bad("stop file $stop_file is not /tmp/lblab-load-*");
my $count = int(($rate * $max_ms + 999) / 1000);
$count <= 30000 or bad("$count requests is more than 30000");
$header =~ /^[A-Za-z0-9][A-Za-z0-9-]{0,63}\z/ or bad("header $header is not a header name");
for (@sources) {
  /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\z/ && $1 <= 255 && $2 <= 255 && $3 <= 255 && $4 <= 255
    or bad("source $_ is not an IPv4 address");
}
my $address = inet_aton($host) or bad("cannot resolve $host");
my $peer = pack_sockaddr_in($port, $address);
my @bind = map { pack_sockaddr_in(0, inet_aton($_)) } @sources;
my $authority = $url =~ m{^http://([^/]+)} ? $1 : $host;
my $request = "GET $path HTTP/1.1\r\nHost: $authority\r\nUser-Agent: lblab-http-load\r\nAccept: */*\r\nConnection: close\r\n\r\n";
my $want = lc $header;
my $timeout = $timeout_ms / 1000;
my $readers = IO::Select->new; my $writers = IO::Select->new;
# Requests in flight by fileno; all requests in send order, which is also their deadlines' order.
my (%live, @order);

sub now { clock_gettime(CLOCK_MONOTONIC) }

sub finish {
  my ($r, $status, $value, $error) = @_;
  my $ms = (now() - $r->{mono}) * 1000;
  if (my $fh = delete $r->{fh}) {
    $readers->remove($fh); $writers->remove($fh);
    delete $live{fileno $fh};
    close $fh;
  }
  $r->{done} = 1;
  $value =~ s/[\t\r\n]/ /g; $error =~ s/[\t\r\n]/ /g;
  printf "%d\t%d\t%.3f\t%.3f\t%d\t%s\t%s\n", $r->{seq}, $r->{source}, $r->{wall} * 1000, $ms, $status, $value, $error;
}

sub failure {
  my ($errno, $what) = @_;
  return 'connection refused' if $errno == ECONNREFUSED;
  return 'unreachable' if $errno == EHOSTUNREACH || $errno == ENETUNREACH;
  return 'connection reset' if $errno == ECONNRESET || $errno == EPIPE;
  return 'timed out' if $errno == ETIMEDOUT;
  local $! = $errno;
  return "$what: $!";
}

sub start {
  my ($seq) = @_;
  my $source = @sources ? $seq % @sources : -1;
  my $r = { seq => $seq, source => $source, wall => time, mono => now(), buffer => '', written => 0 };
  push @order, $r;
  socket(my $fh, PF_INET, SOCK_STREAM, 0) or return finish($r, 0, '', "socket: $!");
  $r->{fh} = $fh;
  my $flags = fcntl($fh, F_GETFL, 0);
  $flags && fcntl($fh, F_SETFL, $flags | O_NONBLOCK) or return finish($r, 0, '', "fcntl: $!");
  if ($source >= 0 && !bind($fh, $bind[$source])) {
    return finish($r, 0, '', $! == EADDRNOTAVAIL ? 'cannot bind source' : "bind: $!");
  }
  if (connect($fh, $peer)) { $r->{connected} = 1; }
  elsif ($! != EINPROGRESS) { return finish($r, 0, '', failure($! + 0, 'connect')); }
  $live{fileno $fh} = $r;
  $writers->add($fh);
}

# Status line and headers, whatever of them arrived: the body does not matter.
sub answer {
  my ($r, $error) = @_;
  my ($head) = split /\r?\n\r?\n/, $r->{buffer}, 2;
  my @lines = split /\r?\n/, $head // '';
  my $first = shift(@lines) // '';
  my ($status) = $first =~ m{^HTTP/\d(?:\.\d)? (\d{3})};
  return finish($r, 0, '', $error // (length $r->{buffer} ? 'not an HTTP response' : 'closed without a response'))
    unless defined $status;
  my $value = '';
  for (@lines) {
    if (/^([^:]+):[ \t]*(.*?)[ \t]*\z/ && lc($1) eq $want) { $value = $2; last; }
  }
  finish($r, $status, $value, '');
}

sub writable {
  my ($r) = @_;
  my $fh = $r->{fh};
  if (!$r->{connected}) {
    my $errno = unpack('i', getsockopt($fh, SOL_SOCKET, SO_ERROR) // pack('i', 0));
    return finish($r, 0, '', failure($errno, 'connect')) if $errno;
    $r->{connected} = 1;
  }
  my $written = syswrite($fh, $request, length($request) - $r->{written}, $r->{written});
  if (!defined $written) {
    return if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
    return finish($r, 0, '', failure($! + 0, 'write'));
  }
  $r->{written} += $written;
  return if $r->{written} < length $request;
  $writers->remove($fh);
  $readers->add($fh);
}

sub readable {
  my ($r) = @_;
  my $got = sysread($r->{fh}, $r->{buffer}, 16384, length $r->{buffer});
  if (!defined $got) {
    return if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
    # A reset after the status line still means the server answered; before it, it did not.
    return answer($r, failure($! + 0, 'read'));
  }
  return answer($r) if $got == 0 || $r->{buffer} =~ /\r?\n\r?\n/ || length $r->{buffer} > 65536;
}

my $t0 = now();
my $next = 0;
while (1) {
  # Due at t0 + i / rate, not "interval after the last": no drift, and overdue requests go out at
  # once rather than being skipped, so every request of the schedule is sent.
  while ($next < $count && now() >= $t0 + $next / $rate) {
    # Past the duration, only a stretch (a stop file not there yet) keeps it going.
    if (($next / $rate) * 1000 >= $duration_ms && ($stop_file eq '-' || -e $stop_file)) { $count = $next; last; }
    start($next++);
  }
  my $now = now();
  while (@order && ($order[0]{done} || $now - $order[0]{mono} >= $timeout)) {
    my $r = shift @order;
    finish($r, 0, '', 'timed out') unless $r->{done};
  }
  last if $next >= $count && !%live;
  my $wait = @order ? $order[0]{mono} + $timeout - $now : 1;
  if ($next < $count) { my $due = $t0 + $next / $rate - $now; $wait = $due if $due < $wait; }
  $wait = 0 if $wait < 0;
  my ($can_read, $can_write) = IO::Select->select($readers, $writers, undef, $wait);
  for my $fh (@{ $can_read // [] }) { my $r = $live{fileno $fh}; readable($r) if $r; }
  for my $fh (@{ $can_write // [] }) { my $r = $live{fileno $fh}; writable($r) if $r && $r->{fh}; }
}
unlink $stop_file if $stop_file ne '-';
print "done\t$next\n";
exit 0;
`;

/** The command (no shell): the script, then every value as its own argument after `--`. */
export function httpLoadCommand(input: HttpLoadInput): string[] {
  assertLoadInput(input);
  const { url, ratePerSecond, durationMs, header, sources, timeoutMs, stretch } = input;
  return [
    'perl',
    '-e',
    SCRIPT,
    '--',
    url,
    String(ratePerSecond),
    String(durationMs),
    header,
    String(timeoutMs),
    String(stretch?.maxDurationMs ?? durationMs),
    stretch?.stopFile ?? '-',
    ...sources,
  ];
}

/** How long the runner lets the exec run: the schedule, the last request's timeout, and slack. */
export function httpLoadExecTimeoutMs(
  input: Pick<HttpLoadInput, 'durationMs' | 'timeoutMs' | 'stretch'>,
): number {
  return (input.stretch?.maxDurationMs ?? input.durationMs) + input.timeoutMs + EXEC_SLACK_MS;
}

const DECIMAL = /^\d+(?:\.\d+)?$/;

/**
 * Records in seq order, and `sent` from the script's last line (absent: the exec was cut short).
 *
 * A request known to have been sent but without a line becomes a failed record, so it still counts
 * against the tally. Known to have been sent: seq < sent, or, without the done line, seq below the
 * highest seq that has a line (requests start in seq order); beyond that nothing is invented.
 * Its sentAt is not known, only bounded: a request starts no earlier than its slot in the schedule
 * and between its neighbours' starts. It gets the earliest time those allow (the schedule's start
 * taken from the lines, the least-delayed one), which is exact unless the script was running late;
 * with no line at all to take the schedule from, sentAt is NaN rather than a made-up time.
 */
export function parseHttpLoadOutput(
  stdout: string,
  input: HttpLoadInput,
): { records: LoadRecord[]; sent: number | undefined } {
  const count = httpLoadRequestCount(input);
  const { sources } = input;
  const sourceOf = (seq: number) =>
    sources.length > 0 ? { source: sources[seq % sources.length] as string } : {};
  const seen = new Map<number, LoadRecord>();
  let sent: number | undefined;
  for (const line of stdout.split('\n')) {
    const done = /^done\t(\d+)$/.exec(line);
    if (done) {
      sent = Math.min(Number(done[1]), count);
      continue;
    }
    const fields = line.split('\t');
    if (fields.length !== 7) continue;
    const [seqText, sourceText, sentText, msText, statusText, header, error] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (!/^\d+$/.test(seqText) || !/^\d{1,3}$/.test(statusText)) continue;
    if (!DECIMAL.test(sentText) || !DECIMAL.test(msText)) continue;
    const seq = Number(seqText);
    const expectedSource = sources.length > 0 ? seq % sources.length : -1;
    if (seq >= count || seen.has(seq) || sourceText !== String(expectedSource)) continue;
    seen.set(seq, {
      seq,
      sentAt: Number(sentText),
      ...sourceOf(seq),
      status: Number(statusText),
      ...(header !== '' && { header }),
      ms: Number(msText),
      ...(error !== '' && { error }),
    });
  }
  const known = sent ?? (seen.size > 0 ? Math.max(...seen.keys()) + 1 : 0);
  const interval = 1000 / input.ratePerSecond;
  let start = Infinity;
  for (const record of seen.values()) start = Math.min(start, record.sentAt - record.seq * interval);
  // The next line's sentAt from each seq on, found walking backwards once.
  const nextSentAt: number[] = [];
  for (let seq = known - 1, after = Infinity; seq >= 0; seq -= 1) {
    after = seen.get(seq)?.sentAt ?? after;
    nextSentAt[seq] = after;
  }
  const records: LoadRecord[] = [];
  for (let seq = 0; seq < known; seq += 1) {
    const record = seen.get(seq);
    if (record) {
      records.push(record);
      continue;
    }
    const after = nextSentAt[seq] ?? Infinity;
    const before = records.at(-1)?.sentAt ?? -Infinity;
    const earliest = Math.min(Math.max(start + seq * interval, before), after);
    records.push({
      seq,
      sentAt: Number.isFinite(earliest) ? Math.round(earliest * 1000) / 1000 : Number.NaN,
      ...sourceOf(seq),
      status: 0,
      ms: 0,
      error: 'no output for this request',
    });
  }
  return { records, sent };
}
