/**
 * Docker's streamed JSON progress (pull, import, build) turned into plain lines and into a promise that
 * rejects when the stream reports an error: Docker answers 200 and puts build failures in the stream.
 */
import type Dockerode from 'dockerode';
import { stripAnsi } from '../util/text.js';

export interface DockerProgressEvent {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Lines worth showing; download progress bars are left out because they repeat several times a second. */
export function progressLines(event: DockerProgressEvent): string[] {
  if (event.stream !== undefined) {
    return stripAnsi(event.stream)
      .split('\n')
      .map((line) => line.trimEnd())
      .filter((line) => line.length > 0);
  }
  if (event.status !== undefined && event.progress === undefined) {
    return [event.id === undefined ? event.status : `${event.id}: ${event.status}`];
  }
  return [];
}

const BUILD_STEP = /^Step \d+\/\d+ : /;
/** Docker's own bookkeeping between steps, which explains nothing about a failure. */
const BUILDER_NOISE = /^( ---> |Removing intermediate container )/;
/** Enough of a failed step's output to show the cause (apt's "E: ..." lines, a shell error). */
const FAILURE_CONTEXT_LINES = 5;

/** Resolves when the stream ends cleanly; rejects naming the failing build step and its last output. */
export function followDockerStream(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
  operation: string,
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let currentStep: string | undefined;
    let stepOutput: string[] = [];
    let failure: string | undefined;

    const onEvent = (event: DockerProgressEvent): void => {
      for (const line of progressLines(event)) {
        onLine(line);
        if (BUILD_STEP.test(line)) {
          currentStep = line;
          stepOutput = [];
        } else if (!BUILDER_NOISE.test(line)) {
          stepOutput = [...stepOutput, line].slice(-FAILURE_CONTEXT_LINES);
        }
      }
      if (event.error !== undefined && failure === undefined) {
        const message = event.errorDetail?.message ?? event.error;
        const where = currentStep === undefined ? '' : ` at "${currentStep}"`;
        const context = stepOutput.length === 0 ? '' : `\n${stepOutput.join('\n')}`;
        failure = `${operation} failed${where}: ${message}${context}`;
      }
    };

    docker.modem.followProgress(
      stream,
      (error) => {
        if (failure !== undefined) reject(new Error(failure));
        else if (error) reject(new Error(`${operation} failed: ${error.message}`));
        else resolve();
      },
      onEvent,
    );
  });
}
