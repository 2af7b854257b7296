/**
 * Speed is measured, not asserted: times every stage of `lblab up` on a topology (default: the seed
 * lab) beside two hand-written shell scripts that do the same Docker work, one node after another
 * (sequential) and all nodes at once (parallel), and prints the medians side by side.
 *
 * The baselines are generated at run time from `lblab plan --json`, so they create the same network
 * and containers (image, caps, sysctls, IP, MAC, --init), copy the same files, run the same setup
 * script and poll for the same end state. They use the `lbbench-` prefix so they never collide with
 * an lblab lab, but they share its subnet, so every run happens alone and is torn down before the
 * next one.
 *
 * Run: npx vite-node bench/up-stages.ts [FILE] [--runs N] [--json] [--keep-scripts]
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { RouteCheck } from '../src/checks/route.js';
import type { UpResult } from '../src/lab/lab.js';
import type { Plan, PlannedInterface, PlannedNode } from '../src/core/plan.js';
import type { FileSpec } from '../src/core/runtime.js';
import { LBLAB, run, runOk } from './process.js';

const GNU_TIME = '/usr/bin/time';
/** Every baseline object carries this label (and the name prefix), so cleanup finds exactly them. */
const BENCH_LABEL_KEY = 'lbbench';
const BENCH_LABEL = `${BENCH_LABEL_KEY}=1`;
const BENCH_PREFIX = 'lbbench-';
/** Same interval as lblab's readiness probes, so neither side polls more eagerly than the other. */
const POLL_INTERVAL_S = 0.2;
/** Where lblab puts each node's setup script (src/apply/apply.ts). */
const SETUP_SCRIPT_PATH = '/etc/lblab/setup.sh';
/** 100 curls in one exec, against separate execs: 10 of those are timed and scaled, to stay quick. */
const EXEC_LOOP_REQUESTS = 100;
const SEPARATE_EXEC_SAMPLE = 10;

type Variant = 'lblab' | 'sequential' | 'parallel';
const VARIANTS: Variant[] = ['lblab', 'sequential', 'parallel'];

/** Cumulative marks, in seconds since the variant's process was spawned. */
const STAGES = [
  ['startup', 'CLI start-up (node, oclif, engine check)'],
  ['images', 'images ready'],
  ['preflight', 'preflight done (IPVS probe, conflicts)'],
  ['network', 'network created'],
  ['containers', 'containers created + started'],
  ['configured', 'configured (setup.sh ran in every node)'],
  ['ready', 'ready (OSPF converged, ECMP installed)'],
  ['total', 'total (up / script exits)'],
  ['curl', 'first successful curl to the VIP'],
] as const;
type Stage = (typeof STAGES)[number][0];
type Marks = Partial<Record<Stage, number>>;

interface RunSample {
  round: number;
  variant: Variant;
  marks: Marks;
  teardownS: number;
  /** lblab only. */
  verifyS?: number;
  verifyExitCode?: number;
  peakRssMb?: number;
  execLoop?: ExecComparison;
}

interface ExecComparison {
  /** Wall time of one `docker exec` running EXEC_LOOP_REQUESTS curls in a shell loop. */
  oneExecS: number;
  /** Wall time of SEPARATE_EXEC_SAMPLE separate `docker exec curl` calls, scaled to EXEC_LOOP_REQUESTS. */
  separateExecsS: number;
}

interface Target {
  file: string;
  /** Router container polled for the ECMP route and curled from, with the route it waits for. */
  routerNode: string;
  routePrefix: string;
  nexthops: number;
  vipUrl: string;
}

// ---------------------------------------------------------------------------------------------
// Processes

const lblab = (...args: string[]) => runOk('node', [LBLAB, ...args]);
const seconds = (ms: number) => ms / 1000;
const progress = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Shell generation: the baselines and the post-up curl poll share these snippets.

/** Single-quotes a word for bash. */
function sh(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

const benchName = (name: string) => `${BENCH_PREFIX}${name}`;

/**
 * The top of every generated script. `STAGE <name> <epoch seconds>` lines are what the bench reads
 * back; `wait_until` is the one polling loop, shared by the baselines and lblab's post-up curl poll.
 */
function scriptHeader(comment: string): string {
  return `#!/usr/bin/env bash
# ${comment}
set -euo pipefail
mark() { echo "STAGE $1 $(date +%s.%N)"; }
# wait_until TIMEOUT_S WHAT COMMAND...: runs COMMAND every ${POLL_INTERVAL_S} s until it succeeds.
wait_until() {
  local deadline=$(( $(date +%s) + $1 )) what=$2
  shift 2
  until "$@"; do
    if (( $(date +%s) >= deadline )); then echo "timed out waiting for $what" >&2; exit 1; fi
    sleep ${POLL_INTERVAL_S}
  done
}
`;
}

/** Shell functions probing the router: the same two checks the bench counts as ready and curl. */
function probeFunctions(routerContainer: string, target: Target): string {
  return `ecmp_installed() {
  # lblab's readiness counts nexthops in \`ip -j route\`; each nexthop has one "gateway" key.
  [ "$(docker exec ${sh(routerContainer)} ip -j route show ${sh(target.routePrefix)} | grep -o '"gateway"' | wc -l)" -eq ${target.nexthops} ]
}
vip_answers() {
  [ "$(docker exec ${sh(routerContainer)} curl -s -o /dev/null --max-time 2 -w '%{http_code}' ${sh(target.vipUrl)})" = 200 ]
}
`;
}

/** The script lblab's run gets after `up` exits: only the curl poll, since up already waited for ECMP. */
function curlPollScript(plan: Plan, target: Target): string {
  const router = nodeNamed(plan, target.routerNode).containerName;
  return `${scriptHeader('Generated by bench/up-stages.ts: after lblab up exits, poll until the VIP answers.')}
${probeFunctions(router, target)}
wait_until 30 "HTTP 200 from ${target.vipUrl}" vip_answers
mark curl
`;
}

/**
 * `docker create` as the Engine API call it is. The docker CLI here (28) refuses `--mac-address`
 * against a daemon older than API 1.44 ("specify mac-address per network"), and the nftables
 * director needs the planned MACs; the API takes them, exactly as lblab sends them.
 */
const DOCKER_CREATE_FUNCTION = `DOCKER_SOCKET=\${DOCKER_HOST:-unix:///var/run/docker.sock}
DOCKER_SOCKET=\${DOCKER_SOCKET#unix://}
docker_create() { # docker_create NAME CREATE_REQUEST_JSON
  curl -sS --fail-with-body --unix-socket "$DOCKER_SOCKET" -H 'Content-Type: application/json' \\
    --data-binary "$2" "http://docker/v1.41/containers/create?name=$1" >/dev/null
}
`;

/** The body lblab's DockerRuntime.createContainer sends, under the bench's name and label. */
function createRequest(node: PlannedNode, iface: PlannedInterface): object {
  const network = benchName(iface.network);
  return {
    Hostname: node.hostname,
    Image: node.image,
    Labels: { [BENCH_LABEL_KEY]: '1' },
    Env: Object.entries(node.env).map(([key, value]) => `${key}=${value}`),
    Entrypoint: ['sleep'],
    Cmd: ['infinity'],
    MacAddress: iface.mac,
    HostConfig: {
      Init: true,
      CapAdd: node.capAdd,
      Sysctls: node.sysctls,
      Binds: node.binds,
      NetworkMode: network,
    },
    NetworkingConfig: {
      EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: iface.ip }, MacAddress: iface.mac } },
    },
  };
}

/**
 * One generator for both baselines; `parallel` only changes whether each node's
 * create → cp → start → setup runs in the foreground or in the background.
 */
function baselineScript(plan: Plan, target: Target, filesDir: string, parallel: boolean): string {
  const image = plan.nodes[0]?.image ?? '';
  const networks = plan.networks.map(
    (network) =>
      `docker network create --driver bridge --label ${BENCH_LABEL} --subnet ${sh(network.subnet)} ` +
      `--ip-range ${sh(network.ipRange)} --gateway ${sh(network.gateway)} ${sh(benchName(network.name))} >/dev/null`,
  );
  const isolated = plan.networks.filter((network) => network.isolated);
  if (isolated.length > 0)
    throw new Error(
      `isolated networks (${isolated.map((n) => n.name).join(', ')}) are not supported by the baselines`,
    );
  const nodeFunctions = plan.nodes.map((node) => {
    const [iface] = node.interfaces;
    if (!iface || node.interfaces.length > 1)
      throw new Error(
        `${node.name}: the baselines handle exactly one interface per node, as the seed lab has`,
      );
    const container = sh(benchName(node.name));
    return `node_${shellIdentifier(node.name)}() {
  docker_create ${container} ${sh(JSON.stringify(createRequest(node, iface)))}
  tar -c -C ${sh(join(filesDir, node.name))} ${nodeFiles(node)
    .map((file) => sh(file.path.replace(/^\//, '')))
    .join(' ')} | docker cp - ${container}:/
  docker start ${container} >/dev/null
  mark started:${node.name}
  docker exec ${container} sh ${SETUP_SCRIPT_PATH}
}`;
  });
  const calls = plan.nodes.map((node) => `node_${shellIdentifier(node.name)}`);
  const runNodes = parallel
    ? // One `wait PID` per node, so a node that fails fails the script (a bare `wait` returns 0).
      `pids=()\n${calls.map((call) => `${call} & pids+=($!)`).join('\n')}\nfor pid in "\${pids[@]}"; do wait "$pid"; done`
    : calls.join('\n');
  const comment = `Generated by bench/up-stages.ts from \`lblab plan --json\`: the ${parallel ? 'parallel' : 'sequential'} baseline.`;
  return `${scriptHeader(comment)}${DOCKER_CREATE_FUNCTION}
${probeFunctions(benchName(target.routerNode), target)}
${nodeFunctions.join('\n')}

mark start
docker image inspect ${sh(image)} >/dev/null
mark images
${networks.join('\n')}
mark network
${runNodes}
mark configured
wait_until 60 "${target.nexthops} nexthops to ${target.routePrefix}" ecmp_installed
mark ready
wait_until 30 "HTTP 200 from ${target.vipUrl}" vip_answers
mark curl
`;
}

function shellIdentifier(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/** Removes every container and network the baselines created; what `docker rm -f` costs. */
function baselineTeardownScript(plan: Plan): string {
  const containers = plan.nodes.map((node) => sh(benchName(node.name))).join(' ');
  const networks = plan.networks.map((network) => sh(benchName(network.name))).join(' ');
  return `#!/usr/bin/env bash
docker rm -f ${containers} >/dev/null 2>&1 || true
docker network rm ${networks} >/dev/null 2>&1 || true
`;
}

/** What lblab copies into a node: its files and its setup script. */
function nodeFiles(node: PlannedNode): FileSpec[] {
  return [...node.files, { path: SETUP_SCRIPT_PATH, content: node.setupScript, mode: 0o755 }];
}

/**
 * Each node's files laid out as a tree. The script tars the files by name, so the archive has file
 * entries only, like lblab's: directories already in the image keep their owner and mode.
 */
async function stageNodeFiles(plan: Plan, filesDir: string): Promise<void> {
  for (const node of plan.nodes) {
    for (const file of nodeFiles(node)) {
      const path = join(filesDir, node.name, file.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.content);
      await chmod(path, file.mode);
    }
  }
}

/** Reads `STAGE name epoch` lines; nodes' `started:<node>` marks become the `containers` stage. */
function parseMarks(stdout: string, spawnedAt: number): Marks {
  const marks: Marks = {};
  const started: number[] = [];
  for (const line of stdout.split('\n')) {
    const [tag, name = '', epoch = ''] = line.trim().split(' ');
    if (tag !== 'STAGE') continue;
    const since = Number(epoch) - seconds(spawnedAt);
    if (name.startsWith('started:')) started.push(since);
    else if (STAGES.some(([stage]) => stage === name)) marks[name as Stage] = since;
  }
  // "Containers created + started" means all of them: when the last one started.
  if (started.length > 0) marks.containers = Math.max(...started);
  return marks;
}

// ---------------------------------------------------------------------------------------------
// The three variants

interface Baselines {
  plan: Plan;
  scripts: Record<'sequential' | 'parallel' | 'teardown', string>;
}

interface Workspace {
  dir: string;
  target: Target;
  /** Set after the first lblab run: generated from the plan for the data plane `up` chose. */
  baseline?: Baselines;
  verifyAvailable: boolean;
  gnuTime: boolean;
}

async function runLblab(ws: Workspace, round: number): Promise<RunSample> {
  const upArgs = [LBLAB, 'up', ws.target.file, '--engine', 'docker', '--json'];
  const rssFile = join(ws.dir, 'lblab-up.rss');
  const up = ws.gnuTime
    ? await runOk(GNU_TIME, ['-f', '%M', '-o', rssFile, 'node', ...upArgs])
    : await runOk('node', upArgs);
  const result = JSON.parse(up.stdout) as UpResult;
  if (result.outcome !== 'created')
    throw new Error(`lblab up did nothing (${result.outcome}): is the lab up?`);

  // lblab reports stage durations measured inside the process; the time before its clock started
  // (node, oclif, choosing the engine) is what the wall clock saw beyond its total.
  const t = result.timings;
  const wallS = seconds(up.endedAt - up.startedAt);
  const startup = wallS - seconds(t.totalMs);
  let elapsed = startup;
  const after = (durationMs: number) => (elapsed += seconds(durationMs));
  const marks: Marks = {
    startup,
    images: after(t.imagesMs),
    preflight: after(t.preflightMs),
    network: after(t.networksMs),
    containers: after(t.containersMs),
    configured: after(t.configureMs),
    ready: after(t.convergeMs),
    total: wallS,
  };
  const poll = await runOk('bash', ['-c', curlPollScript(result.plan, ws.target)]);
  marks.curl = parseMarks(poll.stdout, up.startedAt).curl;
  // Only now, so that planning and writing them never delays the curl mark above.
  if (!ws.baseline) ws.baseline = await prepareBaselines(ws, result);

  const sample: RunSample = { round, variant: 'lblab', marks, teardownS: 0 };
  if (ws.gnuTime) sample.peakRssMb = Number((await readFile(rssFile, 'utf8')).trim()) / 1024;
  if (ws.verifyAvailable) {
    // Exit 1 means the experiment's assertions failed: still a measured run, so it is recorded.
    const verify = await run('node', [LBLAB, 'verify', ws.target.file, '--engine', 'docker', '--json']);
    sample.verifyS = seconds(verify.endedAt - verify.startedAt);
    sample.verifyExitCode = verify.code;
  }
  sample.execLoop = await compareExecs(nodeNamed(result.plan, ws.target.routerNode).containerName, ws.target);

  const down = await lblab('down', ws.target.file, '--engine', 'docker', '--json');
  sample.teardownS = seconds(down.endedAt - down.startedAt);
  return sample;
}

async function runBaseline(
  ws: Workspace,
  round: number,
  variant: 'sequential' | 'parallel',
): Promise<RunSample> {
  if (!ws.baseline) throw new Error('internal: the baselines are generated after the first lblab run');
  const script = await run('bash', ['-c', ws.baseline.scripts[variant]]);
  const teardown = await runOk('bash', ['-c', ws.baseline.scripts.teardown]);
  if (script.code !== 0)
    throw new Error(
      `${variant} baseline exited with ${script.code}: ${script.stderr.trim().split('\n').slice(-3)}`,
    );
  const marks = parseMarks(script.stdout, script.startedAt);
  marks.total = seconds(script.endedAt - script.startedAt);
  return { round, variant, marks, teardownS: seconds(teardown.endedAt - teardown.startedAt) };
}

/**
 * Generates the baselines from `lblab plan --json` for the data plane `up` picked, after checking that
 * the printed plan is what `up` applied: the comparison is only fair if both do identical work.
 */
async function prepareBaselines(ws: Workspace, up: UpResult): Promise<Baselines> {
  const ipvs = Object.values(up.dataPlanes).includes('ipvs');
  const printed = JSON.parse(
    (await lblab('plan', ws.target.file, '--json', ipvs ? '--ipvs' : '--no-ipvs')).stdout,
  ) as Plan;
  const work = (node: PlannedNode) =>
    JSON.stringify([
      node.name,
      node.image,
      node.capAdd,
      node.sysctls,
      node.env,
      node.binds,
      node.interfaces,
      node.files,
      node.setupScript,
    ]);
  const differing = up.plan.nodes.filter((node, i) => work(node) !== work(printed.nodes[i] as PlannedNode));
  if (differing.length > 0 || printed.nodes.length !== up.plan.nodes.length)
    throw new Error(`lblab plan differs from what up applied (${differing.map((n) => n.name).join(', ')})`);

  const filesDir = join(ws.dir, 'files');
  await stageNodeFiles(printed, filesDir);
  const scripts = {
    sequential: baselineScript(printed, ws.target, filesDir, false),
    parallel: baselineScript(printed, ws.target, filesDir, true),
    teardown: baselineTeardownScript(printed),
  };
  // Written out only so that --keep-scripts leaves something to read; the bench runs them from memory.
  const written = { ...scripts, 'lblab-curl-poll': curlPollScript(up.plan, ws.target) };
  for (const [name, text] of Object.entries(written)) await writeFile(join(ws.dir, `${name}.sh`), text);
  return { plan: printed, scripts };
}

/** 100 curls in one exec vs separate `docker exec curl` calls (a sample of 10, scaled to 100). */
async function compareExecs(router: string, target: Target): Promise<ExecComparison> {
  const loop = await runOk('docker', [
    'exec',
    router,
    'sh',
    '-c',
    `ok=0; for i in $(seq ${EXEC_LOOP_REQUESTS}); do ` +
      `[ "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1")" = 200 ] && ok=$((ok+1)); done; echo $ok`,
    'loop',
    target.vipUrl,
  ]);
  if (Number(loop.stdout.trim()) !== EXEC_LOOP_REQUESTS)
    throw new Error(`only ${loop.stdout.trim()} of ${EXEC_LOOP_REQUESTS} looped curls answered 200`);
  const started = Date.now();
  for (let i = 0; i < SEPARATE_EXEC_SAMPLE; i++) {
    const one = await runOk('docker', [
      'exec',
      router,
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      target.vipUrl,
    ]);
    if (one.stdout.trim() !== '200') throw new Error(`docker exec curl answered ${one.stdout.trim()}`);
  }
  const sampleS = seconds(Date.now() - started);
  return {
    oneExecS: seconds(loop.endedAt - loop.startedAt),
    separateExecsS: (sampleS * EXEC_LOOP_REQUESTS) / SEPARATE_EXEC_SAMPLE,
  };
}

// ---------------------------------------------------------------------------------------------
// Setup, safety and cleanup

function nodeNamed(plan: Plan, name: string): PlannedNode {
  const node = plan.nodes.find((candidate) => candidate.name === name);
  if (!node) throw new Error(`no node ${name} in the plan`);
  return node;
}

/** What to poll and curl: the node with a route readiness check, and the first director's VIP:port. */
async function describeTarget(file: string): Promise<Target> {
  const plan = JSON.parse((await lblab('plan', file, '--json')).stdout) as Plan;
  const routeChecks = plan.nodes.flatMap((node) => node.readiness.filter((check) => check.type === 'route'));
  const route = routeChecks[0] as RouteCheck | undefined;
  if (!route || route.type !== 'route')
    throw new Error(`${file}: no node waits for a route; nothing to poll`);
  const topology = parseYaml(await readFile(file, 'utf8')) as {
    topology: { nodes: Record<string, { vip?: string; services?: { port: number }[] }> };
  };
  const director = Object.values(topology.topology.nodes).find((node) => node.vip && node.services?.[0]);
  if (!director?.vip || !director.services?.[0]) throw new Error(`${file}: no director with a VIP service`);
  return {
    file,
    routerNode: route.node,
    routePrefix: route.prefix,
    nexthops: route.nexthops,
    vipUrl: `http://${director.vip}:${director.services[0].port}/`,
  };
}

/** The bench needs the subnet and a quiet host: it refuses to start beside any lab. */
async function requireQuietEngine(): Promise<void> {
  const names = (
    await runOk('docker', ['ps', '-a', '--format', '{{.Names}}', '--filter', 'label=lblab.lab'])
  ).stdout.trim();
  const bench = (
    await runOk('docker', ['ps', '-a', '--format', '{{.Names}}', '--filter', `label=${BENCH_LABEL}`])
  ).stdout.trim();
  const busy = [names, bench].filter(Boolean).join('\n');
  if (busy)
    throw new Error(
      `containers of another lab are on this engine; the bench needs a quiet host and the lab's subnet:\n${busy}`,
    );
}

/** Unmeasured, after a failure or Ctrl-C: whatever this bench may have left. */
async function cleanUp(ws: Workspace): Promise<void> {
  await run('node', [LBLAB, 'down', ws.target.file, '--engine', 'docker']);
  const containers = (await run('docker', ['ps', '-aq', '--filter', `label=${BENCH_LABEL}`])).stdout.split(
    '\n',
  );
  const ids = containers.map((id) => id.trim()).filter(Boolean);
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
  const networks = (await run('docker', ['network', 'ls', '-q', '--filter', `label=${BENCH_LABEL}`])).stdout;
  const networkIds = networks
    .split('\n')
    .map((id) => id.trim())
    .filter(Boolean);
  if (networkIds.length > 0) await run('docker', ['network', 'rm', ...networkIds]);
}

async function verifyCommandExists(): Promise<boolean> {
  return (await run('node', [LBLAB, 'verify', '--help'])).code === 0;
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function medianOf(samples: RunSample[], pick: (sample: RunSample) => number | undefined): number | undefined {
  return median(samples.map(pick).filter((value): value is number => value !== undefined));
}

interface Report {
  date: string;
  host: { cpus: number; cpuModel: string; kernel: string; docker: string; node: string };
  /** 1-minute load average before the first and after the last round: other work on the host skews medians. */
  loadAverage: { before: number; after: number };
  file: string;
  runs: number;
  /** stage → variant → median seconds since spawn; null where a variant has no such stage. */
  stages: Record<Stage, Record<Variant, number | null>>;
  verifyS: number | null;
  verifyAvailable: boolean;
  /** lblab runs whose `verify` exited 0 (its experiment's expectations held). */
  verifyPassed: number;
  ratios: Record<'total' | 'curl', { lblabOverParallel: number | null; lblabOverSequential: number | null }>;
  teardownS: { lblabDown: number | null; dockerRmF: number | null };
  lblabUpPeakRssMb: number | null;
  exec: { requests: number; separateSampled: number; oneExecS: number | null; separateExecsS: number | null };
  samples: RunSample[];
}

function summarise(
  samples: RunSample[],
  context: Pick<Report, 'file' | 'runs' | 'host' | 'loadAverage' | 'verifyAvailable'>,
): Report {
  const of = (variant: Variant) => samples.filter((sample) => sample.variant === variant);
  const med = (variant: Variant, pick: (sample: RunSample) => number | undefined) =>
    medianOf(of(variant), pick) ?? null;
  const stages = Object.fromEntries(
    STAGES.map(([stage]) => [
      stage,
      Object.fromEntries(VARIANTS.map((variant) => [variant, med(variant, (sample) => sample.marks[stage])])),
    ]),
  ) as Report['stages'];
  const ratio = (stage: Stage, baseline: Variant) => {
    const lblabS = stages[stage].lblab;
    const baselineS = stages[stage][baseline];
    return lblabS !== null && baselineS ? lblabS / baselineS : null;
  };
  const baselines = samples.filter((sample) => sample.variant !== 'lblab');
  return {
    date: new Date().toISOString(),
    ...context,
    stages,
    verifyS: med('lblab', (sample) => sample.verifyS),
    verifyPassed: of('lblab').filter((sample) => sample.verifyExitCode === 0).length,
    ratios: {
      total: {
        lblabOverParallel: ratio('total', 'parallel'),
        lblabOverSequential: ratio('total', 'sequential'),
      },
      curl: {
        lblabOverParallel: ratio('curl', 'parallel'),
        lblabOverSequential: ratio('curl', 'sequential'),
      },
    },
    teardownS: {
      lblabDown: med('lblab', (sample) => sample.teardownS),
      dockerRmF: medianOf(baselines, (sample) => sample.teardownS) ?? null,
    },
    lblabUpPeakRssMb: med('lblab', (sample) => sample.peakRssMb),
    exec: {
      requests: EXEC_LOOP_REQUESTS,
      separateSampled: SEPARATE_EXEC_SAMPLE,
      oneExecS: med('lblab', (sample) => sample.execLoop?.oneExecS),
      separateExecsS: med('lblab', (sample) => sample.execLoop?.separateExecsS),
    },
    samples,
  };
}

function renderTable(report: Report): string {
  const fixed = (value: number | null, digits = 2) => (value === null ? 'n/a' : value.toFixed(digits));
  const width = Math.max(...STAGES.map(([, label]) => label.length));
  const row = (label: string, cells: string[]) =>
    `${label.padEnd(width)}  ${cells.map((cell) => cell.padStart(10)).join('  ')}`;
  const lines = [
    `lblab up vs hand-written docker scripts: ${report.file}, median of ${report.runs} run(s)`,
    `${report.host.cpus} CPU(s) ${report.host.cpuModel}, kernel ${report.host.kernel}, docker ${report.host.docker}, node ${report.host.node}, ${report.date}`,
    `load average (1 min) ${report.loadAverage.before.toFixed(2)} before, ${report.loadAverage.after.toFixed(2)} after`,
    '',
    'seconds since the process was spawned (cumulative)',
    row('stage', VARIANTS),
    ...STAGES.map(([stage, label]) =>
      row(
        label,
        VARIANTS.map((variant) => fixed(report.stages[stage][variant])),
      ),
    ),
    row('verify (separate command, duration)', [
      report.verifyAvailable ? fixed(report.verifyS) : 'n/a',
      'n/a',
      'n/a',
    ]),
    '',
    'ratios (below 1: lblab is faster)',
    `lblab / parallel:   total ${fixed(report.ratios.total.lblabOverParallel)}, first curl ${fixed(report.ratios.curl.lblabOverParallel)}`,
    `lblab / sequential: total ${fixed(report.ratios.total.lblabOverSequential)}, first curl ${fixed(report.ratios.curl.lblabOverSequential)}`,
    `teardown: lblab down ${fixed(report.teardownS.lblabDown)} s, docker rm -f + network rm ${fixed(report.teardownS.dockerRmF)} s`,
    `peak RSS of the lblab up process: ${report.lblabUpPeakRssMb === null ? 'n/a (no GNU time)' : `${report.lblabUpPeakRssMb.toFixed(0)} MB`}`,
    `${report.exec.requests} curls to the VIP from the router: one docker exec running a loop ${fixed(report.exec.oneExecS)} s; ` +
      `separate docker exec per curl ${fixed(report.exec.separateExecsS)} s ` +
      `(${report.exec.separateSampled} calls measured, extrapolated to ${report.exec.requests})`,
  ];
  lines.push(
    report.verifyAvailable
      ? `verify: the experiment passed in ${report.verifyPassed} of ${report.runs} lblab run(s)`
      : 'verify: n/a (this build has no `lblab verify` command)',
  );
  return lines.join('\n');
}

async function hostFacts(): Promise<Report['host']> {
  const docker = await run('docker', ['version', '--format', '{{.Server.Version}}']);
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown CPU',
    kernel: release(),
    docker: docker.stdout.trim() || 'unknown',
    node: process.version,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
      'keep-scripts': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs wants a positive integer, not ${values.runs}`);
  const file = positionals[0] ?? 'topologies/ecmp-lvs-dr.yml';

  await requireQuietEngine();
  await lblab('images', 'build'); // a no-op when the image exists; keeps image builds out of the rounds
  const ws: Workspace = {
    dir: await mkdtemp(join(tmpdir(), BENCH_PREFIX)),
    target: await describeTarget(file),
    verifyAvailable: await verifyCommandExists(),
    gnuTime: existsSync(GNU_TIME),
  };
  const interrupted = () => {
    progress('interrupted: cleaning up');
    void cleanUp(ws).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const loadBefore = loadavg()[0] ?? 0;
  const samples: RunSample[] = [];
  try {
    for (let round = 1; round <= runs; round++) {
      // Alternating within a round spreads slow drift of the host (caches, other load) over all three.
      for (const variant of VARIANTS) {
        const sample =
          variant === 'lblab' ? await runLblab(ws, round) : await runBaseline(ws, round, variant);
        samples.push(sample);
        progress(
          `round ${round}/${runs} ${variant.padEnd(10)} total ${sample.marks.total?.toFixed(2)} s, ` +
            `first curl ${sample.marks.curl?.toFixed(2)} s, teardown ${sample.teardownS.toFixed(2)} s`,
        );
      }
    }
  } catch (error) {
    await cleanUp(ws);
    throw error;
  } finally {
    if (values['keep-scripts']) progress(`generated scripts kept in ${ws.dir}`);
    else await rm(ws.dir, { recursive: true, force: true });
  }

  const report = summarise(samples, {
    file,
    runs,
    host: await hostFacts(),
    loadAverage: { before: loadBefore, after: loadavg()[0] ?? 0 },
    verifyAvailable: ws.verifyAvailable,
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderTable(report)}\n`);
}

main().catch((error: unknown) => {
  progress(`up-stages: ${(error as Error).message}`);
  process.exit(1);
});
