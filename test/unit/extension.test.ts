/**
 * A new verify step type and a new check type, each written in this file alone and registered here,
 * with no edit in src/: they parse, are checked, run through the runner and land in the report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineCheckType } from '../../src/checks/check-type.js';
import { describeCheck, registerCheckType, waitKeys } from '../../src/checks/registry.js';
import { waitForCheck } from '../../src/checks/wait.js';
import type { Plan, ReadinessCheck } from '../../src/core/plan.js';
import type { ExecResult } from '../../src/core/runtime.js';
import { tuningFor } from '../../src/plan/engine-tuning.js';
import { renderHumanReport } from '../../src/verify/render-report.js';
import { runVerification } from '../../src/verify/runner.js';
import { defineStepType, toEvidence, type VerifyStep } from '../../src/verify/step-type.js';
import {
  checkVerifySteps,
  parseVerifySteps,
  registerStepType,
  stepTypeNames,
} from '../../src/verify/steps.js';
import { FakeRuntime, ok } from '../support/fake-runtime.js';

/** A check type: a file exists in the node. */
interface FileCheck extends ReadinessCheck {
  type: 'file';
  path: string;
}

const fileCheck = defineCheckType<FileCheck>({
  type: 'file',
  waitKey: 'file',
  parse: (wait, timeoutMs) => ({ type: 'file', node: wait.node, path: wait.file as string, timeoutMs }),
  describe: (check) => `file ${check.path} exists`,
  async observe(probe, check) {
    const result = await probe(['test', '-e', check.path]);
    return { ok: result.exitCode === 0, seen: result.exitCode === 0 ? 'there' : 'missing' };
  },
});

/** A step type: ping a host from the node, a number of times. */
interface PingStep extends VerifyStep {
  type: 'ping';
  host: string;
  count: number;
}

const pingStep = defineStepType<PingStep, { node: string; host: string; count?: number }>({
  type: 'ping',
  parse: (raw, index) => ({
    type: 'ping',
    index,
    name: `ping ${raw.host}`,
    node: raw.node,
    host: raw.host,
    count: raw.count ?? 3,
  }),
  check: (step, { at }) =>
    step.count > 0 ? [] : [{ path: at('count'), message: `count must be above 0, not ${step.count}` }],
  async run(step, { runtime, node }) {
    const cmd = ['ping', '-c', String(step.count), step.host];
    const result = await runtime.exec(node.containerName, cmd);
    const expectation = {
      name: 'reachable',
      ok: result.exitCode === 0,
      expected: `${step.host} answers`,
      seen: `exit ${result.exitCode}`,
    };
    return {
      verdict: expectation.ok ? 'pass' : 'fail',
      summary: `${step.count} sent`,
      expectations: [expectation],
      evidence: [toEvidence('ping', cmd, result)],
    };
  },
});

const unregister: (() => void)[] = [];
beforeAll(() => {
  unregister.push(registerCheckType(fileCheck), registerStepType(pingStep));
});
afterAll(() => unregister.forEach((remove) => remove()));

const plan: Plan = {
  lab: 'ext',
  topologyFile: 'ext.yml',
  topologyHash: 'h',
  lblabVersion: '0.0.0',
  networks: [],
  tuning: tuningFor('docker'),
  warnings: [],
  nodes: [
    {
      name: 'client',
      kind: 'linux',
      containerName: 'lblab-ext-client',
      hostname: 'client',
      image: 'lblab/node:test',
      labels: {},
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
    },
  ],
};

/** The node: /ready appears on the second look; 10.0.0.1 answers pings, nothing else does. */
class ExtensionLab extends FakeRuntime {
  private looks = 0;
  override async exec(_container: string, cmd: string[]): Promise<ExecResult> {
    if (cmd[0] === 'test') return (this.looks += 1) >= 2 ? ok() : { exitCode: 1, stdout: '', stderr: '' };
    if (cmd[0] === 'ping')
      return cmd.at(-1) === '10.0.0.1'
        ? ok('3 received\n')
        : { exitCode: 1, stdout: '', stderr: '100% loss\n' };
    throw new Error(`unexpected ${cmd.join(' ')}`);
  }
}

const VERIFY = [
  { wait: { node: 'client', file: '/ready', timeout: '5s' } },
  { name: 'the gateway answers', ping: { node: 'client', host: '10.0.0.1' } },
  { ping: { node: 'client', host: '10.0.0.2', count: 1 } },
];

describe('a step type and a check type registered from outside src/', () => {
  it('are known to the registries', () => {
    expect(stepTypeNames()).toContain('ping');
    expect(waitKeys()).toContain('file');
  });

  it('parse, with the check inside a wait step', () => {
    const steps = parseVerifySteps(VERIFY);
    expect(steps.map((step) => [step.type, step.name])).toEqual([
      ['wait', 'wait file /ready exists'],
      ['ping', 'the gateway answers'],
      ['ping', 'ping 10.0.0.2'],
    ]);
    expect(describeCheck(steps[0]?.check as ReadinessCheck)).toBe('file /ready exists');
  });

  it('get their semantic checks, at their own paths', () => {
    const steps = parseVerifySteps([{ ping: { node: 'client', host: '10.0.0.1', count: 0 } }]);
    expect(checkVerifySteps(steps, new Set(['client']), new Map([['client', 'linux']]))).toEqual([
      { path: ['verify', 0, 'ping', 'count'], message: 'count must be above 0, not 0' },
    ]);
  });

  it('run through the runner and land in the report', async () => {
    const lab = new ExtensionLab();
    const clock = { now: () => 0, sleep: async () => undefined };
    const report = await runVerification(
      {
        runtime: lab,
        plan,
        waitFor: async (check) => {
          await waitForCheck(lab, 'lblab-ext-client', check, { clock });
        },
      },
      parseVerifySteps(VERIFY),
    );
    expect(report.steps.map((step) => [step.type, step.verdict, step.summary])).toEqual([
      ['wait', 'pass', 'held'],
      ['ping', 'pass', '3 sent'],
      ['ping', 'fail', '1 sent'],
    ]);
    expect(report.steps[2]?.expectations[0]).toMatchObject({ name: 'reachable', ok: false, seen: 'exit 1' });
    expect(report.steps[2]?.evidence[0]).toMatchObject({ label: 'ping', command: 'ping -c 1 10.0.0.2' });
    expect(report.counts).toEqual({ steps: 3, passed: 2, failed: 1, errors: 0 });
    expect(renderHumanReport(report)).toContain('✗ reachable: expected 10.0.0.2 answers');
  });
});
