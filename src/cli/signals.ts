/**
 * Ctrl-C during `up`: the first SIGINT/SIGTERM/SIGHUP aborts (the lab is rolled back, exit 130/143/129);
 * a second one exits at once and says how to clean up by hand.
 */
import { exitCodeFor, INTERRUPT_SIGNALS, type InterruptSignal } from '../util/interrupt.js';

export function abortOnSignals(onSecond: (signal: InterruptSignal) => void): {
  signal: AbortSignal;
  dispose: () => void;
} {
  const controller = new AbortController();
  const handler = (signal: InterruptSignal) => {
    if (controller.signal.aborted) {
      onSecond(signal);
      process.exit(exitCodeFor(signal));
    }
    controller.abort(signal);
  };
  for (const signal of INTERRUPT_SIGNALS) process.on(signal, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const signal of INTERRUPT_SIGNALS) process.off(signal, handler);
    },
  };
}
