/** Bringing a lab up with its experiment and judging the report, as the e2e tests of the labs do. */
import { expect } from 'vitest';
import type { VerifyReport } from '../../src/verify/report.js';
import { lblab, lblabJson, PROJECT_ROOT } from './cli.js';

export const labFile = (name: string) => `${PROJECT_ROOT}topologies/${name}.yml`;
export const LONG = 20 * 60_000;

export interface UpJson {
  engine: string;
  dataPlanes: Record<string, string>;
  verify: VerifyReport;
}

/** Every step passed; on failure the message carries the steps that did not. */
export function expectAllPassed(
  result: { exitCode?: number; stderr: unknown },
  report: VerifyReport | undefined,
) {
  const failed = (report?.steps ?? []).filter((s) => s.verdict !== 'pass');
  expect(result.exitCode, `${String(result.stderr).slice(-3000)}\n${JSON.stringify(failed, null, 1)}`).toBe(
    0,
  );
  expect(report?.ok).toBe(true);
}

/** `up --verify --json`, the whole report returned whatever it says; `extra`: more flags, e.g. --html. */
export async function upWithVerify(topology: string, engine: string, extra: string[] = []) {
  return lblabJson<UpJson>(['up', topology, '--verify', '--engine', engine, ...extra], { timeoutMs: LONG });
}

export async function upAndVerify(topology: string, engine: string, extra: string[] = []): Promise<UpJson> {
  const { result, json } = await upWithVerify(topology, engine, extra);
  expectAllPassed(result, json.verify);
  return json;
}

/** Runs `body` and always takes the lab down after, so a failure never blocks the next lab. */
export async function withLabDown<T>(topology: string, engine: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    const down = await lblab(['down', topology, '--engine', engine]);
    expect(down.exitCode, String(down.stderr)).toBe(0);
  }
}
