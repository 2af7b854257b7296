/**
 * The sandbox guest's kernel facts, remembered in the state dir for the guest that is running: the
 * guest's kernel is fixed for its lifetime, so one probe serves every lab until the guest restarts.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { KernelFacts, KernelFactsMemo } from '../runtime/engine.js';
import type { SandboxEndpoint } from './sandbox-engine.js';

interface Remembered {
  /** The guest they were learned from: its UML pid and start time. */
  guest: string;
  image: string;
  facts: KernelFacts;
}

export function guestKernelFacts(
  endpoint: Pick<SandboxEndpoint, 'pid' | 'startedAt'>,
  file: string,
): KernelFactsMemo {
  const guest = `${endpoint.pid}@${endpoint.startedAt}`;
  return {
    async recall(image) {
      try {
        const remembered = JSON.parse(await readFile(file, 'utf8')) as Remembered;
        return remembered.guest === guest && remembered.image === image ? remembered.facts : undefined;
      } catch {
        return undefined;
      }
    },
    async remember(image, facts) {
      const record: Remembered = { guest, image, facts };
      // Written aside and renamed: a reader never sees half a file.
      const partial = `${file}.${process.pid}`;
      await writeFile(partial, `${JSON.stringify(record)}\n`);
      await rename(partial, file);
    },
  };
}
