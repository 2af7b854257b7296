/**
 * Timers and timeouts that fit the engine a lab runs on. The host engine runs containers on the host
 * kernel at full speed; the sandbox runs them in a User-Mode Linux guest, where every syscall is a
 * round trip through a host process and a `docker exec` costs ~1.4 s instead of ~0.3 s. Sub-second
 * OSPF hellos that hold on the host can miss their dead interval there when the host is busy.
 */
import type { EngineName, EngineTuning } from '../core/engine.js';

const TUNING: Readonly<Record<EngineName, EngineTuning>> = {
  docker: {
    engine: 'docker',
    ospfTimers: 'fast',
    timeoutScale: 1,
    pollIntervalMs: 200,
    why: 'containers on the host kernel: sub-second OSPF hellos hold even with every core busy',
  },
  sandbox: {
    engine: 'sandbox',
    ospfTimers: 'steady',
    timeoutScale: 3,
    pollIntervalMs: 1000,
    why:
      'containers in the UML guest run every syscall slowly: hello 1 s / dead 4 s never flaps there under load ' +
      '(250 ms / 1 s does); readiness gets 3x the time and probes once a second',
  },
};

export function tuningFor(engine: EngineName = 'docker'): EngineTuning {
  return TUNING[engine];
}
