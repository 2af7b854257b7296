import { describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import {
  formatElapsed,
  PlainDisplay,
  progressMode,
  rowText,
  type ProgressModeFacts,
} from '../../src/cli/progress-display.js';
import { ClassRows, describeTransfer, sandboxRowOf, StageRows, UpRows } from '../../src/cli/progress-rows.js';
import { InterruptedError } from '../../src/util/interrupt.js';

const terminal: ProgressModeFacts = { json: false, isTTY: true, verbose: false, env: { TERM: 'xterm' } };

describe('progressMode', () => {
  it('draws live rows on a terminal', () => {
    expect(progressMode(terminal)).toBe('live');
    expect(progressMode({ ...terminal, env: {} })).toBe('live');
    expect(progressMode({ ...terminal, env: { TERM: 'xterm', CI: 'false' } })).toBe('live');
  });

  it('prints plain lines to a pipe, a dumb or sizeless terminal, CI, --verbose, or when asked', () => {
    expect(progressMode({ ...terminal, isTTY: false })).toBe('plain');
    expect(progressMode({ ...terminal, env: { TERM: 'dumb' } })).toBe('plain');
    expect(progressMode({ ...terminal, columns: 0 })).toBe('plain');
    expect(progressMode({ ...terminal, env: { TERM: 'xterm', CI: 'true' } })).toBe('plain');
    expect(progressMode({ ...terminal, verbose: true })).toBe('plain');
    expect(progressMode({ ...terminal, env: { TERM: 'xterm', LBLAB_PROGRESS: 'plain' } })).toBe('plain');
  });

  it('stays quiet with --json, terminal or not', () => {
    expect(progressMode({ ...terminal, json: true })).toBe('silent');
    expect(progressMode({ ...terminal, json: true, isTTY: false })).toBe('silent');
  });
});

describe('formatElapsed', () => {
  it('counts whole seconds, then minutes, then hours', () => {
    expect(formatElapsed(0)).toBe('0s');
    expect(formatElapsed(999)).toBe('0s');
    expect(formatElapsed(12_400)).toBe('12s');
    expect(formatElapsed(65_000)).toBe('1m05s');
    expect(formatElapsed(3_720_000)).toBe('1h02m');
    expect(formatElapsed(-5)).toBe('0s');
  });
});

describe('rowText', () => {
  it('says the key, the stage and message, and the elapsed time', () => {
    expect(rowText({ key: 'lb1', stage: 'setup', message: 'ipvsadm -A', elapsedMs: 12_000 }, 6)).toBe(
      'lb1     setup: ipvsadm -A (12s)',
    );
  });

  it('leaves out a stage that is the key itself, and says when a row was stopped', () => {
    expect(rowText({ key: 'preflight', stage: 'preflight', message: 'ok', elapsedMs: 0 })).toBe(
      'preflight  ok (0s)',
    );
    expect(rowText({ key: 'a', stage: '', message: 'x', elapsedMs: 3_000, stopped: true })).toBe(
      'a  x (stopped after 3s)',
    );
  });

  it('keeps to one line, without colours, and clips the message so the time stays visible', () => {
    expect(rowText({ key: 'a', stage: '', message: '\x1b[31mred\x1b[0m\nsecond', elapsedMs: 0 })).toBe(
      'a  red second (0s)',
    );
    const text = rowText({ key: 'a', stage: '', message: 'x'.repeat(200), elapsedMs: 5_000 }, 1, 40);
    expect(text.length).toBe(36);
    expect(text).toMatch(/^a {2}x+… \(5s\)$/);
  });
});

/** A plain display's lines, to check each command keeps printing what it printed before. */
function plainLines(): { display: PlainDisplay; lines: string[] } {
  const lines: string[] = [];
  return { display: new PlainDisplay((line) => lines.push(line)), lines };
}

describe('plain lines stay what they were', () => {
  it('up: one line per event, node first', () => {
    const { display, lines } = plainLines();
    const rows = new UpRows(display);
    rows.event({ stage: 'image', message: 'present' });
    rows.event({ stage: 'network', message: 'creating network n' });
    rows.event({ node: 'lb1', stage: 'setup', message: 'ip link' });
    rows.event({ node: 'lb1', stage: 'ready', message: 'ospf: Full' });
    rows.fail(new LabError('readiness', 'timed out', { node: 'lb2' }));
    display.line('warning: w');
    expect(lines).toEqual([
      'image: present',
      'network: creating network n',
      'lb1: setup: ip link',
      'lb1: ready: ospf: Full',
      'warning: w',
    ]);
  });

  it('class up: the class lines and a numbered line per student, not their progress', () => {
    const { display, lines } = plainLines();
    const rows = new ClassRows(display, 2);
    rows.progress('class', 'Building lblab/node:x');
    rows.progress('s01', 'client: create: img');
    rows.studentDone({ student: 's01', ok: true, ms: 1234 });
    rows.studentDone({ student: 's02', ok: false, ms: 10, error: 'boom' });
    expect(lines).toEqual([
      'Building lblab/node:x',
      '[1/2] s01: up and broken in 1.2 s',
      '[2/2] s02: FAILED: boom',
    ]);
  });

  it('engine start: every line as it was, transfer ticks left out', () => {
    const { display, lines } = plainLines();
    const rows = new StageRows(display, 'sandbox');
    rows.line('Booting the sandbox guest (UML 6)');
    rows.line('Loading lblab/node:x into the sandbox');
    rows.transfer('lblab/node:x', 2 ** 20, 1);
    rows.line('Loaded lblab/node:x (1 MB in 1 s at 1.0 MB/s)');
    rows.finish();
    expect(lines).toEqual([
      'Booting the sandbox guest (UML 6)',
      'Loading lblab/node:x into the sandbox',
      'Loaded lblab/node:x (1 MB in 1 s at 1.0 MB/s)',
    ]);
  });
});

describe('rows', () => {
  /** What a display was told, as `key ok|update message` entries. */
  function recording() {
    const calls: string[] = [];
    const display = {
      mode: 'live' as const,
      update: (key: string, stage: string, message: string) =>
        calls.push(`${key} update ${stage}: ${message}`),
      done: (key: string, ok: boolean, message?: string) =>
        calls.push(`${key} ${ok ? 'ok' : 'FAILED'} ${message}`),
      line: () => undefined,
      close: () => undefined,
    };
    return { display, calls };
  }

  it('up: lab-wide stages follow one another, and a failed node is marked with its error', () => {
    const { display, calls } = recording();
    const rows = new UpRows(display);
    rows.event({ stage: 'image', message: 'present' });
    rows.event({ stage: 'preflight', message: 'ipvs' });
    rows.event({ node: 'lb1', stage: 'setup', message: 'ip link' });
    rows.event({ stage: 'teardown', message: 'removing' });
    rows.fail(new LabError('setup', 'exit 2', { node: 'lb1' }));
    expect(calls).toEqual([
      'image update image: present',
      'image ok undefined',
      'preflight update preflight: ipvs',
      'preflight ok undefined',
      'lb1 update setup: ip link',
      'teardown update teardown: removing',
      'teardown ok undefined',
      'lb1 FAILED setup: exit 2',
    ]);
  });

  it('up: a lab-wide failure marks its stage; an interrupt marks nothing failed', () => {
    const failed = recording();
    new UpRows(failed.display).fail(new LabError('network', 'subnet taken'));
    expect(failed.calls).toEqual(['networks FAILED subnet taken']);
    const interrupted = recording();
    const rows = new UpRows(interrupted.display);
    rows.event({ node: 'a', stage: 'create', message: 'img' });
    rows.fail(new InterruptedError('SIGINT'));
    expect(interrupted.calls).toEqual(['a update create: img']);
  });

  it('sandbox lines: a stage starts a row, other lines go to the row before', () => {
    expect(sandboxRowOf('Building the sandbox guest root (Debian bookworm, ~30 s) in /x')).toBe('guest root');
    expect(sandboxRowOf("Creating the guest's Docker disk (8 GiB, sparse) /x")).toBe('guest root');
    expect(sandboxRowOf('  mmdebstrap: I: running apt-get update...')).toBeUndefined();
    expect(sandboxRowOf('Booting the sandbox guest (UML 6.1)')).toBe('boot');
    expect(sandboxRowOf('Loading lblab/node:abc into the sandbox')).toBe('load lblab/node:abc');
    expect(sandboxRowOf('Loaded lblab/node:abc (1 MB in 1 s)')).toBe('load lblab/node:abc');
    expect(sandboxRowOf('Installing user-mode-linux with apt-get')).toBe('host tools');
    expect(sandboxRowOf('Building lblab/node:abc from debian:bookworm-slim')).toBe('node image');
  });

  it('describes an image copy by bytes sent and rate', () => {
    expect(describeTransfer(46 * 2 ** 20, 2)).toBe('46.0 MB sent, 23.0 MB/s');
    expect(describeTransfer(0, 0)).toBe('0.0 MB sent, 0.0 MB/s');
  });
});
