/** Debug logs by area: DEBUG=lblab* (or --verbose) shows every Docker call and exec with its duration. */
import createDebug from 'debug';

export const log = createDebug('lblab');
export const logDocker = createDebug('lblab:docker');
export const logExec = createDebug('lblab:exec');

export function enableVerbose(): void {
  createDebug.enable(['lblab*', process.env.DEBUG].filter(Boolean).join(','));
}
