/**
 * Lab links: taps the guest gets at boot beside its own link (vec1..vecN), left unaddressed on the
 * host. A sandbox lab network takes a free one: its host tap becomes a port of the lab's host bridge,
 * and the guest's half of the network is a macvlan on the vecN at the other end (split-runtime.ts).
 * A link is free when its tap has no bridge; removing the lab's host network frees it.
 */
import { execa } from 'execa';
import { readlink } from 'node:fs/promises';
import type { LabLinks } from '../runtime/split-runtime.js';
import type { SandboxPaths } from './sandbox-paths.js';
import { withSandboxLock } from './state-lock.js';
import { deleteTap, tapExists } from './tap-device.js';

/** Lab networks the sandbox can carry at once (one link each). */
export const LAB_LINK_COUNT = 8;

export interface LabLink {
  hostTap: string;
  guestInterface: string;
}

/** The links of the sandbox whose own tap is `tap` (e.g. lblab-sandbox1..8, guest vec1..8). */
export function labLinksOf(tap: string): LabLink[] {
  return Array.from({ length: LAB_LINK_COUNT }, (_, index) => ({
    hostTap: `${tap.slice(0, 13)}${index + 1}`,
    guestInterface: `vec${index + 1}`,
  }));
}

export async function createLabLinkTaps(links: LabLink[]): Promise<void> {
  for (const { hostTap } of links) {
    await deleteTap(hostTap);
    await execa('ip', ['tuntap', 'add', 'dev', hostTap, 'mode', 'tap']);
    await execa('ip', ['link', 'set', 'dev', hostTap, 'up']);
  }
}

export async function deleteLabLinkTaps(links: LabLink[]): Promise<void> {
  for (const { hostTap } of links) if (await tapExists(hostTap)) await deleteTap(hostTap);
}

async function bridgeOf(hostTap: string): Promise<string | undefined> {
  try {
    return (await readlink(`/sys/class/net/${hostTap}/master`)).split('/').pop();
  } catch {
    return undefined;
  }
}

/** Lab links for a running sandbox; claims are made under the sandbox's lock, so two `up`s never share one. */
export function sandboxLabLinks(paths: SandboxPaths, links: LabLink[]): LabLinks {
  return {
    attach: (bridge) =>
      withSandboxLock(paths, async () => {
        for (const link of links) {
          if ((await bridgeOf(link.hostTap)) !== undefined) continue;
          await execa('ip', ['link', 'set', 'dev', link.hostTap, 'master', bridge]);
          return link.guestInterface;
        }
        throw new Error(
          `all ${links.length} lab links of the sandbox are in use (one per lab network): ` +
            '`lblab status` lists the labs; take one down first',
        );
      }),
  };
}
