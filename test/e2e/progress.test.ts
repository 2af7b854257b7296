/**
 * The progress display on a real terminal and in a pipe, driven by test/support/progress-demo.ts
 * (no Docker): util-linux `script` gives it a pseudo-terminal, as a user's shell would.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/cli.js';

const VITE_NODE = `${PROJECT_ROOT}node_modules/.bin/vite-node`;
const DEMO = `${PROJECT_ROOT}test/support/progress-demo.ts`;
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
// eslint-disable-next-line no-control-regex
const ANY_ESCAPE = /\x1b/;

/** The environment of a person at a terminal: no CI, no override. */
function terminalEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== 'CI' && key !== 'LBLAB_PROGRESS' && !key.startsWith('DEBUG'))
      env[key] = value;
  }
  return { ...env, TERM: 'xterm-256color' };
}

/** The demo in a pseudo-terminal 100 columns wide: everything it wrote, stdout and stderr as one. */
async function inTerminal(scenario: string): Promise<{ output: string; exitCode: number | undefined }> {
  const command = `stty cols 100 rows 40; '${VITE_NODE}' '${DEMO}' ${scenario}`;
  const result = await execa('script', ['-qfec', command, '/dev/null'], {
    cwd: PROJECT_ROOT,
    env: terminalEnv(),
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
  return { output: result.stdout.replace(/\r/g, ''), exitCode: result.exitCode };
}

/** What stayed on the screen at the end: the last frame drawn, without the escapes. */
function finalScreen(output: string): string {
  return (output.split('\x1b[G').at(-1) ?? '').replace(ESCAPES, '');
}

describe('progress on a terminal', () => {
  it('redraws each row in place with its time ticking, and leaves a summary', async () => {
    const { output, exitCode } = await inTerminal('ok');
    expect(exitCode, output).toBe(0);
    // Cursor up and erase line: rows are redrawn in place, not appended.
    expect(output).toContain('\x1b[1A');
    expect(output).toContain('\x1b[2K');
    const text = output.replace(ESCAPES, '');
    expect(text).toContain('lblab ok demo');
    // The same node's row drawn again and again, its elapsed time going up while it runs.
    const lb1Setup = text.match(/lb1 +setup: ipvsadm -A -t 10\.0\.0\.100:80 \(\d+s\)/g) ?? [];
    expect(lb1Setup.length).toBeGreaterThan(2);
    expect(lb1Setup).toContain('lb1        setup: ipvsadm -A -t 10.0.0.100:80 (0s)');
    expect(lb1Setup).toContain('lb1        setup: ipvsadm -A -t 10.0.0.100:80 (1s)');
    const screen = finalScreen(output);
    expect(screen).toMatch(/✔ image +lblab\/node:demo is present \(0s\)/);
    expect(screen).toMatch(/✔ networks +creating network lblab-demo-lan/);
    expect(screen).toMatch(/✔ client +ready: ping 10\.0\.0\.3: answered \(\d+s\)/);
    expect(screen).toMatch(/✔ lb1 +ready: IPVS service 10\.0\.0\.100:80 has 2 real servers \([23]s\)/);
    expect(screen).toContain('warning: a demo warning');
    expect(screen).toContain('result: ok');
  }, 60_000);

  it('shows which node failed', async () => {
    const { output, exitCode } = await inTerminal('fail');
    expect(exitCode, output).toBe(1);
    const screen = finalScreen(output);
    expect(screen).toMatch(/✖ lb1 +setup: ipvsadm: exit 2 \(\d+s\)/);
    expect(screen).toMatch(/✔ client +ready/);
    expect(screen).toMatch(/✔ teardown +removing everything lab demo created/);
    // The error comes after the summary, not inside the rows.
    expect(screen.indexOf('Error: lb1: setup: ipvsadm: exit 2')).toBeGreaterThan(screen.indexOf('✖ lb1'));
  }, 60_000);

  it("shows an image copy's bytes and rate as it goes", async () => {
    const { output, exitCode } = await inTerminal('engine');
    expect(exitCode, output).toBe(0);
    const text = output.replace(ESCAPES, '');
    expect(text).toMatch(/load lblab\/node:demo +14\.0 MB sent, 23\.3 MB\/s/);
    expect(finalScreen(output)).toMatch(/✔ load lblab\/node:demo +Loaded lblab\/node:demo \(28 MB/);
  }, 60_000);
});

describe('progress in a pipe', () => {
  it("prints today's plain lines once each, in order, without escapes", async () => {
    const result = await execa(VITE_NODE, [DEMO, 'ok'], {
      cwd: PROJECT_ROOT,
      env: terminalEnv(),
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(ANY_ESCAPE);
    expect(result.stderr.split('\n')).toEqual([
      'image: lblab/node:demo is present',
      'preflight: engine kernel has IPVS',
      'network: creating network lblab-demo-lan (10.0.0.0/24)',
      'client: create: lblab/node:demo eth1=10.0.0.2',
      'lb1: create: lblab/node:demo eth1=10.0.0.3',
      'client: setup: ip route add default via 10.0.0.1',
      'lb1: setup: ipvsadm -A -t 10.0.0.100:80',
      'warning: a demo warning',
      'client: ready: ping 10.0.0.3: answered',
      'lb1: readiness: keepalived restarted (attempt 1 of 3)',
      'lb1: ready: IPVS service 10.0.0.100:80 has 2 real servers',
    ]);
    expect(result.stdout).toBe('result: ok');
  }, 60_000);
});
