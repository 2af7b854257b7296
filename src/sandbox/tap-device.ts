/** The host end of the sandbox link: a persistent tap device the UML vector driver attaches to. */
import { execa } from 'execa';
import type { LinkAddresses } from './link-address.js';

export const DEFAULT_TAP = 'lblab-sandbox';
/** IFNAMSIZ less the terminating NUL. */
const MAX_INTERFACE_NAME = 15;

export function validateTapName(tap: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(tap) || tap.length > MAX_INTERFACE_NAME) {
    throw new Error(
      `"${tap}" is not a usable interface name (letters, digits, "_.-", at most ${MAX_INTERFACE_NAME})`,
    );
  }
}

export async function tapExists(tap: string): Promise<boolean> {
  const result = await execa('ip', ['link', 'show', 'dev', tap], { reject: false });
  return result.exitCode === 0;
}

export async function createTap(tap: string, link: LinkAddresses): Promise<void> {
  await execa('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  try {
    await execa('ip', ['addr', 'add', `${link.hostAddress}/${link.prefixLength}`, 'dev', tap]);
    await execa('ip', ['link', 'set', 'dev', tap, 'up']);
  } catch (error) {
    await deleteTap(tap);
    throw error;
  }
}

/** A missing device is not an error. */
export async function deleteTap(tap: string): Promise<void> {
  if (await tapExists(tap)) await execa('ip', ['link', 'delete', 'dev', tap]);
}
