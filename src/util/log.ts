/** Debug logs by area: DEBUG=lblab* (or --verbose) shows every Docker call and exec with its duration. */
import createDebug from 'debug';

export const log = createDebug('lblab');
export const logDocker = createDebug('lblab:docker');
export const logExec = createDebug('lblab:exec');

export function enableVerbose(): void {
  createDebug.enable(['lblab*', process.env.DEBUG].filter(Boolean).join(','));
}

/** Whether lblab's debug lines are on (--verbose or DEBUG=lblab*): they go to stderr as they happen. */
export function verboseEnabled(): boolean {
  return logDocker.enabled || logExec.enabled || log.enabled;
}
