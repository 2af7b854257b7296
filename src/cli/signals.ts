/**
 * Ctrl-C during `up`: the first SIGINT/SIGTERM aborts (the lab is rolled back, exit 130/143);
 * a second one exits at once and says how to clean up by hand.
 */
export function abortOnSignals(onSecond: (signal: NodeJS.Signals) => void): {
  signal: AbortSignal;
  dispose: () => void;
} {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      onSecond(signal);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    controller.abort(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
