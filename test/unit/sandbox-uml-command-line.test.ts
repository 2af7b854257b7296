import { describe, expect, it } from 'vitest';
import { umlKernelArgs, type UmlCommandLineOptions } from '../../src/sandbox/uml-command-line.js';

const options: UmlCommandLineOptions = {
  memory: '1536M',
  rootDir: '/var/lib/lblab/sandbox/root',
  initPath: '/usr/local/sbin/lblab-sandbox-init',
  diskImage: '/var/lib/lblab/sandbox/docker.ext4',
  tap: 'lblab-sandbox',
  umlDir: '/var/lib/lblab/sandbox/uml',
};

describe('umlKernelArgs', () => {
  it('boots the hostfs root with the lblab init, read-write', () => {
    const args = umlKernelArgs(options);
    expect(args).toEqual(
      expect.arrayContaining([
        'root=/dev/root',
        'rootfstype=hostfs',
        'rootflags=/var/lib/lblab/sandbox/root',
        'rw',
        'init=/usr/local/sbin/lblab-sandbox-init',
      ]),
    );
  });

  it('attaches the tap with gro=1, without which bulk transfers stall', () => {
    const vector = umlKernelArgs(options).filter((arg) => arg.startsWith('vec0:'));
    expect(vector).toEqual(['vec0:transport=tap,ifname=lblab-sandbox,gro=1']);
  });

  it('gives the guest its memory, the Docker disk and a console on stdout', () => {
    const args = umlKernelArgs({ ...options, memory: '2G' });
    expect(args).toContain('mem=2G');
    expect(args).toContain('ubd0=/var/lib/lblab/sandbox/docker.ext4');
    expect(args).toContain('con0=null,fd:1');
    expect(args).toContain('uml_dir=/var/lib/lblab/sandbox/uml');
  });

  it('refuses paths that UML would split', () => {
    expect(() => umlKernelArgs({ ...options, diskImage: '/tmp/a,b.ext4' })).toThrow(
      /disk image.*must not contain/,
    );
    expect(() => umlKernelArgs({ ...options, rootDir: '/tmp/my root' })).toThrow(/root directory/);
  });
});
