import { readFileSync } from 'node:fs';

/** lblab's own version, stamped on every Docker object it creates. */
export const LBLAB_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
