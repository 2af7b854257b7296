/** Shared by `verify` and `up --verify`: progress lines, the human report and the JUnit file. */
import { writeFile } from 'node:fs/promises';
import { renderJunit } from '../verify/render-report.js';
import type { VerifyReport } from '../verify/report.js';
import type { VerifyProgressEvent } from '../verify/runner.js';

export function describeVerifyProgress(event: VerifyProgressEvent): string | undefined {
  if (event.type === 'step-start') return undefined;
  if (event.type === 'undone') {
    const { what, ok, error } = event.result;
    return `verify: undone: ${what}${ok ? '' : ` FAILED: ${error ?? 'error'}`}`;
  }
  const { result } = event;
  return `verify [${event.index + 1}/${event.total}] ${result.verdict.toUpperCase()} ${result.name} (${result.node}): ${result.summary}`;
}

export async function writeJunit(path: string | undefined, report: VerifyReport): Promise<void> {
  if (path) await writeFile(path, renderJunit(report));
}
