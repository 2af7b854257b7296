/**
 * The topology's JSON Schema (schema/topology.schema.json, which refers to verify.schema.json) as an
 * ajv validate function.
 *
 * Compiling the schema takes ajv about 0.2 s, most of what `lblab validate` costs. So the build also
 * writes the compiled validator out as code (ajv's standalone code generator) next to this module,
 * stamped with a fingerprint of the schema files, ajv's version and the options. That code is used
 * whenever its fingerprint matches the schema files found at run time; otherwise (tests running from
 * src/, a schema edited since the build) ajv compiles the schema here, as it always did. Either way the
 * errors are ajv's, with the same options, so messages do not depend on which path ran.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AnySchemaObject, ValidateFunction } from 'ajv';

const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));
/** Read in this order: the verify schema is added first, for the topology schema's $refs to it. */
const SCHEMA_FILES = ['verify.schema.json', 'topology.schema.json'] as const;
/** Where the build puts the generated validator: beside this module (so in dist/, never in src/). */
export const PRECOMPILED_VALIDATOR = fileURLToPath(
  new URL('./topology-schema.validator.cjs', import.meta.url),
);
const AJV_OPTIONS = { allErrors: true, verbose: true, strict: false } as const;

// ajv is CommonJS; loading it through require keeps it off the start-up path and validation sync.
const require = createRequire(import.meta.url);

let validator: ValidateFunction | undefined;

/** The validator for a topology document (the data, after YAML); built or loaded on first use. */
export function topologySchemaValidator(): ValidateFunction {
  if (!validator) {
    const texts = readSchemaTexts();
    validator = loadPrecompiled(fingerprint(texts)) ?? compile(texts).validate;
  }
  return validator;
}

/** Build time: writes the standalone validator for the current schema files; returns its path. */
export function writePrecompiledValidator(): string {
  const texts = readSchemaTexts();
  const { ajv, validate } = compile(texts, true);
  const standaloneCode = (require('ajv/dist/standalone') as typeof import('ajv/dist/standalone/index.js'))
    .default;
  const code = `${standaloneCode(ajv, validate)}\nmodule.exports.fingerprint = ${JSON.stringify(fingerprint(texts))};\n`;
  const temporary = `${PRECOMPILED_VALIDATOR}.${process.pid}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, PRECOMPILED_VALIDATOR);
  return PRECOMPILED_VALIDATOR;
}

/**
 * What a lab name may be: the schema's `identifier` (a file's `name:`), which `up --name` must obey
 * too, since the name prefixes Docker object names.
 */
export function labNamePattern(): RegExp {
  const schema = JSON.parse(readFileSync(`${SCHEMA_DIR}topology.schema.json`, 'utf8')) as {
    definitions: { identifier: { pattern: string } };
  };
  return new RegExp(schema.definitions.identifier.pattern);
}

function readSchemaTexts(): string[] {
  return SCHEMA_FILES.map((name) => readFileSync(`${SCHEMA_DIR}${name}`, 'utf8'));
}

function compile(
  texts: string[],
  keepSource = false,
): { ajv: import('ajv').Ajv; validate: ValidateFunction } {
  const { Ajv } = require('ajv') as typeof import('ajv');
  const ajv = new Ajv({ ...AJV_OPTIONS, ...(keepSource ? { code: { source: true } } : {}) });
  const [verifySchema, topologySchema] = texts.map((text) => JSON.parse(text) as AnySchemaObject);
  ajv.addSchema(verifySchema as AnySchemaObject);
  return { ajv, validate: ajv.compile(topologySchema as AnySchemaObject) };
}

/** What the generated code depends on: the schema texts, ajv's version (its runtime helpers), the options. */
function fingerprint(texts: string[]): string {
  const { version } = require('ajv/package.json') as { version: string };
  const hash = createHash('sha256').update(`ajv ${version} ${JSON.stringify(AJV_OPTIONS)}\n`);
  for (const text of texts) hash.update(`${text.length}\n${text}`);
  return hash.digest('hex');
}

function loadPrecompiled(expected: string): ValidateFunction | undefined {
  try {
    const loaded = require(PRECOMPILED_VALIDATOR) as ValidateFunction & { fingerprint?: string };
    return loaded.fingerprint === expected ? loaded : undefined;
  } catch {
    return undefined; // not built (running from src/) or unreadable: compile instead
  }
}

/**
 * A validator for another of lblab's files (an exercise, a pool), compiled by ajv on first use with
 * the topology's options; `files` in schema/, the document's own schema last (the others for $refs).
 */
export function lazySchemaValidator(...files: string[]): () => ValidateFunction {
  let compiled: ValidateFunction | undefined;
  return () => {
    if (!compiled) {
      const { Ajv } = require('ajv') as typeof import('ajv');
      const ajv = new Ajv(AJV_OPTIONS);
      for (const name of files) {
        ajv.addSchema(JSON.parse(readFileSync(`${SCHEMA_DIR}${name}`, 'utf8')) as AnySchemaObject);
      }
      compiled = ajv.getSchema(files.at(-1)!)!;
    }
    return compiled;
  };
}
