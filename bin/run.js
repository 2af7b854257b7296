#!/usr/bin/env node
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// '@oclif/core/execute', not '@oclif/core': the package's index loads every part of oclif up front.
import { execute } from '@oclif/core/execute';

const root = new URL('../', import.meta.url);

/**
 * oclif.manifest.json (written by `npm run build`) lets oclif import only the command that runs. It
 * must describe the built commands: same version, same command files, written after all of them. A
 * plain `tsc` leaves it behind, so it is checked here (a few stat calls) and rewritten when stale.
 */
function manifestIsCurrent() {
  try {
    const manifestUrl = new URL('oclif.manifest.json', root);
    const manifest = JSON.parse(readFileSync(manifestUrl, 'utf8'));
    const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
    if (manifest.version !== version) return false;
    const writtenAt = statSync(manifestUrl).mtimeMs;
    const listed = new Set(Object.values(manifest.commands).map((command) => command.relativePath.join('/')));
    const commandsDir = new URL('dist/commands/', root);
    const files = readdirSync(commandsDir, { recursive: true }).filter((file) => file.endsWith('.js'));
    return (
      files.length === listed.size &&
      files.every(
        (file) =>
          listed.has(`dist/commands/${file}`) && statSync(new URL(file, commandsDir)).mtimeMs <= writtenAt,
      )
    );
  } catch {
    return false;
  }
}

if (!manifestIsCurrent()) {
  try {
    const { writeManifest } = await import('../dist/cli/manifest.js');
    await writeManifest(fileURLToPath(root));
  } catch {
    // Not built, or not writable: without a manifest oclif finds the commands itself, only slower.
    try {
      rmSync(new URL('oclif.manifest.json', root), { force: true });
    } catch {
      // A read-only install: its manifest came with its dist/ and is current.
    }
  }
}

// What '@oclif/core' would have checked on load.
try {
  process.cwd();
} catch (error) {
  if (error.code === 'ENOENT') process.stderr.write('WARNING: current directory does not exist\n');
}

await execute({ dir: import.meta.url });
