/**
 * oclif.manifest.json: every command's id, flags, args and help text, so oclif can parse a command
 * line and print help by importing only the command that runs, not all of them (with every module
 * they import). The build writes it; bin/run.js rewrites it when the built commands are newer.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Plugin } from '@oclif/core/config';

export const MANIFEST_FILE = 'oclif.manifest.json';

/** Writes `root`/oclif.manifest.json for the package at `root` (atomically); returns its path. */
export async function writeManifest(root: string): Promise<string> {
  // The engine flag's default comes from LBLAB_ENGINE; the manifest records the documented one.
  const engine = process.env.LBLAB_ENGINE;
  delete process.env.LBLAB_ENGINE;
  let plugin: Plugin;
  try {
    plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true });
    await plugin.load();
  } finally {
    if (engine !== undefined) process.env.LBLAB_ENGINE = engine;
  }
  const commands = Object.values(plugin.manifest.commands);
  const elsewhere = commands.filter((command) => command.relativePath?.[0] !== 'dist');
  if (commands.length === 0 || elsewhere.length > 0) {
    throw new Error(
      `refusing to write a manifest of ${commands.length} command(s), ${elsewhere.length} not under dist/`,
    );
  }
  const file = join(root, MANIFEST_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(plugin.manifest, null, 2)}\n`);
  renameSync(temporary, file);
  return file;
}
