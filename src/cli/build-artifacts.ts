/**
 * Run after tsc by `npm run build`: writes what makes the CLI start fast, oclif.manifest.json and
 * the precompiled topology schema validator (see src/topology/schema.ts).
 */
import { fileURLToPath } from 'node:url';
import { writePrecompiledValidator } from '../topology/schema.js';
import { writeManifest } from './manifest.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
console.log(`wrote ${writePrecompiledValidator()}`);
console.log(`wrote ${await writeManifest(root)}`);
