/**
 * `lblab shell` in a real node on the host engine: commands piped in run and the shell's exit code
 * comes back; on a terminal (a pseudo-terminal from script(1)) the shell has a TTY, and Ctrl-C stops
 * the command running in it, not the shell.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lblab, PROJECT_ROOT } from '../support/cli.js';
import { removeTempDirs, tempDir, writeTopology } from '../reliability/support.js';

const ENGINE = ['--engine', 'docker'];
const LAB = `shell-${process.pid}`;
const RUN = `${PROJECT_ROOT}bin/run.js`;

let file: string;

beforeAll(async () => {
  await lblab(['down', '--name', LAB, ...ENGINE], { timeoutMs: 60_000 });
  // An isolated network: Docker picks a free subnet, so no other lab on the engine is in the way.
  file = await writeTopology(
    await tempDir('lblab-shell-'),
    'shell.yml',
    `name: ${LAB}
topology:
  networks:
    lan: { subnet: 10.249.7.0/24, isolated: true }
  nodes:
    a:
      kind: linux
      networks: { lan: 10.249.7.10 }
`,
  );
  const up = await lblab(['up', file, ...ENGINE], { timeoutMs: 120_000 });
  expect(up.exitCode, String(up.stderr)).toBe(0);
}, 150_000);

afterAll(async () => {
  await lblab(['down', '--name', LAB, ...ENGINE], { timeoutMs: 60_000 });
  await removeTempDirs();
}, 90_000);

describe('lblab shell', () => {
  it('runs commands piped in and exits with the shell’s exit code', async () => {
    const result = await execa('node', [RUN, 'shell', file, 'a', ...ENGINE], {
      cwd: PROJECT_ROOT,
      input: 'echo hello-$((6*7)); exit 3\n',
      reject: false,
      timeout: 60_000,
    });
    expect(String(result.stdout), String(result.stderr)).toContain('hello-42');
    expect(result.exitCode, String(result.stderr)).toBe(3);
  }, 90_000);

  it('with --name: reads the commands piped in, or runs the command after -- instead of the shell', async () => {
    const piped = await execa('node', [RUN, 'shell', '--name', LAB, 'a', ...ENGINE], {
      cwd: PROJECT_ROOT,
      input: 'echo "host-$(hostname)"\n',
      reject: false,
      timeout: 60_000,
    });
    expect(piped.exitCode, String(piped.stderr)).toBe(0);
    expect(String(piped.stdout).trim()).toBe('host-a');
    const command = await execa('node', [RUN, 'shell', '--name', LAB, 'a', ...ENGINE, '--', 'hostname'], {
      cwd: PROJECT_ROOT,
      stdin: 'ignore',
      reject: false,
      timeout: 60_000,
    });
    expect(command.exitCode, String(command.stderr)).toBe(0);
    expect(String(command.stdout).trim()).toBe('a');
  }, 90_000);

  it('on a terminal: the shell has a TTY, and Ctrl-C stops its command but not the shell', async () => {
    const command = ['node', RUN, 'shell', file, 'a', ...ENGINE].map(shellWord).join(' ');
    const child = execa('script', ['-qec', command, '/dev/null'], {
      cwd: PROJECT_ROOT,
      reject: false,
      timeout: 90_000,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const type = (text: string) => child.stdin.write(text);
    // Each marker is computed by the node's shell, so the echo of the typed line never matches it.
    const until = async (marker: RegExp, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!marker.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`no ${marker} within ${timeoutMs} ms; the terminal showed:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      type('echo "tty-is-$(tty)"\n');
      await until(/tty-is-\/dev\/pts\/\d+/);
      type('echo "sleeping-$((3*3))"; sleep 30; echo "woke-$((4*4))"\n');
      await until(/sleeping-9/);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const interrupted = Date.now();
      type('\x03');
      type('echo "alive-$((5*5)) rc-$?"\n');
      await until(/alive-25 rc-130/, 10_000);
      expect(Date.now() - interrupted).toBeLessThan(10_000);
      expect(output).not.toMatch(/woke-16/);
      type('exit 4\n');
      child.stdin.end();
      const result = await child;
      expect(result.exitCode, output).toBe(4);
    } finally {
      child.kill();
    }
  }, 120_000);
});

function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
