/**
 * frr-config: every FRR daemon holds the settings of the integrated frr.conf in its running config.
 * "Started" is not "configured": FRR's boot-time config load can race with a slow daemon start, so
 * a daemon that answers without its settings gets the config loaded (a bounded number of times).
 */
import type { ReadinessCheck } from '../core/plan.js';
import { defineCheckType, type Observation } from './check-type.js';

/** What one FRR daemon must hold in its running config once the integrated frr.conf reached it. */
export interface FrrDaemonConfig {
  daemon: string;
  /** Lines that must appear, trimmed, in `vtysh -d DAEMON -c "show running-config"`. */
  holds: string[];
}

export interface FrrConfigCheck extends ReadinessCheck {
  type: 'frr-config';
  daemons: FrrDaemonConfig[];
}

export const frrConfigCheck = defineCheckType<FrrConfigCheck>({
  type: 'frr-config',
  describe: (check) =>
    `FRR configured (${check.daemons.map((d) => `${d.daemon}: ${d.holds.length} settings`).join(', ')})`,
  async observe(probe, check) {
    // One exec for every daemon: an exec is the expensive part on a slow engine.
    const result = await probe([
      'sh',
      '-c',
      FRR_RUNNING_CONFIG_SCRIPT,
      'probe',
      ...check.daemons.map((d) => d.daemon),
    ]);
    return judgeFrrConfig(result.stdout, check.daemons);
  },
  hint: 'FRR did not load /etc/frr/frr.conf: rerun with --keep-on-failure, then lblab exec <file> <node> -- vtysh -c "show running-config"',
});

const DAEMON_MARK = '@@lblab-daemon ';
const FAILED_MARK = '@@lblab-vtysh-failed ';

/** Each daemon's running config under a marker line; a daemon vtysh cannot reach gets a failure mark. */
const FRR_RUNNING_CONFIG_SCRIPT = `for daemon in "$@"; do
  echo "${DAEMON_MARK}$daemon"
  vtysh -d "$daemon" -c 'show running-config' 2>&1 || echo "${FAILED_MARK}$?"
done`;

/** The command that loads the integrated frr.conf into every running daemon, as FRR's boot does. */
export const FRR_LOAD_CONFIG = ['vtysh', '-b'];

/**
 * Judges FRR_RUNNING_CONFIG_SCRIPT's output: every daemon answers and holds every wanted line. A
 * daemon that answers without its settings missed the boot-time config load: the repair loads it.
 */
export function judgeFrrConfig(output: string, daemons: FrrDaemonConfig[]): Observation {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith(DAEMON_MARK)) {
      current = [];
      sections.set(line.slice(DAEMON_MARK.length).trim(), current);
    } else {
      current?.push(line.trim());
    }
  }
  const notAnswering: string[] = [];
  const lacking: string[] = [];
  for (const { daemon, holds } of daemons) {
    const lines = sections.get(daemon);
    if (!lines || lines.some((line) => line.startsWith(FAILED_MARK))) {
      notAnswering.push(daemon);
      continue;
    }
    const missing = holds.filter((wanted) => !lines.includes(wanted));
    if (missing.length > 0) lacking.push(`${daemon} lacks ${missing.map((m) => `"${m}"`).join(', ')}`);
  }
  if (notAnswering.length > 0) {
    return {
      ok: false,
      seen: `${notAnswering.join(', ')} not answering vtysh yet${lacking.length ? `; ${lacking.join('; ')}` : ''}`,
    };
  }
  if (lacking.length > 0) {
    return {
      ok: false,
      seen: lacking.join('; '),
      repair: { cmd: FRR_LOAD_CONFIG, what: 'loading /etc/frr/frr.conf into the daemons' },
    };
  }
  return { ok: true, seen: `configuration loaded in ${daemons.map((d) => d.daemon).join(', ')}` };
}
