/**
 * The `verify:` list of a topology file: the experiment as declared. `parseVerifySteps` turns the
 * schema-valid YAML value (schema/verify.schema.json) into typed steps with defaults applied and
 * durations in milliseconds; `checkVerifySteps` finds what the schema cannot: unknown nodes,
 * contradictory expectations, steps that cannot work on a node's kind.
 */
import { isIPv4 } from 'node:net';
import { describeCheck } from '../apply/readiness.js';
import type { DataPlane, ReadinessCheck } from '../plan/plan.js';
import type { TopologyIssue } from '../topology/issue.js';
import { clip } from './report.js';

export type StepType = 'sysctl' | 'addresses' | 'http-tally' | 'wait' | 'exec' | 'show';

export const STEP_TYPES: readonly StepType[] = ['sysctl', 'addresses', 'http-tally', 'wait', 'exec', 'show'];

export const VERIFY_DEFAULTS = {
  requests: 100,
  header: 'X-Host',
  requestTimeoutMs: 2_000,
  waitTimeoutMs: 30_000,
  execTimeoutMs: 10_000,
  dev: 'lo',
  httpStatus: 200,
  exitCode: 0,
  maxFailures: 0,
} as const;

interface StepBase {
  /** Position in the `verify:` list, for issue paths and reports. */
  index: number;
  name: string;
  node: string;
}

export interface SysctlStep extends StepBase {
  type: 'sysctl';
  /** Sysctl name -> value, all `net.*` (applied in the node's network namespace). */
  set: Record<string, string>;
}

export interface AddressesStep extends StepBase {
  type: 'addresses';
  action: 'add' | 'remove';
  /** IPv4 CIDRs; a bare address is normalised to /32. */
  addresses: string[];
  dev: string;
}

export interface DistinctExpectation {
  op: '=' | '>=' | '<=';
  count: number;
}

export interface TallyExpectation {
  distinct?: DistinctExpectation;
  maxFailures: number;
  /** Every value seen, and every value in `only`, has at least this share of the answered requests (0 < share <= 1). */
  minShare?: number;
  /** Every value seen is one of these. */
  only?: string[];
  /** Each source address sees exactly one value. */
  perSourceStable: boolean;
}

export interface HttpTallyStep extends StepBase {
  type: 'http-tally';
  url: string;
  requests: number;
  header: string;
  /** Source addresses used round-robin (request i uses sources[i % n]); empty: the kernel picks. */
  sources: string[];
  /** Per request (curl --max-time). */
  timeoutMs: number;
  expect: TallyExpectation;
}

export interface WaitStep extends StepBase {
  type: 'wait';
  /** `check.node` is the topology node name, like `PlannedNode.readiness`. */
  check: ReadinessCheck;
}

export interface ExecStep extends StepBase {
  type: 'exec';
  /** The user's own command, run with `sh -c` (never spliced into a script lblab renders). */
  cmd: string;
  exitCode: number;
  /** JavaScript regular expression that stdout must match. */
  match?: string;
  timeoutMs: number;
}

export type ShowPreset = 'director-stats' | 'ipvs-stats' | 'ospf-neighbors' | 'ospf-routes' | 'nft-counters';

export interface ShowStep extends StepBase {
  type: 'show';
  /** Exactly one of `what` (a preset) and `cmd` (the user's own command, run with `sh -c`). */
  what?: ShowPreset;
  cmd?: string;
  timeoutMs: number;
}

export type VerifyStep = SysctlStep | AddressesStep | HttpTallyStep | WaitStep | ExecStep | ShowStep;

/** Kinds whose image runs FRR (vtysh) and which kinds run a director data plane. */
const FRR_KINDS: readonly string[] = ['router', 'director'];
const DIRECTOR_KINDS: readonly string[] = ['director'];

const IPVS_STATS = ['ipvsadm', '-L', '-n', '--stats'];
const NFT_RULESET = ['nft', 'list', 'ruleset'];

/** `director-stats` follows the director's data plane, so one verify list fits IPVS and nftables labs. */
export const SHOW_PRESETS: Record<
  ShowPreset,
  { argv: (dataPlane?: DataPlane) => string[]; kinds: readonly string[] }
> = {
  'director-stats': {
    argv: (dataPlane) => (dataPlane === 'nftables' ? NFT_RULESET : IPVS_STATS),
    kinds: DIRECTOR_KINDS,
  },
  'ipvs-stats': { argv: () => IPVS_STATS, kinds: DIRECTOR_KINDS },
  'ospf-neighbors': { argv: () => ['vtysh', '-c', 'show ip ospf neighbor'], kinds: FRR_KINDS },
  'ospf-routes': { argv: () => ['vtysh', '-c', 'show ip route ospf'], kinds: FRR_KINDS },
  'nft-counters': { argv: () => NFT_RULESET, kinds: DIRECTOR_KINDS },
};

/** The argv an exec or show step runs: a preset's argv, or the user's command under `sh -c`. */
export function stepArgv(step: ExecStep | ShowStep, dataPlane?: DataPlane): string[] {
  if (step.type === 'show' && step.what) return SHOW_PRESETS[step.what].argv(dataPlane);
  return ['sh', '-c', step.cmd ?? ''];
}

const HASH_POLICY = 'net.ipv4.fib_multipath_hash_policy';

/** `500ms`, `2s`, `1m` -> milliseconds; a number is already milliseconds (a default). */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text;
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (expected e.g. 500ms, 2s, 1m)`);
  const unit = { ms: 1, s: 1_000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
  return Number(match[1]) * unit;
}

/** `"172.16.253.11"` -> `"172.16.253.11/32"`; a CIDR is kept as written. */
export function normalizeCidr(address: string): string {
  return address.includes('/') ? address : `${address}/32`;
}

/** `2`, `"2"`, `"=2"`, `">=2"`, `">= 2"`, `"<=3"` -> `{ op, count }`. */
export function parseDistinct(value: number | string): DistinctExpectation {
  if (typeof value === 'number') return { op: '=', count: value };
  const match = /^(>=|<=|=)? ?(\d+)$/.exec(value);
  if (!match) throw new Error(`invalid distinct "${value}" (expected N, ">=N" or "<=N")`);
  return { op: (match[1] ?? '=') as DistinctExpectation['op'], count: Number(match[2]) };
}

export function formatDistinct(distinct: DistinctExpectation): string {
  return distinct.op === '=' ? String(distinct.count) : `${distinct.op}${distinct.count}`;
}

/** A `wait` condition as written (also a node's `ready:` item, where `node` is implied). */
export interface WaitCondition {
  node?: string;
  timeout?: string;
  route?: string;
  nexthops?: number;
  'ospf-full'?: number;
  tcp?: string;
  http?: string;
  status?: number;
}

/** The YAML shape, as schema/verify.schema.json admits it. */
interface RawStep {
  name?: string;
  sysctl?: { node: string; set: Record<string, number | string> };
  addresses?: { node: string; add?: string[]; remove?: string[]; dev?: string };
  'http-tally'?: {
    node: string;
    url: string;
    requests?: number;
    header?: string;
    sources?: string[];
    timeout?: string;
    expect?: {
      distinct?: number | string;
      'max-failures'?: number;
      'min-share'?: number;
      only?: string[];
      'per-source-stable'?: boolean;
    };
  };
  wait?: WaitCondition & { node: string };
  exec?: { node: string; cmd: string; 'exit-code'?: number; match?: string; timeout?: string };

  show?: { node: string; cmd?: string; what?: ShowPreset; timeout?: string };
}

/**
 * Typed steps from the `verify:` value. Assumes the value passed schema/verify.schema.json;
 * throws on a shape the schema would have rejected.
 */
export function parseVerifySteps(raw: unknown): VerifyStep[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new TypeError('verify: expected a list of steps');
  return (raw as RawStep[]).map((item, index) => parseStep(item, index));
}

function parseStep(raw: RawStep, index: number): VerifyStep {
  const step = parseStepBody(raw, index);
  if (raw.name !== undefined) step.name = raw.name;
  return step;
}

function parseStepBody(raw: RawStep, index: number): VerifyStep {
  if (raw.sysctl) {
    const set = Object.fromEntries(
      Object.entries(raw.sysctl.set).map(([key, value]) => [key, String(value)]),
    );
    const name = `sysctl ${Object.entries(set)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ')}`;
    return { type: 'sysctl', index, name, node: raw.sysctl.node, set };
  }
  if (raw.addresses) {
    const { node, add, remove, dev = VERIFY_DEFAULTS.dev } = raw.addresses;
    const action = add ? 'add' : 'remove';
    const addresses = (add ?? remove ?? []).map(normalizeCidr);
    const listed = addresses.length <= 2 ? addresses.join(' ') : `${addresses.length} addresses`;
    return { type: 'addresses', index, name: `${action} ${listed} on ${dev}`, node, action, addresses, dev };
  }
  if (raw['http-tally']) {
    const tally = raw['http-tally'];
    const sources = tally.sources ?? [];
    const expect = tally.expect ?? {};
    return {
      type: 'http-tally',
      index,
      name: `http-tally ${tally.url}${sources.length > 0 ? ` from ${sources.length} sources` : ''}`,
      node: tally.node,
      url: tally.url,
      requests: tally.requests ?? VERIFY_DEFAULTS.requests,
      header: tally.header ?? VERIFY_DEFAULTS.header,
      sources,
      timeoutMs: parseDuration(tally.timeout ?? VERIFY_DEFAULTS.requestTimeoutMs),
      expect: {
        ...(expect.distinct !== undefined && { distinct: parseDistinct(expect.distinct) }),
        maxFailures: expect['max-failures'] ?? VERIFY_DEFAULTS.maxFailures,
        ...(expect['min-share'] !== undefined && { minShare: expect['min-share'] }),
        ...(expect.only !== undefined && { only: expect.only }),
        perSourceStable: expect['per-source-stable'] ?? false,
      },
    };
  }
  if (raw.wait) {
    const wait = raw.wait;
    const timeoutMs = parseDuration(wait.timeout ?? VERIFY_DEFAULTS.waitTimeoutMs);
    const check = parseWaitCheck(wait, timeoutMs);
    return { type: 'wait', index, name: `wait ${describeCheck(check)}`, node: wait.node, check };
  }
  if (raw.exec) {
    const exec = raw.exec;
    return {
      type: 'exec',
      index,
      name: `exec ${clip(exec.cmd, 60)}`,
      node: exec.node,
      cmd: exec.cmd,
      exitCode: exec['exit-code'] ?? VERIFY_DEFAULTS.exitCode,
      ...(exec.match !== undefined && { match: exec.match }),
      timeoutMs: parseDuration(exec.timeout ?? VERIFY_DEFAULTS.execTimeoutMs),
    };
  }
  if (raw.show) {
    const show = raw.show;
    return {
      type: 'show',
      index,
      name: `show ${show.what ?? clip(show.cmd ?? '', 60)}`,
      node: show.node,
      ...(show.what !== undefined ? { what: show.what } : { cmd: show.cmd ?? '' }),
      timeoutMs: parseDuration(show.timeout ?? VERIFY_DEFAULTS.execTimeoutMs),
    };
  }
  throw new TypeError(`verify[${index}]: expected one of ${STEP_TYPES.join(', ')}`);
}

export function parseWaitCheck(wait: WaitCondition & { node: string }, timeoutMs: number): ReadinessCheck {
  const node = wait.node;
  if (wait.route !== undefined) {
    return {
      type: 'route',
      node,
      prefix: normalizeCidr(wait.route),
      nexthops: wait.nexthops ?? 1,
      timeoutMs,
    };
  }
  if (wait['ospf-full'] !== undefined)
    return { type: 'ospf-full', node, neighbors: wait['ospf-full'], timeoutMs };
  if (wait.tcp !== undefined) {
    const colon = wait.tcp.lastIndexOf(':');
    return {
      type: 'tcp',
      node,
      host: wait.tcp.slice(0, colon),
      port: Number(wait.tcp.slice(colon + 1)),
      timeoutMs,
    };
  }
  if (wait.http !== undefined) {
    return {
      type: 'http',
      node,
      url: wait.http,
      status: wait.status ?? VERIFY_DEFAULTS.httpStatus,
      timeoutMs,
    };
  }
  throw new TypeError('wait: expected one of route, ospf-full, tcp, http');
}

/** Longest a single step may take; beyond this a typo (`timeout: 100m`) is likelier than intent. */
const MAX_STEP_MS = 30 * 60_000;
const MIN_REQUEST_TIMEOUT_MS = 50;
const MAX_REQUEST_TIMEOUT_MS = 120_000;

/**
 * Semantic checks the schema cannot express. Paths point into the YAML document, e.g.
 * `['verify', 2, 'http-tally', 'node']`; a defaulted key's path still names the key, and the
 * loader walks up to the nearest node that exists.
 */
export function checkVerifySteps(
  steps: VerifyStep[],
  nodeNames: Set<string>,
  kindsByNode: Map<string, string>,
): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const known = [...nodeNames].sort().join(', ');
  for (const step of steps) {
    const at = (...rest: (string | number)[]) => ['verify', step.index, step.type, ...rest];
    if (!nodeNames.has(step.node)) {
      issues.push({
        path: at('node'),
        message: `unknown node "${step.node}"; the topology's nodes are ${known || '(none)'}`,
        fix: 'use one of the node names under topology.nodes',
      });
    }
    const kind = kindsByNode.get(step.node);
    const requireKind = (kinds: readonly string[], what: string, path: (string | number)[]) => {
      if (kind === undefined || kinds.includes(kind)) return;
      const candidates = [...kindsByNode].filter(([, k]) => kinds.includes(k)).map(([name]) => name);
      issues.push({
        path,
        message: `${what} needs a node of kind ${kinds.join(' or ')}; "${step.node}" is a ${kind}`,
        ...(candidates.length > 0 && { fix: `run it on ${candidates.sort().join(', ')}` }),
      });
    };
    switch (step.type) {
      case 'sysctl':
        checkSysctl(step, at, issues);
        break;
      case 'http-tally':
        checkHttpTally(step, at, issues);
        break;
      case 'wait':
        if (step.check.type === 'ospf-full') requireKind(FRR_KINDS, 'wait ospf-full', at('ospf-full'));
        if (step.check.type === 'tcp') checkPort(step.check.port, at('tcp'), issues);
        if (step.check.type === 'http') checkUrl(step.check.url, at('http'), issues);
        checkTimeout(step.check.timeoutMs, at('timeout'), issues);
        break;
      case 'exec':
        if (step.match !== undefined) {
          try {
            new RegExp(step.match);
          } catch (error) {
            issues.push({
              path: at('match'),
              message: `match is not a valid regular expression: ${(error as Error).message}`,
            });
          }
        }
        checkTimeout(step.timeoutMs, at('timeout'), issues);
        break;
      case 'show':
        if (step.what) requireKind(SHOW_PRESETS[step.what].kinds, `show "${step.what}"`, at('what'));
        checkTimeout(step.timeoutMs, at('timeout'), issues);
        break;
      case 'addresses':
        break;
    }
  }
  return issues;
}

type PathOf = (...rest: (string | number)[]) => (string | number)[];

function checkSysctl(step: SysctlStep, at: PathOf, issues: TopologyIssue[]): void {
  const policy = step.set[HASH_POLICY];
  if (policy !== undefined && !['0', '1', '2', '3'].includes(policy)) {
    issues.push({
      path: at('set', HASH_POLICY),
      message: `${HASH_POLICY} is ${policy}; the kernel accepts 0 (L3), 1 (L4), 2 (L3 or inner L3) or 3 (custom)`,
    });
  }
}

function checkHttpTally(step: HttpTallyStep, at: PathOf, issues: TopologyIssue[]): void {
  const { requests, sources, expect } = step;
  const push = (path: (string | number)[], message: string, fix?: string) =>
    issues.push({ path, message, ...(fix !== undefined && { fix }) });

  checkUrl(step.url, at('url'), issues);
  if (!Number.isInteger(requests) || requests < 1 || requests > 10_000) {
    push(at('requests'), `requests must be an integer from 1 to 10000, not ${requests}`);
  }
  const seen = new Set<string>();
  sources.forEach((source, i) => {
    if (!isIPv4(source)) push(at('sources', i), `source "${source}" is not an IPv4 address`);
    else if (seen.has(source)) push(at('sources', i), `source ${source} is listed twice`);
    seen.add(source);
  });
  if (sources.length > requests) {
    push(
      at('requests'),
      `requests (${requests}) is less than the number of sources (${sources.length}): some sources would send nothing`,
      `send at least ${sources.length} requests`,
    );
  }
  if (step.timeoutMs < MIN_REQUEST_TIMEOUT_MS || step.timeoutMs > MAX_REQUEST_TIMEOUT_MS) {
    push(at('timeout'), `the per-request timeout must be between 50ms and 2m, not ${step.timeoutMs}ms`);
  } else if (requests * step.timeoutMs > MAX_STEP_MS) {
    push(
      at('timeout'),
      `${requests} requests × ${step.timeoutMs}ms could take ${Math.round((requests * step.timeoutMs) / 60_000)} minutes if the VIP stops answering; the limit is 30`,
      'lower requests or the per-request timeout',
    );
  }

  const distinct = expect.distinct;
  const lowest = distinct === undefined || distinct.op === '<=' ? 1 : distinct.count;
  const distinctText = distinct ? formatDistinct(distinct) : '';
  if (distinct && distinct.op !== '<=' && distinct.count > requests) {
    push(
      at('expect', 'distinct'),
      `distinct ${distinctText} cannot be met by ${requests} requests`,
      'send more requests or expect fewer values',
    );
  }
  if (expect.minShare !== undefined) {
    if (distinct && distinct.op !== '>=' && distinct.count === 1) {
      push(
        at('expect', 'min-share'),
        `min-share ${expect.minShare} contradicts distinct: ${distinctText}: a single value always has the whole share`,
        'drop min-share, or expect distinct: ">=2"',
      );
    } else if (expect.minShare * lowest > 1) {
      push(
        at('expect', 'min-share'),
        `min-share ${expect.minShare} with distinct ${distinctText} is impossible: ${lowest} values cannot each have ${formatPercent(expect.minShare)}`,
      );
    }
  }
  if (expect.only && expect.only.length < lowest) {
    push(
      at('expect', 'only'),
      `only lists ${expect.only.length} value(s) but distinct ${distinctText} needs at least ${lowest}`,
    );
  }
  if (expect.maxFailures > requests) {
    push(at('expect', 'max-failures'), `max-failures ${expect.maxFailures} exceeds requests (${requests})`);
  }
  if (expect.perSourceStable) {
    if (sources.length < 2) {
      push(
        at('expect', 'per-source-stable'),
        'per-source-stable needs at least two sources',
        'list sources, or expect distinct: 1 for a single source',
      );
    } else if (requests < 2 * sources.length) {
      push(
        at('requests'),
        `per-source-stable needs at least 2 requests per source: ${requests} requests over ${sources.length} sources`,
        `send at least ${2 * sources.length} requests`,
      );
    }
  }
}

function checkUrl(url: string, path: (string | number)[], issues: TopologyIssue[]): void {
  try {
    new URL(url);
  } catch {
    issues.push({ path, message: `"${url}" is not a valid URL (is the port above 65535?)` });
  }
}

function checkPort(port: number, path: (string | number)[], issues: TopologyIssue[]): void {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    issues.push({ path, message: `port ${port} is not between 1 and 65535` });
  }
}

function checkTimeout(timeoutMs: number, path: (string | number)[], issues: TopologyIssue[]): void {
  if (timeoutMs <= 0 || timeoutMs > MAX_STEP_MS) {
    issues.push({ path, message: `timeout must be more than 0 and at most 30m, not ${timeoutMs}ms` });
  }
}

export function formatPercent(share: number): string {
  return `${Math.round(share * 1000) / 10} %`;
}
