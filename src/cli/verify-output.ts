/** Shared by `verify` and `up --verify`: the run under Ctrl-C, progress lines, the human report, JUnit. */
import { writeFile } from 'node:fs/promises';
import { verifyLab } from '../lab/lab.js';
import type { Engine } from '../runtime/engine.js';
import { renderJunit } from '../verify/render-report.js';
import type { VerifyReport } from '../verify/report.js';
import type { VerifyProgressEvent } from '../verify/runner.js';
import { abortOnSignals } from './signals.js';

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

/**
 * The lab as it runs now, for the HTML report: its picture with each node's state and the routers'
 * ECMP nexthops (without them when they cannot be read).
 */
export async function labGraphSvg(
  engine: Engine,
  file: string,
  labName: string | undefined,
): Promise<string> {
  const { drawLab } = await import('../lab/lab-picture.js');
  const picture = await drawLab(file, {
    format: 'svg',
    ...(labName !== undefined && { labName }),
    live: { engine, required: false },
  });
  return picture.content;
}

/**
 * `--html`: the report as one page, with the lab's picture when it can be drawn (a topology that no
 * longer compiles still gets its report, without the picture).
 */
export async function writeHtml(
  path: string | undefined,
  report: VerifyReport,
  graphSvg: () => Promise<string | undefined>,
): Promise<void> {
  if (!path) return;
  const { renderHtmlReport } = await import('../pictures/report-html.js');
  const svg = await graphSvg().catch(() => undefined);
  await writeFile(path, renderHtmlReport(report, svg === undefined ? {} : { graphSvg: svg }));
}

/**
 * Runs the experiment with its progress on `progress`. A first Ctrl-C stops it between steps (a
 * running command ends early) and undoes the faults the steps injected; a second leaves at once.
 * `interrupt`: the command's own, installed when it started, so no signal falls between two handlers.
 */
export async function verifyUntilInterrupted(
  engine: Engine,
  file: string,
  labName: string | undefined,
  out: { progress: (line: string) => void; warn: (line: string) => void },
  interrupt?: { signal: AbortSignal },
): Promise<VerifyReport> {
  const own = interrupt
    ? undefined
    : abortOnSignals(() =>
        out.warn('interrupted twice: leaving at once; faults injected by verify may remain'),
      );
  try {
    return await verifyLab(engine, file, {
      labName,
      signal: (interrupt ?? own)!.signal,
      onProgress: (event) => {
        const line = describeVerifyProgress(event);
        if (line) out.progress(line);
      },
    });
  } finally {
    own?.dispose();
  }
}
