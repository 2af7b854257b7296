/**
 * A whole class, measured: `lblab class up` of N students' labs of an exercise, `class grade`, and
 * `class down`, with the memory the labs hold (MemAvailable before up, after up) and what is left
 * after down. With --compare P, the same class also comes up P labs at a time, alternating rounds,
 * so the ratio says what the parallelism buys on this host.
 *
 * Run: npx vite-node bench/class.ts [--exercise ecmp-hash] [--students 30] [--parallel 6]
 *        [--compare 1] [--rounds 1] [--json]
 */
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { parseArgs } from 'node:util';
import { LBLAB, run } from './process.js';

const { values } = parseArgs({
  options: {
    exercise: { type: 'string', default: 'ecmp-hash' },
    students: { type: 'string', default: '30' },
    parallel: { type: 'string', default: '6' },
    compare: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const exercise = values.exercise;
const students = Number(values.students);
const rounds = Number(values.rounds);
const variants = [Number(values.parallel), ...(values.compare ? [Number(values.compare)] : [])];
const say = (line: string) => process.stderr.write(`${line}\n`);

interface Sample {
  parallel: number;
  upS: number;
  labsUp: number;
  gradeS: number;
  graded: number;
  fullMarks: number;
  memoryMB: number;
  downS: number;
  leftContainers: number;
  leftNetworks: number;
}

async function memAvailableMB(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8');
  return Number(/MemAvailable:\s+(\d+)/.exec(text)?.[1] ?? 0) / 1024;
}

async function lblab(args: string[]): Promise<{ seconds: number; json: Record<string, unknown> }> {
  const done = await run('node', [LBLAB, ...args, '--json']);
  try {
    return { seconds: done.seconds, json: JSON.parse(done.stdout) as Record<string, unknown> };
  } catch {
    throw new Error(`lblab ${args.join(' ')} exited ${done.code}:\n${done.stdout}\n${done.stderr}`);
  }
}

async function count(args: string[]): Promise<number> {
  const done = await run('docker', args);
  return done.stdout.split('\n').filter((line) => line.startsWith(`${exercise}-`)).length;
}

async function oneClass(parallel: number): Promise<Sample> {
  const before = await memAvailableMB();
  const up = await lblab([
    'class',
    'up',
    exercise,
    '--students',
    String(students),
    '--parallel',
    String(parallel),
    '--engine',
    'docker',
  ]);
  const labs = (up.json.students as { student: string; ok: boolean; error?: string }[] | undefined) ?? [];
  for (const lab of labs.filter((l) => !l.ok)) say(`  ${lab.student} failed: ${lab.error ?? '?'}`);
  const memoryMB = before - (await memAvailableMB());
  const grade = await lblab(['class', 'grade', exercise, '--out', `/tmp/lblab-bench-grades-${parallel}`]);
  const grades = (grade.json.grades as { passed: boolean }[] | undefined) ?? [];
  const down = await lblab(['class', 'down', exercise]);
  return {
    parallel,
    upS: up.seconds,
    labsUp: labs.filter((l) => l.ok).length,
    gradeS: grade.seconds,
    graded: grades.length,
    fullMarks: grades.filter((g) => g.passed).length,
    memoryMB,
    downS: down.seconds,
    leftContainers: await count(['ps', '-a', '--format', '{{.Label "lblab.lab"}}']),
    leftNetworks: await count(['network', 'ls', '--format', '{{.Label "lblab.lab"}}']),
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

say(`bench: class of ${students} on ${exercise}, ${rounds} round(s), parallel ${variants.join(' vs ')}`);
say(`host: ${cpus().length} cores, kernel ${release()}, load ${loadavg()[0]!.toFixed(2)}`);
const samples: Sample[] = [];
for (let round = 1; round <= rounds; round += 1) {
  for (const parallel of variants) {
    say(`round ${round}: class up --parallel ${parallel} ...`);
    const sample = await oneClass(parallel);
    say(
      `  up ${sample.upS.toFixed(1)} s (${sample.labsUp} labs), grade ${sample.gradeS.toFixed(1)} s, +${Math.round(sample.memoryMB)} MB, down ${sample.downS.toFixed(1)} s, left ${sample.leftContainers}+${sample.leftNetworks}`,
    );
    samples.push(sample);
  }
}

const summary = variants.map((parallel) => {
  const mine = samples.filter((s) => s.parallel === parallel);
  const pick = (key: keyof Sample) => median(mine.map((s) => s[key]));
  return {
    parallel,
    upS: pick('upS'),
    gradeS: pick('gradeS'),
    memoryMB: pick('memoryMB'),
    downS: pick('downS'),
    labsUp: Math.min(...mine.map((s) => s.labsUp)),
    graded: Math.min(...mine.map((s) => s.graded)),
    left: Math.max(...mine.map((s) => s.leftContainers + s.leftNetworks)),
  };
});
if (values.json) {
  process.stdout.write(`${JSON.stringify({ exercise, students, rounds, summary, samples }, null, 2)}\n`);
} else {
  const lines = [
    `class of ${students} (${exercise}), median of ${rounds} round(s):`,
    'parallel  class up   grade   memory    down   labs up  graded  left',
    ...summary.map(
      (s) =>
        `${String(s.parallel).padStart(8)}  ${`${s.upS.toFixed(1)} s`.padStart(8)}  ${`${s.gradeS.toFixed(1)} s`.padStart(6)}  ${`${Math.round(s.memoryMB)} MB`.padStart(7)}  ${`${s.downS.toFixed(1)} s`.padStart(6)}  ${String(s.labsUp).padStart(7)}  ${String(s.graded).padStart(6)}  ${String(s.left).padStart(4)}`,
    ),
  ];
  if (summary.length === 2) {
    lines.push(
      `class up, parallel ${summary[1]!.parallel} / parallel ${summary[0]!.parallel}: ${(summary[1]!.upS / summary[0]!.upS).toFixed(2)}x`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
