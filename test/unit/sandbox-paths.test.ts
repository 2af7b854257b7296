import { describe, expect, it } from 'vitest';
import { GUEST_INIT_PATH, sandboxPaths, sandboxStateDir } from '../../src/sandbox/sandbox-paths.js';

describe('sandbox state paths', () => {
  it('live under $LBLAB_STATE_DIR/sandbox, /var/lib/lblab by default', () => {
    expect(sandboxStateDir({})).toBe('/var/lib/lblab/sandbox');
    expect(sandboxStateDir({ LBLAB_STATE_DIR: '/srv/lblab' })).toBe('/srv/lblab/sandbox');
  });

  it('keep every file of one sandbox in its one directory', () => {
    const paths = sandboxPaths('/srv/lblab/sandbox');
    const { stateDir, ...files } = paths;
    expect(stateDir).toBe('/srv/lblab/sandbox');
    for (const file of Object.values(files)) expect(file.startsWith('/srv/lblab/sandbox/')).toBe(true);
    expect(new Set(Object.values(files)).size).toBe(Object.values(files).length);
    expect(paths.initScript).toBe(`/srv/lblab/sandbox/root${GUEST_INIT_PATH}`);
  });
});
