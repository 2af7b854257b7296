/**
 * How quick is the CLI itself: times `node -e 0` (the floor: a Node process doing nothing), `lblab
 * --version` and `lblab validate FILE` (start-up, no Docker), and `lblab down` of a running lab
 * against the raw teardown of the same lab (`docker rm -f -v` of its containers, then `docker network
 * rm` of its networks). Prints the medians and the ratios.
 *
 * Runs alternate (one of each per round, the order rotating every round) so drift of a busy host
 * spreads over all variants. The lab is brought up under its own name (`--name`, default clibench,
 * with --isolate so it can share the subnet with a copy of the seed lab) before every timed teardown,
 * untimed; only that lab is ever removed.
 *
 * Run: npx vite-node bench/cli-startup.ts [FILE] [--runs N] [--down-runs N] [--name LAB] [--engine E]
 *      [--compare DIR] [--json]
 */
import { cpus, loadavg, release } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LBLAB, run, runOk } from './process.js';

const LAB_LABEL = 'lblab.lab';

const progress = (line: string) => process.stderr.write(`${line}\n`);

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Rotates `items` left by `by`: round r starts with a different variant. */
function rotated<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

// ---------------------------------------------------------------------------------------------
// Variants: each is a name and a command; `--compare DIR` adds the same lblab commands run from
// another checkout (built, e.g. the commit before a change), timed in the same rounds.

interface Variant {
  name: string;
  command: [string, string[]];
}

interface Cli {
  /** '' for this checkout, else a label for the compared one. */
  label: string;
  bin: string;
}

function named(cli: Cli, what: string): string {
  return cli.label ? `${what} (${cli.label})` : what;
}

function startupVariants(clis: Cli[], file: string): Variant[] {
  return [
    { name: 'node -e 0', command: ['node', ['-e', '0']] },
    ...clis.flatMap((cli) => [
      {
        name: named(cli, 'lblab --version'),
        command: ['node', [cli.bin, '--version']] as [string, string[]],
      },
      {
        name: named(cli, 'lblab validate'),
        command: ['node', [cli.bin, 'validate', file]] as [string, string[]],
      },
    ]),
  ];
}

async function benchStartup(variants: Variant[], runs: number): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  // One untimed round first: the page cache, not the CLI, would otherwise pay for the first run.
  for (const variant of variants) await runOk(...variant.command);
  for (let round = 0; round < runs; round++) {
    for (const variant of rotated(variants, round)) {
      samples[variant.name]?.push((await runOk(...variant.command)).seconds);
    }
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// Teardown

const RAW_TEARDOWN = 'docker rm -f + network rm';

interface DownTarget {
  file: string;
  lab: string;
  engine: string;
}

async function labObjects(lab: string): Promise<{ containers: string[]; networks: string[] }> {
  const ids = (text: string) =>
    text
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
  const filter = `label=${LAB_LABEL}=${lab}`;
  return {
    containers: ids((await runOk('docker', ['ps', '-aq', '--filter', filter])).stdout),
    networks: ids((await runOk('docker', ['network', 'ls', '-q', '--filter', filter])).stdout),
  };
}

/** The lab is always brought up by this checkout's lblab; only its teardown is timed. */
async function up(target: DownTarget): Promise<void> {
  await runOk('node', [LBLAB, 'up', target.file, '--name', target.lab, '--isolate', '--engine', 'docker']);
}

/** One timed teardown of the (running) lab; checks that nothing of it is left afterwards. */
async function timedTeardown(variant: string, clis: Cli[], target: DownTarget): Promise<number> {
  let seconds: number;
  const cli = clis.find((candidate) => named(candidate, 'lblab down') === variant);
  if (cli) {
    seconds = (await runOk('node', [cli.bin, 'down', '--name', target.lab, '--engine', target.engine]))
      .seconds;
  } else {
    // The ids are looked up before the clock starts: a script would know its own objects.
    const { containers, networks } = await labObjects(target.lab);
    const started = performance.now();
    if (containers.length > 0) await runOk('docker', ['rm', '-f', '-v', ...containers]);
    if (networks.length > 0) await runOk('docker', ['network', 'rm', ...networks]);
    seconds = (performance.now() - started) / 1000;
  }
  const left = await labObjects(target.lab);
  if (left.containers.length + left.networks.length > 0) {
    throw new Error(`${variant} left objects of lab ${target.lab}: ${JSON.stringify(left)}`);
  }
  return seconds;
}

async function benchTeardown(
  clis: Cli[],
  target: DownTarget,
  runs: number,
): Promise<Record<string, number[]>> {
  const before = await labObjects(target.lab);
  if (before.containers.length + before.networks.length > 0) {
    throw new Error(`lab ${target.lab} already exists on the host engine; pick another --name`);
  }
  const variants = [...clis.map((cli) => named(cli, 'lblab down')), RAW_TEARDOWN];
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((name) => [name, []]));
  const cleanUp = () => run('node', [LBLAB, 'down', '--name', target.lab, '--engine', 'docker']);
  const interrupted = () => {
    progress(`interrupted: removing lab ${target.lab}`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for (let round = 0; round < runs; round++) {
      for (const variant of rotated(variants, round)) {
        await up(target);
        const seconds = await timedTeardown(variant, clis, target);
        samples[variant]?.push(seconds);
        progress(`teardown round ${round + 1}/${runs}: ${variant} ${seconds.toFixed(2)} s`);
      }
    }
  } catch (error) {
    await cleanUp();
    throw error;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------

interface Ratios {
  versionOverNode: number | null;
  validateOverNode: number | null;
  downOverRaw: number | null;
}

interface Report {
  date: string;
  host: { cpus: number; cpuModel: string; kernel: string; node: string };
  loadAverage: { before: number; after: number };
  file: string;
  runs: number;
  downRuns: number;
  downEngine: string;
  /** The other checkout timed alongside (--compare), if any. */
  compare: string | null;
  /** Median seconds per variant. */
  medians: Record<string, number | null>;
  /** Per checkout: 'this checkout', and the --compare one. */
  ratios: Record<string, Ratios>;
  samples: Record<string, number[]>;
}

function renderTable(report: Report): string {
  const fixed = (value: number | null, digits = 3) => (value === null ? 'n/a' : value.toFixed(digits));
  const width = Math.max(...Object.keys(report.medians).map((name) => name.length));
  return [
    `lblab CLI start-up and teardown: ${report.file}, medians of ${report.runs} start-up and ${report.downRuns} teardown round(s)`,
    `${report.host.cpus} CPU(s) ${report.host.cpuModel}, kernel ${report.host.kernel}, node ${report.host.node}, ${report.date}`,
    `load average (1 min) ${report.loadAverage.before.toFixed(2)} before, ${report.loadAverage.after.toFixed(2)} after`,
    '',
    ...Object.entries(report.medians).map(([name, value]) => `${name.padEnd(width)}  ${fixed(value)} s`),
    ...Object.entries(report.ratios).flatMap(([checkout, ratios]) => [
      '',
      `${checkout}:`,
      `  lblab --version / node -e 0   ${fixed(ratios.versionOverNode, 2)}x`,
      `  lblab validate / node -e 0    ${fixed(ratios.validateOverNode, 2)}x`,
      `  lblab down / raw teardown     ${fixed(ratios.downOverRaw, 2)}x  (down --engine ${report.downEngine})`,
    ]),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '15' },
      'down-runs': { type: 'string', default: '5' },
      name: { type: 'string', default: 'clibench' },
      engine: { type: 'string', default: 'docker' },
      compare: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const count = (flag: string, value: string | undefined, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${flag} wants an integer >= ${min}, not ${value}`);
    return n;
  };
  const runs = count('runs', values.runs, 1);
  const downRuns = count('down-runs', values['down-runs'], 0);
  const file = positionals[0] ?? 'topologies/ecmp-lvs-dr.yml';
  const target: DownTarget = { file, lab: values.name ?? 'clibench', engine: values.engine ?? 'docker' };
  const compare = values.compare ? resolve(values.compare) : undefined;
  const clis: Cli[] = [
    { label: '', bin: LBLAB },
    ...(compare ? [{ label: compare, bin: join(compare, 'bin', 'run.js') }] : []),
  ];

  const loadBefore = loadavg()[0] ?? 0;
  const startupSet = startupVariants(clis, file);
  progress(`start-up: ${runs} round(s) of ${startupSet.map((variant) => variant.name).join(', ')}`);
  const startup = await benchStartup(startupSet, runs);
  let teardown: Record<string, number[]> = {};
  if (downRuns > 0) {
    progress(`teardown: ${downRuns} round(s), lab ${target.lab} brought up (untimed) before each`);
    teardown = await benchTeardown(clis, target, downRuns);
  }
  const samples: Record<string, number[]> = { ...startup, ...teardown };
  const medians = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? a / b : null);
  const ratiosOf = (cli: Cli): Ratios => ({
    versionOverNode: ratio(medians[named(cli, 'lblab --version')], medians['node -e 0']),
    validateOverNode: ratio(medians[named(cli, 'lblab validate')], medians['node -e 0']),
    downOverRaw: ratio(medians[named(cli, 'lblab down')], medians[RAW_TEARDOWN]),
  });
  const report: Report = {
    date: new Date().toISOString(),
    host: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown CPU',
      kernel: release(),
      node: process.version,
    },
    loadAverage: { before: loadBefore, after: loadavg()[0] ?? 0 },
    file,
    runs,
    downRuns,
    downEngine: target.engine,
    compare: compare ?? null,
    medians,
    ratios: Object.fromEntries(clis.map((cli) => [cli.label || 'this checkout', ratiosOf(cli)])),
    samples,
  };
  process.stdout.write(`${values.json ? JSON.stringify(report, null, 2) : renderTable(report)}\n`);
}

main().catch((error: unknown) => {
  progress(`bench failed: ${(error as Error).message}`);
  process.exit(1);
});
