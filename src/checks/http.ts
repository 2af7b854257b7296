/** http: a GET from the node answers with a status (and, for lblab's own servers, an identity header). */
import type { ReadinessCheck } from '../core/plan.js';
import { defineCheckType, type Observation } from './check-type.js';

export interface HttpCheck extends ReadinessCheck {
  type: 'http';
  url: string;
  status: number;
  /** A response header that proves the server runs its own configuration, not a default one. */
  header?: { name: string; value: string };
}

const DEFAULT_STATUS = 200;

export const httpCheck = defineCheckType<HttpCheck>({
  type: 'http',
  waitKey: 'http',
  parse: (wait, timeoutMs) => ({
    type: 'http',
    node: wait.node,
    url: wait.http as string,
    status: (wait.status as number | undefined) ?? DEFAULT_STATUS,
    timeoutMs,
  }),
  issues: (check, { at }) => urlIssues(check.url, at('http')),
  describe: (check) =>
    `HTTP ${check.status}${check.header ? ` with ${check.header.name}: ${check.header.value}` : ''} from ${check.url}`,
  async observe(probe, check) {
    const result = await probe(['curl', '-s', '-o', '/dev/null', '-D', '-', '--max-time', '2', check.url]);
    return judgeHttpResponse(result.stdout, check.status, check.header);
  },
});

/** A URL the WHATWG parser refuses (a port above 65535, say) as an issue at `path`. */
export function urlIssues(
  url: string,
  path: (string | number)[],
): { path: (string | number)[]; message: string }[] {
  try {
    new URL(url);
    return [];
  } catch {
    return [{ path, message: `"${url}" is not a valid URL (is the port above 65535?)` }];
  }
}

/** Judges the head of an HTTP response (`curl -D -`): the status and, if wanted, one header's value. */
export function judgeHttpResponse(
  head: string,
  status: number,
  header?: { name: string; value: string },
): Observation {
  const lines = head.split(/\r?\n/);
  const got = Number(/^HTTP\/\S+\s+(\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  if (got === 0) return { ok: false, seen: 'no answer' };
  if (got !== status) return { ok: false, seen: `HTTP ${got}` };
  if (!header) return { ok: true, seen: `HTTP ${got}` };
  const wanted = header.name.toLowerCase();
  const value = lines
    .map((line) => /^([^:]+):\s*(.*)$/.exec(line))
    .find((match) => match?.[1]?.trim().toLowerCase() === wanted)?.[2]
    ?.trim();
  return {
    ok: value === header.value,
    seen: `HTTP ${got}, ${header.name}: ${value ?? '(none)'}`,
  };
}
