/**
 * The http-tally step runs ONE POSIX sh script inside the node (one exec for all requests: an exec
 * costs ~60 ms, a curl to the VIP ~5 ms), printing one tab-separated line per request; this module
 * renders that script and parses its output back into records.
 *
 * Needs curl >= 7.84 in the node (`%header{}` in --write-out; `%{exitcode}`/`%{errormsg}` since 7.75).
 */
import { isIPv4 } from 'node:net';
import { shellQuote } from '../util/shell.js';
import { MAX_REQUESTS } from './tally-step.js';
import type { RequestRecord } from './tally.js';

export interface HttpTallyScriptInput {
  url: string;
  requests: number;
  header: string;
  /** Used round-robin: request i goes out from sources[i % sources.length]. */
  sources: string[];
  /** Per request (curl --max-time). */
  timeoutMs: number;
}

/** The bounds validation holds a step to and the script asserts again: one set, used by both. */
export const MIN_REQUEST_TIMEOUT_MS = 50;
export const MAX_REQUEST_TIMEOUT_MS = 120_000;
/** Fork + exec of curl and the shell's own work per iteration, on top of the request itself. */
const PER_REQUEST_OVERHEAD_MS = 100;
const EXEC_SLACK_MS = 10_000;

/** Everything spliced into the script is either a number checked here or a value passed through shellQuote. */
function assertScriptInput(input: HttpTallyScriptInput): void {
  const { url, requests, header, sources, timeoutMs } = input;
  if (!Number.isInteger(requests) || requests < 1 || requests > MAX_REQUESTS) {
    throw new Error(`http-tally: requests must be an integer from 1 to ${MAX_REQUESTS}, not ${requests}`);
  }
  if (
    !Number.isInteger(timeoutMs) ||
    timeoutMs < MIN_REQUEST_TIMEOUT_MS ||
    timeoutMs > MAX_REQUEST_TIMEOUT_MS
  ) {
    throw new Error(
      `http-tally: per-request timeout must be ${MIN_REQUEST_TIMEOUT_MS}..${MAX_REQUEST_TIMEOUT_MS} ms, not ${timeoutMs}`,
    );
  }
  // The header name lands inside curl's --write-out `%header{...}`: a `}` or `%` would change its meaning.
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(header)) {
    throw new Error(`http-tally: header "${header}" is not an HTTP header name`);
  }
  // A URL starting with `-` would be read by curl as an option; a quote, backslash or blank would end
  // or bend the double-quoted `url = "..."` line of curl's config.
  if (!/^https?:\/\/[^"\\\s]*$/.test(url)) throw new Error(`http-tally: url "${url}" is not an http(s) URL`);
  for (const source of sources) {
    if (!isIPv4(source)) throw new Error(`http-tally: source "${source}" is not an IPv4 address`);
  }
}

/**
 * One curl process per source (all requests of a source as a URL list read from `-K -`), not one per
 * request: under the sandbox's UML kernel a fork+exec of curl costs ~150 ms, a request ~5 ms.
 * `Connection: close` makes every request a new TCP connection with a new source port, which is what
 * the hash-policy experiment is about. Requests keep their round-robin assignment: request i goes out
 * from sources[i % n], which is request j of group i % n with i = group + j * n.
 *
 * Output: one line per request,
 * `group \t urlnum \t http_code \t time_total \t curl_exit \t header \t curl_error`.
 */
export function renderHttpTallyScript(input: HttpTallyScriptInput): string {
  assertScriptInput(input);
  const { url, requests, header, sources, timeoutMs } = input;
  const writeOut = shellQuote(
    `\\t%{urlnum}\\t%{http_code}\\t%{time_total}\\t%{exitcode}\\t%header{${header.toLowerCase()}}\\t%{errormsg}\\n`,
  );
  const groups = Math.max(sources.length, 1);
  const calls = Array.from({ length: Math.min(groups, requests) }, (_, group) => {
    const count = Math.floor((requests - group - 1) / groups) + 1;
    const source = sources[group];
    return `tally ${group} ${count}${source ? ` --interface ${shellQuote(source)}` : ''}`;
  });
  return [
    '#!/bin/sh',
    `# lblab http-tally: ${requests} requests, one line each: group, request in group, status, seconds, curl exit, header, curl error`,
    `url=${shellQuote(url)}`,
    '# tally GROUP COUNT [curl options]: COUNT requests to $url, each on a new connection',
    'tally() {',
    '  group=$1 count=$2',
    '  shift 2',
    '  j=0',
    '  while [ "$j" -lt "$count" ]; do',
    `    printf 'url = "%s"\\noutput = "/dev/null"\\n' "$url"`,
    '    j=$((j + 1))',
    '  done |',
    `    curl -s -K - -H 'Connection: close' --noproxy '*' --max-time ${timeoutMs / 1000} "$@" -w "$group"${writeOut}`,
    '}',
    ...calls,
    'exit 0',
    '',
  ].join('\n');
}

/** How long the runner lets the whole script run before giving up on the exec. */
export function httpTallyExecTimeoutMs(input: Pick<HttpTallyScriptInput, 'requests' | 'timeoutMs'>): number {
  return input.requests * (input.timeoutMs + PER_REQUEST_OVERHEAD_MS) + EXEC_SLACK_MS;
}

const CURL_ERRORS: Record<number, string> = {
  6: "couldn't resolve host",
  7: "couldn't connect",
  28: 'timed out',
  45: "couldn't bind the source address (is it assigned on the node?)",
  52: 'empty reply from server',
  56: 'connection reset',
};

/**
 * Records in request order, exactly `requests` of them: a request whose line is missing (the exec was
 * cut short, curl is absent) becomes a failed record rather than disappearing from the tally.
 */
export function parseHttpTallyOutput(
  stdout: string,
  input: Pick<HttpTallyScriptInput, 'requests' | 'sources'>,
): RequestRecord[] {
  const { requests, sources } = input;
  const groups = Math.max(sources.length, 1);
  const sourceOf = (index: number) =>
    sources.length > 0 ? { source: sources[index % sources.length] as string } : {};
  const records = new Map<number, RequestRecord>();
  for (const line of stdout.split('\n')) {
    const fields = line.split('\t');
    if (fields.length < 7) continue;
    const [groupText = '', urlnumText = '', statusText = '', timeText = '', exitText = ''] = fields;
    if (!/^\d+$/.test(groupText) || !/^\d+$/.test(urlnumText)) continue;
    const group = Number(groupText);
    const index = group + Number(urlnumText) * groups;
    if (group >= groups || index >= requests || records.has(index)) continue;
    const status = /^\d{3}$/.test(statusText) ? Number(statusText) : 0;
    const seconds = Number(timeText);
    const exit = /^\d+$/.test(exitText) ? Number(exitText) : -1;
    const header = fields.slice(5, -1).join('\t');
    const curlMessage = fields[fields.length - 1] ?? '';
    records.set(index, {
      ...sourceOf(index),
      status,
      ...(header !== '' && { header }),
      ms: Number.isFinite(seconds) ? Math.round(seconds * 1_000_000) / 1_000 : 0,
      ...(exit !== 0 && { error: `curl exit ${exit}: ${CURL_ERRORS[exit] ?? (curlMessage || 'error')}` }),
    });
  }
  return Array.from(
    { length: requests },
    (_, index) =>
      records.get(index) ?? { ...sourceOf(index), status: 0, ms: 0, error: 'no output for this request' },
  );
}
