/**
 * The command line of the UML kernel (`linux.uml`): its memory, the hostfs root, the Docker disk,
 * the tap-backed network device and where its console goes.
 */

export const UML_UMID = 'lblab';

export interface UmlCommandLineOptions {
  /** e.g. "1536M"; the guest's RAM, allocated lazily by the host. */
  memory: string;
  rootDir: string;
  initPath: string;
  diskImage: string;
  tap: string;
  /** Taps for the lab links, attached as vec1, vec2, ... (see lab-links.ts). */
  labTaps?: readonly string[];
  /** UML's runtime directory (mconsole socket, pid file); kept in the state dir rather than ~/.uml. */
  umlDir: string;
}

/** Characters UML's option parser splits on (`,` in ubd/vec options) or that cannot reach it intact. */
const UNSAFE_IN_UML_OPTION = /[\s,=:]/;

export function umlKernelArgs(options: UmlCommandLineOptions): string[] {
  for (const [what, value] of [
    ['root directory', options.rootDir],
    ['disk image', options.diskImage],
    ['UML directory', options.umlDir],
    ['tap device', options.tap],
    ...(options.labTaps ?? []).map((tap) => ['lab link tap', tap] as const),
  ]) {
    if (UNSAFE_IN_UML_OPTION.test(value)) {
      throw new Error(`the sandbox ${what} "${value}" must not contain spaces, ",", "=" or ":"`);
    }
  }
  return [
    `mem=${options.memory}`,
    'root=/dev/root',
    'rootfstype=hostfs',
    `rootflags=${options.rootDir}`,
    'rw',
    `init=${options.initPath}`,
    `ubd0=${options.diskImage}`,
    // gro=1 is not an optimisation: without it bulk transfers to the guest (docker load) stall.
    `vec0:transport=tap,ifname=${options.tap},gro=1`,
    ...(options.labTaps ?? []).map((tap, index) => `vec${index + 1}:transport=tap,ifname=${tap},gro=1`),
    // The first console writes to the process's stdout (the console log); nothing reads from it.
    'con=null',
    'con0=null,fd:1',
    'ssl=null',
    `uml_dir=${options.umlDir}`,
    `umid=${UML_UMID}`,
  ];
}
