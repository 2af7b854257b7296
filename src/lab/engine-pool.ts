/**
 * A pool of engines (schema/pool.schema.json): the Docker engines a class is spread over, each named,
 * with how many labs it may hold. Loading checks the file like a topology (file:line:col and a fix);
 * connecting never starts anything unless asked (`class up` may start the sandbox guest).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LabError } from '../core/errors.js';
import type { TopologyIssue } from '../core/issue.js';
import { LABEL } from '../core/labels.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import {
  connectHostDocker,
  dockerClientFor,
  ENGINE_SCOPE,
  type Engine,
  type EngineTls,
} from '../runtime/engine.js';
import { loadTopologyFile, located } from '../topology/load.js';
import { lazySchemaValidator } from '../topology/schema.js';
import { schemaIssues } from '../topology/validate.js';
import { errorMessage } from '../util/text.js';
import { enginesInUse, hostEngine, startedSandbox } from './select-engine.js';

export interface PoolMember {
  name: string;
  /** `local`, `sandbox`, or a Docker endpoint (unix://, tcp://, ssh://). */
  endpoint: string;
  capacity: number;
  /** Absolute paths of the TLS files (tcp:// only). */
  tls?: { ca: string; cert: string; key: string };
}

export interface Pool {
  /** The pool file, absolute. */
  file: string;
  members: PoolMember[];
}

const poolValidator = lazySchemaValidator('pool.schema.json');

/** The pool file, checked: the schema, then what a schema cannot say (names and engines once each). */
export async function loadPool(file: string): Promise<Pool> {
  const loaded = await loadTopologyFile(resolve(file));
  const validate = poolValidator();
  if (!validate(loaded.data)) {
    throw located(loaded, schemaIssues(validate.errors ?? []))!;
  }
  const members = (loaded.data as { engines: PoolMember[] }).engines;
  const issues = poolIssues(members);
  if (issues.length > 0) throw located(loaded, issues)!;
  const base = dirname(loaded.file);
  return {
    file: loaded.file,
    members: members.map((member) => ({
      ...member,
      ...(member.tls && {
        tls: {
          ca: resolve(base, member.tls.ca),
          cert: resolve(base, member.tls.cert),
          key: resolve(base, member.tls.key),
        },
      }),
    })),
  };
}

/** Pure: names once, each engine once (two names for one engine would count its labs twice). */
export function poolIssues(members: PoolMember[]): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const names = new Map<string, number>();
  const endpoints = new Map<string, number>();
  members.forEach((member, i) => {
    const sameName = names.get(member.name);
    if (sameName !== undefined) {
      issues.push({
        path: ['engines', i, 'name'],
        message: `engine name "${member.name}" is used twice (first by engine ${sameName + 1})`,
        fix: 'give every engine its own name',
      });
    } else names.set(member.name, i);
    const endpoint = sameEngineKey(member.endpoint);
    const sameEndpoint = endpoints.get(endpoint);
    if (sameEndpoint !== undefined) {
      issues.push({
        path: ['engines', i, 'endpoint'],
        message: `engine ${member.name} is the same engine as ${members[sameEndpoint]!.name} (${member.endpoint})`,
        fix: 'list each engine once and give it the capacity of both',
      });
    } else endpoints.set(endpoint, i);
    if (member.tls && !member.endpoint.startsWith('tcp://')) {
      issues.push({
        path: ['engines', i, 'tls'],
        atKey: true,
        message: `tls: is for tcp:// engines; ${member.name} is ${member.endpoint}`,
        fix: 'remove tls:, or use a tcp://host:2376 endpoint',
      });
    }
  });
  return issues;
}

/** `local` is the host engine's socket unless DOCKER_HOST says otherwise. */
function sameEngineKey(endpoint: string): string {
  if (endpoint === 'local') return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  return endpoint;
}

async function readTls(member: PoolMember): Promise<EngineTls | undefined> {
  if (!member.tls) return undefined;
  const read = (path: string) =>
    readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new LabError(
        'engine',
        `engine ${member.name}: cannot read ${path} (${error.code ?? error.message})`,
        {
          hint: 'tls: paths are relative to the pool file',
        },
      );
    });
  return {
    ca: await read(member.tls.ca),
    cert: await read(member.tls.cert),
    key: await read(member.tls.key),
  };
}

export interface ConnectOptions {
  /** Start the sandbox guest when a member is `sandbox` and it is not running (class up). */
  start?: boolean;
  onProgress?: (line: string) => void;
}

/** One member's engine; an error names the member and what to do. */
export async function connectMember(member: PoolMember, options: ConnectOptions = {}): Promise<Engine> {
  const reason = `engine ${member.name} of the pool`;
  try {
    if (member.endpoint === 'local') return hostEngine(await connectHostDocker(), reason, member.name);
    if (member.endpoint === 'sandbox') {
      if (options.start) return await startedSandbox(reason, options.onProgress ?? (() => {}), member.name);
      const found = (await enginesInUse('sandbox'))[0]!;
      return { ...found, name: member.name };
    }
    const runtime = new DockerRuntime(
      dockerClientFor(member.endpoint, undefined, await readTls(member)),
      member.endpoint,
      { scope: ENGINE_SCOPE.docker },
    );
    await runtime.ping();
    // Bind mounts name paths on this machine, which a remote engine's host does not have.
    return {
      ...hostEngine(runtime, reason, member.name),
      capabilities: { binds: member.endpoint.startsWith('unix://') },
    };
  } catch (error) {
    if (error instanceof LabError) throw error;
    throw new LabError(
      'engine',
      `${member.name} (${member.endpoint}) cannot be reached: ${errorMessage(error)}`,
      {
        hint:
          member.endpoint === 'sandbox'
            ? 'start it with `lblab engine start`'
            : 'check that its Docker engine runs and answers there (docker -H ENDPOINT info)',
      },
    );
  }
}

/** Every member's engine, in pool order. */
export async function connectPool(pool: Pool, options: ConnectOptions = {}): Promise<Engine[]> {
  const engines: Engine[] = [];
  for (const member of pool.members) engines.push(await connectMember(member, options));
  return engines;
}

/** The labs on an engine now (any lblab lab, not only a class's): what its capacity is spent on. */
export async function labsOn(engine: Engine): Promise<string[]> {
  const containers = await engine.runtime.listContainers({ [LABEL.lab]: true });
  return [
    ...new Set(containers.map((c) => c.labels[LABEL.lab]).filter((lab): lab is string => !!lab)),
  ].sort();
}
