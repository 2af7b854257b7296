/**
 * The CLI's own help for a person at a terminal, through oclif's plugins: a misspelt command is met
 * with "did you mean", and shells get completion scripts. Runs the built CLI; no Docker needed.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { lblab, PROJECT_ROOT } from '../support/cli.js';

// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

describe('a misspelt command', () => {
  it('on a terminal: asks "did you mean", and with no runs nothing and exits 127', async () => {
    // util-linux `script` gives the CLI a pseudo-terminal; the answer "n" arrives once it asks.
    const child = execa('script', ['-qfec', `node '${PROJECT_ROOT}bin/run.js' verfy`, '/dev/null'], {
      cwd: PROJECT_ROOT,
      reject: false,
      timeout: 60_000,
      env: { TERM: 'xterm-256color' },
    });
    let asked = false;
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (!asked && seen.replace(ESCAPES, '').includes('Did you mean verify?')) {
        asked = true;
        child.stdin?.write('n\r');
      }
    });
    const done = await child;
    const text = String(done.stdout).replace(ESCAPES, '');
    expect(asked, text).toBe(true);
    expect(text).toContain('verfy is not a lblab command');
    expect(text).toContain('Did you mean verify? No');
    expect(done.exitCode, text).toBe(127);
  }, 90_000);

  it('in a pipe: says so and exits 127 without waiting for an answer', async () => {
    const result = await lblab(['verfy', 'topologies/ecmp-lvs-dr.yml']);
    expect(result.exitCode).toBe(127);
    expect(String(result.stderr)).toContain('is not a lblab command');
    expect(String(result.stderr)).toContain('lblab help');
  }, 60_000);
});

describe('shell completion', () => {
  /** What bash offers for `line` (the last word being completed), with lblab's completion loaded. */
  async function bashCompletes(line: string): Promise<string[]> {
    const words = line.split(' ');
    const script = [
      `eval "$(node '${PROJECT_ROOT}bin/run.js' autocomplete script bash)"`,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`,
      `COMP_LINE='${line}'; COMP_POINT=\${#COMP_LINE}`,
      '_lblab_autocomplete; echo "${COMPREPLY[@]}"',
    ].join('\n');
    const { stdout } = await execa('bash', ['-c', script], { cwd: PROJECT_ROOT });
    return stdout.split(' ').filter(Boolean);
  }

  it('completes commands, subcommands and flags in bash', async () => {
    const setup = await lblab(['autocomplete', 'bash', '--refresh-cache']);
    expect(setup.exitCode, String(setup.stderr)).toBe(0);
    expect(await bashCompletes('lblab gra')).toEqual(['graph']);
    expect(await bashCompletes('lblab class gr')).toEqual(['grade']);
    expect(await bashCompletes('lblab graph --fo')).toEqual(['--format']);
    const zsh = await lblab(['autocomplete', 'script', 'zsh']);
    expect(zsh.exitCode, String(zsh.stderr)).toBe(0);
    expect(String(zsh.stdout)).toContain('LBLAB_AC_ZSH_SETUP_PATH');
  }, 120_000);
});
