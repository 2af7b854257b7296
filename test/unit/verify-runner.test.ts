import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadinessTimeout } from '../../src/checks/wait.js';
import type { Plan, PlannedNode, ReadinessCheck } from '../../src/core/plan.js';
import type { ExecOptions, ExecResult, NetnsHelperSpec } from '../../src/core/runtime.js';
import { FakeRuntime, ok } from '../support/fake-runtime.js';
import { tuningFor } from '../../src/plan/engine-tuning.js';
import { runVerification, type VerifyProgressEvent } from '../../src/verify/runner.js';
import { checkVerifySteps, parseVerifySteps, registerStepType } from '../../src/verify/steps.js';
import { defineStepType, type VerifyStep } from '../../src/verify/step-type.js';
import { InterruptedError } from '../../src/util/interrupt.js';

function plannedNode(name: string, kind: string, extra: Partial<PlannedNode> = {}): PlannedNode {
  return {
    name,
    kind,
    containerName: `lblab-ecmp-${name}`,
    hostname: name,
    image: 'lblab/node:test',
    labels: { 'lblab.lab': 'ecmp', 'lblab.node': name },
    env: {},
    capAdd: [],
    sysctls: {},
    writableNetSysctls: true,
    binds: [],
    interfaces: [],
    files: [],
    setupScript: '',
    setup: [],
    readiness: [],
    logs: [],
    ...extra,
  };
}

const plan: Plan = {
  lab: 'ecmp',
  topologyFile: 'topologies/ecmp-lvs-dr.yml',
  topologyHash: 'h',
  lblabVersion: '0.0.0',
  networks: [],
  tuning: tuningFor('docker'),
  nodes: [
    plannedNode('router', 'router'),
    plannedNode('lb1', 'director', { dataPlane: 'ipvs' }),
    plannedNode('lb2', 'director', { dataPlane: 'nftables' }),
    plannedNode('server1', 'server'),
    plannedNode('server2', 'server'),
  ],
  warnings: [],
};

/**
 * A pretend lab (the fake runtime, with execs that answer like a lab's nodes): the router's hash policy (set through runInNetns) decides where the request loop's
 * requests land, the way the kernel would with two nexthops.
 */
class FakeLab extends FakeRuntime {
  hashPolicy = 0;
  nexthops = 2;
  readonly addresses = new Set<string>(['172.16.253.135/24']);
  readonly execs: { container: string; cmd: string[]; options?: ExecOptions }[] = [];
  readonly helpers: NetnsHelperSpec[] = [];
  /** Overrides the request loop: returns the stdout for (requests, sources). */
  loop?: (requests: number, sources: string[]) => ExecResult;

  override async exec(container: string, cmd: string[], options?: ExecOptions): Promise<ExecResult> {
    this.execs.push({ container, cmd, ...(options && { options }) });
    const [program, ...args] = cmd;
    if (program === 'sh' && args[0] === '-c' && args[1]?.includes('lblab http-tally')) {
      return this.requestLoop(args[1]);
    }
    if (program === 'sh' && args[1]?.includes('ip addr "$verb"')) {
      // The addresses batch: sh -c SCRIPT sh VERB DEV CIDR...; one `cidr \t exit \t message` line each.
      const [, , , verb = '', , ...cidrs] = args;
      const lines = cidrs.map((cidr) => {
        const result = this.ipAddr(verb, cidr);
        return `${cidr}\t${result.exitCode}\t${result.stderr.trim()}`;
      });
      return ok(`${lines.join('\n')}\n`);
    }
    if (program === 'sh') return ok('172.16.253.100 via 172.16.253.129 dev eth0 src 172.16.253.135\n');
    if (program === 'ip' && args[0] === 'addr') return this.ipAddr(args[1] ?? '', args[2] ?? '');
    if (program === 'cat') return ok(`${this.hashPolicy}\n`);
    if (program === 'ip' && args[0] === '-4') {
      return ok(
        this.nexthops === 1
          ? '172.16.253.100 via 172.16.253.129 dev eth0 proto ospf metric 20\n'
          : '172.16.253.100 proto ospf metric 20\n\tnexthop via 172.16.253.129 dev eth0 weight 1\n\tnexthop via 172.16.253.131 dev eth0 weight 1\n',
      );
    }
    if (program === 'vtysh') return ok('O>* 172.16.253.100/32 [110/20] via 172.16.253.129, eth0\n');
    if (program === 'ipvsadm') return { exitCode: 1, stdout: '', stderr: 'Memory allocation problem\n' };
    if (program === 'nft') return ok('table netdev lblab_dr {\n}\n');
    throw new Error(`unexpected exec ${cmd.join(' ')}`);
  }

  override async runInNetns(spec: NetnsHelperSpec): Promise<ExecResult> {
    this.helpers.push(spec);
    const pair = spec.cmd.at(-1) ?? '';
    this.hashPolicy = Number(pair.split('=')[1]);
    return ok(`${pair.replace('=', ' = ')}\n`);
  }

  private ipAddr(verb: string, cidr: string): ExecResult {
    if (cidr === '10.9.9.9/32')
      return { exitCode: 1, stdout: '', stderr: 'Error: any valid prefix is expected rather than "x".\n' };
    // An older kernel's wording for a present address, a newer one's for a missing one: both count.
    if (verb === 'add' && this.addresses.has(cidr))
      return { exitCode: 2, stdout: '', stderr: 'RTNETLINK answers: File exists\n' };
    if (verb === 'del' && !this.addresses.has(cidr)) {
      return { exitCode: 2, stdout: '', stderr: 'Error: ipv4: Address not found.\n' };
    }
    if (verb === 'add') this.addresses.add(cidr);
    else this.addresses.delete(cidr);
    return ok();
  }

  private requestLoop(script: string): ExecResult {
    // The script runs one `tally GROUP COUNT [--interface SOURCE]` per source; request i is request
    // floor(i / groups) of group i % groups.
    const groups = [...script.matchAll(/^tally (\d+) (\d+)(?: --interface (\S+))?$/gm)].map((m) => ({
      count: Number(m[2]),
      source: m[3],
    }));
    const requests = groups.reduce((sum, group) => sum + group.count, 0);
    const sources = groups.flatMap((group) => (group.source ? [group.source] : []));
    if (this.loop) return this.loop(requests, sources);
    const lines = Array.from({ length: requests }, (_, i) => {
      const group = i % groups.length;
      const source = sources[group];
      const path =
        this.nexthops === 1
          ? 0
          : this.hashPolicy === 1
            ? i % 2
            : source
              ? Number(source.split('.')[3]) % 2
              : 0;
      return `${group}\t${Math.floor(i / groups.length)}\t200\t0.004\t0\tserver${path + 1}\t`;
    });
    return ok(`${lines.join('\n')}\n`);
  }
}

const SOURCES = Array.from({ length: 8 }, (_, i) => `172.16.253.${11 + i}`);

const experiment = parseVerifySteps([
  { wait: { node: 'router', route: '172.16.253.100/32', nexthops: 2 } },
  { sysctl: { node: 'router', set: { 'net.ipv4.fib_multipath_hash_policy': 0 } } },
  { 'http-tally': { node: 'router', url: 'http://172.16.253.100:8080/', expect: { distinct: 1 } } },
  { sysctl: { node: 'router', set: { 'net.ipv4.fib_multipath_hash_policy': 1 } } },
  {
    'http-tally': {
      node: 'router',
      url: 'http://172.16.253.100:8080/',
      expect: { distinct: 2, 'min-share': 0.25, only: ['server1', 'server2'] },
    },
  },
  { sysctl: { node: 'router', set: { 'net.ipv4.fib_multipath_hash_policy': 0 } } },
  { addresses: { node: 'router', add: SOURCES } },
  {
    'http-tally': {
      node: 'router',
      url: 'http://172.16.253.100:8080/',
      sources: SOURCES,
      expect: { distinct: 2, 'per-source-stable': true },
    },
  },
  { addresses: { node: 'router', remove: SOURCES } },
  { show: { node: 'router', what: 'ospf-routes' } },
  { show: { node: 'lb2', what: 'director-stats' } },
]);

function context(lab: FakeLab, waitFor: (check: ReadinessCheck) => Promise<void> = async () => undefined) {
  let tick = 0;
  return { runtime: lab, plan, waitFor, now: () => (tick += 10) };
}

describe('runVerification', () => {
  it('runs the seed experiment end to end against a lab that behaves', async () => {
    const lab = new FakeLab();
    const waited: ReadinessCheck[] = [];
    const events: VerifyProgressEvent[] = [];
    const report = await runVerification(
      {
        ...context(lab, async (check) => {
          waited.push(check);
        }),
        onProgress: (event) => events.push(event),
      },
      experiment,
    );
    expect(report.steps.map((s) => [s.type, s.verdict, s.summary])).toEqual([
      ['wait', 'pass', 'held'],
      ['sysctl', 'pass', 'net.ipv4.fib_multipath_hash_policy=0'],
      ['http-tally', 'pass', 'server1 100'],
      ['sysctl', 'pass', 'net.ipv4.fib_multipath_hash_policy=1'],
      ['http-tally', 'pass', 'server1 50 / server2 50'],
      ['sysctl', 'pass', 'net.ipv4.fib_multipath_hash_policy=0'],
      ['addresses', 'pass', 'added 8 on lo'],
      ['http-tally', 'pass', 'server1 50 / server2 50'],
      ['addresses', 'pass', 'removed 8 on lo'],
      ['show', 'pass', '1 line'],
      ['show', 'pass', '2 lines'],
    ]);
    expect(report).toMatchObject({
      lab: 'ecmp',
      topologyFile: 'topologies/ecmp-lvs-dr.yml',
      ok: true,
      counts: { steps: 11, passed: 11, failed: 0, errors: 0 },
    });
    expect(report.steps[0]?.durationMs).toBe(10);
    expect(waited).toEqual([
      { type: 'route', node: 'router', prefix: '172.16.253.100/32', nexthops: 2, timeoutMs: 30_000 },
    ]);
    expect(lab.helpers[0]).toEqual({
      target: 'lblab-ecmp-router',
      image: 'lblab/node:test',
      cmd: ['sysctl', '-w', 'net.ipv4.fib_multipath_hash_policy=0'],
      capAdd: ['NET_ADMIN'],
      writableProcSys: true,
      labels: { 'lblab.lab': 'ecmp', 'lblab.node': 'router' },
    });
    // One exec per tally, bounded by requests × per-request timeout.
    const isTally = (cmd: string[]) => cmd[0] === 'sh' && (cmd[2] ?? '').includes('lblab http-tally');
    const loops = lab.execs.filter((e) => isTally(e.cmd));
    expect(loops).toHaveLength(3);
    expect(loops[0]).toMatchObject({
      container: 'lblab-ecmp-router',
      options: { timeoutMs: 100 * 2100 + 10_000 },
    });
    // One exec per addresses step, every address an argument of it (none spliced into the script).
    const batches = lab.execs.filter(
      (e) => e.cmd[0] === 'sh' && (e.cmd[2] ?? '').includes('ip addr "$verb"'),
    );
    expect(batches.map((e) => e.cmd.slice(3, 7))).toEqual([
      ['sh', 'add', 'lo', '172.16.253.11/32'],
      ['sh', 'del', 'lo', '172.16.253.11/32'],
    ]);
    expect(batches[0]?.cmd).toHaveLength(3 + 3 + 8);
    expect(report.steps[9]?.evidence).toEqual([
      {
        label: 'ospf-routes',
        command: "vtysh -c 'show ip route ospf'",
        exitCode: 0,
        stdout: 'O>* 172.16.253.100/32 [110/20] via 172.16.253.129, eth0\n',
        stderr: '',
      },
    ]);
    // director-stats follows the data plane: lb2 forwards with nftables.
    expect(report.steps[10]?.evidence[0]).toMatchObject({
      label: 'director-stats',
      command: 'nft list ruleset',
    });
    expect(events.map((e) => `${e.type} ${'index' in e ? e.index : ''}`).slice(0, 4)).toEqual([
      'step-start 0',
      'step-end 0',
      'step-start 1',
      'step-end 1',
    ]);
    expect(events[0]).toEqual({
      type: 'step-start',
      index: 0,
      total: 11,
      name: expect.any(String),
      stepType: 'wait',
      node: 'router',
    });
  });

  it('reads the hash policy and the route after a failed tally, and hints at the missing nexthop', async () => {
    const lab = new FakeLab();
    lab.nexthops = 1;
    const report = await runVerification(context(lab), experiment.slice(3, 5));
    const tally = report.steps[1];
    expect(tally?.verdict).toBe('fail');
    expect(tally?.summary).toBe('server1 100');
    expect(tally?.expectations.find((e) => !e.ok)).toEqual({
      name: 'distinct',
      ok: false,
      expected: '2 distinct X-Host value(s)',
      seen: '1: server1 100',
      hint: "only 1 nexthop to 172.16.253.100 on router: is each director's (lb1, lb2) OSPF adjacency with router Full? (show: ospf-neighbors)",
    });
    expect(tally?.evidence.map((e) => [e.label, e.command, e.stdout.split('\n')[0]])).toEqual([
      ['hash policy', 'cat /proc/sys/net/ipv4/fib_multipath_hash_policy', '1'],
      [
        'route to 172.16.253.100',
        'ip -4 route show 172.16.253.100/32',
        '172.16.253.100 via 172.16.253.129 dev eth0 proto ospf metric 20',
      ],
    ]);
    expect(report).toMatchObject({ ok: false, counts: { steps: 2, passed: 1, failed: 1, errors: 0 } });
  });

  it('keeps going after a failed wait and reports every step', async () => {
    const lab = new FakeLab();
    const steps = parseVerifySteps([
      { wait: { node: 'router', 'ospf-full': 2, timeout: '1s' } },
      { exec: { node: 'router', cmd: 'ip route get 172.16.253.100', match: 'via' } },
      { exec: { node: 'router', cmd: 'true', match: '^nothing' } },
    ]);
    const report = await runVerification(
      context(lab, async (check) => {
        throw new ReadinessTimeout(check, '1 Full (172.16.253.129)');
      }),
      steps,
    );
    expect(report.steps.map((s) => [s.verdict, s.summary])).toEqual([
      ['fail', 'timed out, last seen: 1 Full (172.16.253.129)'],
      ['pass', 'exit 0'],
      ['fail', 'exit 0'],
    ]);
    expect(report.steps[0]?.expectations[0]).toMatchObject({
      name: 'wait',
      ok: false,
      seen: 'router: 2 OSPF neighbour(s) Full not reached after 1 s (last seen: 1 Full (172.16.253.129))',
    });
    expect(lab.execs.map((e) => e.cmd)).toEqual([
      ['sh', '-c', 'ip route get 172.16.253.100'],
      ['sh', '-c', 'true'],
    ]);
  });

  it('treats adding a present address as done and other ip errors as a step error', async () => {
    const lab = new FakeLab();
    const steps = parseVerifySteps([
      { addresses: { node: 'router', add: ['172.16.253.135/24', '172.16.253.11'] } },
      { addresses: { node: 'router', remove: ['172.16.253.99', '10.9.9.9'] } },
    ]);
    const report = await runVerification(context(lab), steps);
    expect(report.steps[0]).toMatchObject({ verdict: 'pass', summary: 'added 1 on lo, 1 unchanged' });
    expect(report.steps[1]).toMatchObject({
      verdict: 'error',
      summary: 'removed 0 on lo, 1 unchanged',
      error: 'ip addr del failed for 1 of 2',
      evidence: [{ label: 'del 10.9.9.9/32', command: 'ip addr del 10.9.9.9/32 dev lo', exitCode: 1 }],
    });
  });

  it('turns what could not run into error verdicts', async () => {
    const lab = new FakeLab();
    lab.loop = () => ({ exitCode: 124, stdout: '0\t0\t200\t0.004\t0\tserver1\t\n', stderr: '' });
    const steps = parseVerifySteps([
      { show: { node: 'ghost', what: 'ospf-routes' } },
      { show: { node: 'lb1', what: 'ipvs-stats' } },
      { 'http-tally': { node: 'router', url: 'http://172.16.253.100:8080/', requests: 3 } },
      { sysctl: { node: 'router', set: { 'net.ipv4.fib_multipath_hash_policy': 1 } } },
    ]);
    lab.runInNetns = async () => ({
      exitCode: 255,
      stdout: '',
      stderr: 'sysctl: permission denied on key "net.ipv4.fib_multipath_hash_policy"\n',
    });
    const report = await runVerification(context(lab), steps);
    expect(report.steps.map((s) => [s.verdict, s.error])).toEqual([
      ['error', 'node "ghost" is not in the plan (nodes: router, lb1, lb2, server1, server2)'],
      ['error', 'exited 1: Memory allocation problem'],
      ['error', 'the request loop did not finish in 16 s (1 of 3 requests answered)'],
      [
        'error',
        'sysctl -w exited 255: sysctl: permission denied on key "net.ipv4.fib_multipath_hash_policy"',
      ],
    ]);
    expect(report.steps[1]?.evidence[0]?.stderr).toBe('Memory allocation problem\n');
    expect(report.steps[2]?.tally?.answered).toBe(1);
    expect(report).toMatchObject({ ok: false, counts: { errors: 4 } });
  });
});

describe('the sysctl step', () => {
  const setPolicy = parseVerifySteps([
    { sysctl: { node: 'router', set: { 'net.ipv4.fib_multipath_hash_policy': 1 } } },
  ]);
  const withNetAdmin: Plan = {
    ...plan,
    nodes: plan.nodes.map((node) => (node.name === 'router' ? { ...node, capAdd: ['NET_ADMIN'] } : node)),
  };

  /** A lab whose router answers sysctl itself, with `answer`. */
  function labAnswering(answer: ExecResult) {
    const lab = new FakeLab();
    const original = lab.exec.bind(lab);
    lab.exec = async (container, cmd, options) => {
      if (cmd[0] !== 'sysctl') return original(container, cmd, options);
      lab.execs.push({ container, cmd });
      return answer;
    };
    return lab;
  }

  it('sets it in the node itself when the node has NET_ADMIN: one exec, no helper container', async () => {
    const lab = labAnswering(ok('net.ipv4.fib_multipath_hash_policy = 1\n'));
    const report = await runVerification({ ...context(lab), plan: withNetAdmin }, setPolicy);
    expect(report.steps[0]).toMatchObject({
      verdict: 'pass',
      summary: 'net.ipv4.fib_multipath_hash_policy=1',
    });
    expect(lab.execs).toEqual([
      { container: 'lblab-ecmp-router', cmd: ['sysctl', '-w', 'net.ipv4.fib_multipath_hash_policy=1'] },
    ]);
    expect(lab.helpers).toEqual([]);
  });

  it("uses a helper where the node's /proc/sys is read-only (a lab made by an older lblab)", async () => {
    const lab = labAnswering({
      exitCode: 255,
      stdout: '',
      stderr: 'sysctl: setting key "net.ipv4.fib_multipath_hash_policy": Read-only file system\n',
    });
    const report = await runVerification({ ...context(lab), plan: withNetAdmin }, setPolicy);
    expect(report.steps[0]).toMatchObject({ verdict: 'pass' });
    expect(lab.helpers.map((helper) => helper.writableProcSys)).toEqual([true]);
    expect(report.steps[0]?.evidence.map((item) => item.label)).toEqual(['sysctl in the node', 'sysctl']);
  });

  it('reports any other refusal from the node as it is', async () => {
    const lab = labAnswering({
      exitCode: 255,
      stdout: '',
      stderr: 'sysctl: cannot stat /proc/sys/net/x: No such file\n',
    });
    const report = await runVerification({ ...context(lab), plan: withNetAdmin }, setPolicy);
    expect(report.steps[0]).toMatchObject({
      verdict: 'error',
      error: expect.stringMatching(/exited 255: sysctl: cannot stat/),
    });
    expect(lab.helpers).toEqual([]);
  });
});

describe('runVerification undoes what the steps changed', () => {
  /** A step that changes a value in `state` and says how to put it back; `fail: true` also throws. */
  const state = new Map<string, string>();
  const setStep = defineStepType<
    VerifyStep & { key: string; value: string; fail: boolean },
    Record<string, string>
  >({
    type: 'test-set',
    parse: (raw, index) => ({
      type: 'test-set',
      index,
      name: `set ${raw.key}`,
      node: raw.node ?? '',
      key: raw.key ?? '',
      value: raw.value ?? '',
      fail: raw.fail === 'yes',
    }),
    async run(step, { undoLater }) {
      const before = state.get(step.key) ?? 'unset';
      state.set(step.key, step.value);
      undoLater(`${step.key} back to ${before}`, async () => {
        if (step.key === 'stuck') throw new Error('cannot put it back');
        state.set(step.key, before);
      });
      if (step.fail) throw new Error('the step broke after changing things');
      return { verdict: 'pass', summary: `${step.key}=${step.value}`, expectations: [], evidence: [] };
    },
  });
  let unregister: () => void;
  beforeAll(() => {
    unregister = registerStepType(setStep);
  });
  afterAll(() => unregister());

  const steps = (...raw: Record<string, string>[]) =>
    parseVerifySteps(raw.map((r) => ({ 'test-set': { node: 'router', ...r } })));

  it('newest first, after the last step, whatever the verdicts; one that fails does not stop the rest', async () => {
    state.clear();
    state.set('a', '1');
    const events: VerifyProgressEvent[] = [];
    const report = await runVerification(
      { ...context(new FakeLab()), onProgress: (e) => events.push(e) },
      steps({ key: 'a', value: '2' }, { key: 'stuck', value: 'x' }, { key: 'a', value: '3', fail: 'yes' }),
    );
    expect(report.steps.map((s) => s.verdict)).toEqual(['pass', 'pass', 'error']);
    expect(report.undone).toEqual([
      { what: 'a back to 2', ok: true },
      { what: 'stuck back to unset', ok: false, error: 'cannot put it back' },
      { what: 'a back to 1', ok: true },
    ]);
    expect(state.get('a')).toBe('1');
    expect(events.filter((e) => e.type === 'undone')).toHaveLength(3);
  });

  it('a signal stops the run between steps, undoes, and raises InterruptedError', async () => {
    state.clear();
    const controller = new AbortController();
    const abortingStep = defineStepType<VerifyStep, Record<string, string>>({
      type: 'test-abort',
      parse: (raw, index) => ({ type: 'test-abort', index, name: 'Ctrl-C', node: raw.node ?? '' }),
      async run() {
        controller.abort('SIGTERM');
        return { verdict: 'pass', summary: 'signalled', expectations: [], evidence: [] };
      },
    });
    const unregisterAbort = registerStepType(abortingStep);
    try {
      const run = runVerification({ ...context(new FakeLab()), signal: controller.signal }, [
        ...steps({ key: 'b', value: 'on' }),
        ...parseVerifySteps([{ 'test-abort': { node: 'router' } }]).map((s) => ({ ...s, index: 1 })),
        ...steps({ key: 'never', value: 'run' }).map((s) => ({ ...s, index: 2 })),
      ]);
      await expect(run).rejects.toThrow(
        'interrupted by SIGTERM; verify interrupted in step 2 of 3 ("Ctrl-C"); 1 fault(s) undone',
      );
      await expect(run).rejects.toBeInstanceOf(InterruptedError);
      expect(state.get('b')).toBe('unset');
      expect(state.has('never')).toBe(false);
    } finally {
      unregisterAbort();
    }
  });

  describe('a step with a during: list', () => {
    /** Calls runDuring (unless told to skip it) and reports the marks it got back. */
    const loadStep = defineStepType<VerifyStep & { skip: boolean }, { node: string; skip?: boolean }>({
      type: 'test-load',
      hasDuring: true,
      parse: (raw, index) => ({
        type: 'test-load',
        index,
        name: 'load',
        node: raw.node,
        skip: raw.skip ?? false,
      }),
      async run(step, { runDuring }) {
        const origin = Date.now();
        const marks = step.skip || !runDuring ? [] : await runDuring(origin);
        const summary = marks
          .map((m) => `${m.name}@${Math.round((m.startedAt - origin) / 100) * 100}`)
          .join(' ');
        return { verdict: 'pass', summary, expectations: [], evidence: [] };
      },
    });
    let unregisterLoad: () => void;
    beforeAll(() => {
      unregisterLoad = registerStepType(loadStep);
    });
    afterAll(() => unregisterLoad());

    const during = (skip = false) =>
      parseVerifySteps([
        {
          'test-load': {
            node: 'router',
            skip,
            during: [
              { at: '300ms', 'test-set': { node: 'router', key: 'd', value: 'down' } },
              { 'test-set': { node: 'router', key: 'e', value: 'x' } },
            ],
          },
        },
        { 'test-set': { node: 'router', key: 'f', value: 'after' } },
      ]);

    it('flattens it after its step, with paths into the YAML and a parent', () => {
      const flat = during();
      expect(flat.map((s) => [s.index, s.type, s.parent, s.atMs])).toEqual([
        [0, 'test-load', undefined, undefined],
        [1, 'test-set', 0, 300],
        [2, 'test-set', 0, undefined],
        [3, 'test-set', undefined, undefined],
      ]);
      expect(flat[2]?.path).toEqual(['verify', 0, 'test-load', 'during', 1]);
      expect(flat[3]?.path).toEqual(['verify', 1]);
    });

    it('runs the during: steps at their at: times while the step works, each reported under it', async () => {
      state.clear();
      const report = await runVerification(context(new FakeLab()), during());
      expect(report.steps.map((s) => [s.index, s.parent, s.verdict])).toEqual([
        [0, undefined, 'pass'],
        [1, 0, 'pass'],
        [2, 0, 'pass'],
        [3, undefined, 'pass'],
      ]);
      // The first waited for its at: (300 ms), the second followed it at once.
      expect(report.steps[0]?.summary).toMatch(/^set d@300 set e@(300|400)$/);
      expect(report.undone?.map((u) => u.what)).toEqual([
        'f back to unset',
        'e back to unset',
        'd back to unset',
      ]);
    });

    it('says so when the step ended without running them', async () => {
      const report = await runVerification(context(new FakeLab()), during(true));
      expect(report.steps.map((s) => s.verdict)).toEqual(['pass', 'error', 'error', 'pass']);
      expect(report.steps[1]?.error).toBe('not run: "load" ended before its during: steps ran');
    });

    it('refuses at: outside a during: list, out of order, or after the traffic ends', () => {
      const nodes = new Set(['router']);
      const kinds = new Map([['router', 'router']]);
      const outside = parseVerifySteps([{ at: '1s', 'test-set': { node: 'router', key: 'a', value: '1' } }]);
      expect(checkVerifySteps(outside, nodes, kinds).map((i) => i.path)).toEqual([['verify', 0, 'at']]);
      const unordered = parseVerifySteps([
        {
          'test-load': {
            node: 'router',
            during: [
              { at: '2s', 'test-set': { node: 'router', key: 'a', value: '1' } },
              { at: '1s', 'test-set': { node: 'router', key: 'b', value: '1' } },
            ],
          },
        },
      ]);
      expect(checkVerifySteps(unordered, nodes, kinds)).toEqual([
        expect.objectContaining({
          path: ['verify', 0, 'test-load', 'during', 1, 'at'],
          message: 'at 1s is earlier than the step before it (at 2s): during steps run in order',
        }),
      ]);
      const late = parseVerifySteps([
        {
          'http-load': {
            node: 'router',
            url: 'http://10.0.0.1/',
            duration: '10s',
            during: [{ at: '10s', 'test-set': { node: 'router', key: 'a', value: '1' } }],
          },
        },
      ]);
      expect(checkVerifySteps(late, nodes, kinds).map((i) => i.message)).toContain(
        'at 10s is not before the traffic ends (it lasts 10s)',
      );
    });
  });

  it('a signal before the first step starts none and says so', async () => {
    const controller = new AbortController();
    controller.abort('SIGINT');
    await expect(
      runVerification(
        { ...context(new FakeLab()), signal: controller.signal },
        steps({ key: 'z', value: '1' }),
      ),
    ).rejects.toThrow('interrupted by SIGINT; verify interrupted after 0 of 1 steps; 0 fault(s) undone');
  });

  it('a run that changed nothing reports no undone list', async () => {
    const report = await runVerification(
      context(new FakeLab()),
      parseVerifySteps([{ show: { node: 'router', what: 'ospf-routes' } }]),
    );
    expect(report.undone).toBeUndefined();
  });
});
