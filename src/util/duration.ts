/** `500ms`, `2s`, `1m` -> milliseconds; a number is already milliseconds (a default). */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text;
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (expected e.g. 500ms, 2s, 1m)`);
  const unit = { ms: 1, s: 1_000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
  return Number(match[1]) * unit;
}
