/** Time as lblab's waits see it, injectable so tests of polling and locks need no real sleeps. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Sleeps until the wall-clock time `when` (epoch ms); an abort ends the sleep early, without throwing. */
export async function sleepUntil(when: number, signal?: AbortSignal): Promise<void> {
  const ms = when - Date.now();
  if (ms <= 0 || signal?.aborted) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
