import { execFile as execFileCallback } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  DELAY_LINE_SCRIPT,
  clearDelayLineCommand,
  impairmentOf,
  parseDelayLineState,
  rateBitsPerSecond,
  startDelayLineCommand,
} from '../../src/verify/delay-line.js';
import { previousImpairment, removeImpairmentCommand } from '../../src/verify/step-types/impair.js';

const execFile = promisify(execFileCallback);

describe('rates as tc writes them', () => {
  it('reads bits and bytes per second with decimal and binary prefixes', () => {
    expect(rateBitsPerSecond('10mbit')).toBe(10_000_000);
    expect(rateBitsPerSecond('512kbit')).toBe(512_000);
    expect(rateBitsPerSecond('1mibit')).toBe(1_048_576);
    expect(rateBitsPerSecond('1mbps')).toBe(8_000_000);
    expect(rateBitsPerSecond('2.5Gbit')).toBe(2_500_000_000);
    expect(rateBitsPerSecond('9600')).toBe(9_600);
  });

  it('refuses what is not a rate', () => {
    for (const bad of ['fast', '10 furlongs', '-1mbit', '0bit', 'mbit', '10mbit/s']) {
      expect(rateBitsPerSecond(bad), bad).toBeUndefined();
    }
  });
});

describe("a delay line's state, read back to be put back", () => {
  it('reads the figures it was started with', () => {
    const state = parseDelayLineState('pid=42\nclsact=1\ndelay=200\njitter=20\nloss=1.5\nrate=10000000\n');
    expect(state).toEqual({ pid: 42, delayMs: 200, jitterMs: 20, lossPercent: 1.5, rateBitsPerSecond: 1e7 });
    expect(impairmentOf(state!)).toEqual({
      delayMs: 200,
      jitterMs: 20,
      lossPercent: 1.5,
      rate: '10000000bit',
    });
    expect(impairmentOf({ ...state!, jitterMs: 0, lossPercent: 0, rateBitsPerSecond: 0 })).toEqual({
      delayMs: 200,
    });
  });

  it('is no line without a pid', () => {
    expect(parseDelayLineState('')).toBeUndefined();
    expect(parseDelayLineState('delay=200\n')).toBeUndefined();
  });
});

describe('what an interface had before an impair step', () => {
  const mark = '--- delay line\n';
  it('netem, a delay line, or nothing', () => {
    expect(
      previousImpairment(`qdisc netem 8001: root refcnt 2 limit 1000 delay 100ms loss 5%\n${mark}`),
    ).toEqual({
      kind: 'netem',
      args: ['delay', '100ms', 'loss', '5%'],
    });
    expect(previousImpairment(`qdisc noqueue 0: root refcnt 2\n${mark}pid=7\ndelay=200\n`)).toEqual({
      kind: 'delay-line',
      impairment: { delayMs: 200 },
    });
    expect(previousImpairment(`qdisc noqueue 0: root refcnt 2\n${mark}`)).toBeUndefined();
  });
});

describe('the delay line commands', () => {
  it('pass every figure as an argument, never in the script', () => {
    const command = startDelayLineCommand('eth0', {
      delayMs: 200,
      jitterMs: 10,
      lossPercent: 2,
      rate: '1mbit',
    });
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(command.slice(3, 9)).toEqual(['delay-line', 'eth0', '200', '10', '2', '1000000']);
    expect(command.at(-1)).toBe(DELAY_LINE_SCRIPT);
    expect(startDelayLineCommand('eth1', {}).slice(4, 9)).toEqual(['eth1', '0', '0', '0', '0']);
    expect(clearDelayLineCommand('eth0').slice(3)).toEqual(['delay-line', 'eth0']);
  });

  it('refuse an interface name a shell or tc could misread, and a rate that is not one', () => {
    expect(() => startDelayLineCommand('eth0; reboot', { delayMs: 1 })).toThrow(/not an interface name/);
    expect(() => clearDelayLineCommand('$(id)')).toThrow(/not an interface name/);
    expect(() => startDelayLineCommand('eth0', { rate: 'fast' })).toThrow(/not a tc rate/);
  });

  it('the perl program compiles', async () => {
    const { stderr } = await execFile('perl', ['-c', '-e', DELAY_LINE_SCRIPT]);
    expect(stderr).toMatch(/syntax OK/);
  });

  it('the perl program checks its arguments again before it opens anything', async () => {
    const run = (args: string[]) =>
      execFile('perl', ['-e', DELAY_LINE_SCRIPT, '--', ...args]).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    expect(await run(['eth0', 'lbdelay2', '200', '0', '0'])).toEqual({
      code: 2,
      stderr: expect.stringMatching(/usage/),
    });
    expect((await run(['eth0;x', 'lbdelay2', '200', '0', '0', '0'])).stderr).toMatch(/interface eth0;x/);
    expect((await run(['eth0', 'tap0', '200', '0', '0', '0'])).stderr).toMatch(/tap tap0/);
    expect((await run(['eth0', 'lbdelay2', '90000', '0', '0', '0'])).stderr).toMatch(/delay 90000 ms/);
    expect((await run(['eth0', 'lbdelay2', '200', '0', '101', '0'])).stderr).toMatch(/loss 101 %/);
  });
});

describe('taking an impairment off an interface (a stand-in tc on PATH)', () => {
  async function removeWith(tcScript: string) {
    const dir = await mkdtemp(path.join(tmpdir(), 'lblab-fake-tc-'));
    try {
      await writeFile(path.join(dir, 'tc'), `#!/bin/sh\necho "$*" >> "${dir}/calls"\n${tcScript}\n`, {
        mode: 0o755,
      });
      const [sh, ...args] = removeImpairmentCommand('eth0');
      const result = await execFile(sh!, args, {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      const calls = await readFile(path.join(dir, 'calls'), 'utf8');
      return {
        code: result.code,
        stdout: result.stdout,
        stderr: result.stderr,
        calls: calls.trim().split('\n'),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const netemUntilDeleted = `case "$*" in
  "qdisc show dev eth0 root") [ -f "$(dirname "$0")/deleted" ] && echo "qdisc noqueue 0: root" || echo "qdisc netem 8001: root refcnt 2 limit 1000 delay 200ms" ;;
  "qdisc del dev eth0 root") touch "$(dirname "$0")/deleted" ;;
esac`;

  it('deletes netem and checks it is gone', async () => {
    const removed = await removeWith(netemUntilDeleted);
    expect(removed.calls).toEqual([
      'qdisc show dev eth0 root',
      'qdisc del dev eth0 root',
      'qdisc show dev eth0 root',
    ]);
    expect(removed).toMatchObject({ code: 0, stdout: expect.stringContaining('eth0: netem removed') });
  });

  it('fails when netem stays', async () => {
    const stays = await removeWith(netemUntilDeleted.replace('touch', 'true'));
    expect(stays).toMatchObject({ code: 1, stderr: expect.stringContaining('netem is still on eth0') });
  });

  it('leaves an interface without netem alone', async () => {
    const none = await removeWith('echo "qdisc noqueue 0: root refcnt 2"');
    expect(none).toMatchObject({ code: 0, calls: ['qdisc show dev eth0 root'] });
  });
});
