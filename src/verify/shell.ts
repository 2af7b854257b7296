/**
 * The one way a value enters a shell script lblab renders: single-quoted, with each `'` closed,
 * escaped and reopened (`'\''`). Inside single quotes POSIX sh interprets nothing, so the quoted
 * value is one word whatever it contains.
 */
export function shellQuote(value: string): string {
  // A NUL cannot be carried by an argv or a script; refuse it rather than truncate silently.
  if (value.includes('\0')) throw new Error('shellQuote: value contains a NUL byte');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
