/**
 * Validation in two passes: the JSON Schema (shape, types, patterns) through ajv, then semantic checks
 * that need the whole topology (addresses, references between nodes, kind-specific keys). Both produce
 * TopologyIssues with document paths; `located` turns them into file:line:col.
 */
import { posix } from 'node:path';
import type { AnySchemaObject, ErrorObject } from 'ajv';
import { checkVerifySteps, parseVerifySteps, stepPath } from '../verify/steps.js';
import { shareIssues } from './share-lint.js';
import { COMMON_NODE_KEYS } from '../kinds/kind.js';
import { findKind, kindHas, kindNames } from '../kinds/registry.js';
import {
  cidrContains,
  cidrsOverlap,
  cidrSize,
  formatCidr,
  hasHostBits,
  ipToInt,
  parseCidr,
  type Cidr,
} from '../util/ipv4.js';
import { closest, didYouMean } from '../util/suggest.js';
import { clip } from '../util/text.js';
import type { TopologyIssue } from '../core/issue.js';
import { located, type LoadedTopology } from './load.js';
import { topologySchemaValidator } from './schema.js';
import type { OwnConfig, TopologyConfig } from '../core/topology.js';

/** Validates and returns the typed topology, or throws a located TopologyError. */
export function validateTopology(topology: LoadedTopology): TopologyConfig {
  const validate = topologySchemaValidator();
  if (!validate(topology.data)) {
    const error = located(topology, schemaIssues(validate.errors ?? []));
    if (error) throw error;
  }
  const config = topology.data as TopologyConfig;
  const error = located(topology, semanticIssues(config));
  if (error) throw error;
  return config;
}

function pathOf(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** ajv errors as issues with document paths, one per location. */
export function schemaIssues(errors: ErrorObject[]): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors.filter((candidate) => !explainedElsewhere(candidate, errors))) {
    const issue = schemaIssue(error);
    if (!issue) continue;
    const key = issue.path.join('.');
    // One issue per location: the first error there says enough, the rest repeat it.
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

/**
 * A oneOf reports one error per branch it tried ("must be integer", "must match pattern", "missing
 * sysctl", ...); those describe the branches, not the user's mistake, so the oneOf error speaks for
 * them. Branch errors sit at the oneOf's value but under another schema object. Conversely, when the
 * value has the wrong type for the schema that holds the oneOf, the type error says it all.
 */
function explainedElsewhere(error: ErrorObject, errors: ErrorObject[]): boolean {
  return errors.some((other) => {
    if (other === error || other.instancePath !== error.instancePath) return false;
    if (isAlternative(other) && !isAlternative(error)) return other.parentSchema !== error.parentSchema;
    if (isAlternative(error) && other.keyword === 'type') return other.parentSchema === error.parentSchema;
    return false;
  });
}

function isAlternative(error: ErrorObject): boolean {
  return error.keyword === 'oneOf' || error.keyword === 'anyOf';
}

function schemaIssue(error: ErrorObject): TopologyIssue | undefined {
  const path = pathOf(error.instancePath);
  const parentSchema = error.parentSchema as AnySchemaObject | undefined;
  const value: unknown = error.data;
  const shown = show(value);
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys((parentSchema?.properties as object | undefined) ?? {});
      return {
        path: [...path, key],
        atKey: true,
        message: `unknown key ${show(key)}`,
        fix: didYouMean(key, allowed),
      };
    }
    case 'required': {
      const key = (error.params as { missingProperty: string }).missingProperty;
      return { path, message: `missing required key "${key}"`, fix: `add \`${key}:\`` };
    }
    case 'propertyNames':
      return undefined; // reported through the nested error that names the property
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map(String);
      return { path, message: `${shown} is not allowed here`, fix: didYouMean(String(value), allowed) };
    }
    case 'type': {
      const types = typeNames((error.params as { type: string | string[] }).type);
      return { path, message: `expected ${types}, got ${describe(value)}`, fix: typeFix(types, value) };
    }
    case 'pattern': {
      const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
      const target = propertyName ?? value;
      const what = parentSchema?.description ?? `it must match ${String(error.schema)}`;
      return {
        path: propertyName ? [...path, propertyName] : path,
        atKey: propertyName !== undefined,
        message: `${propertyName ? 'name ' : ''}${show(String(target))} is not valid`,
        fix: what,
      };
    }
    case 'oneOf':
    case 'anyOf':
      return alternativeIssue(error, path, shown);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const { comparison, limit } = error.params as { comparison: string; limit: number };
      const min = parentSchema?.minimum as number | undefined;
      const max = parentSchema?.maximum as number | undefined;
      return {
        path,
        message: `${shown} is out of range (it must be ${comparison} ${limit})`,
        fix:
          min !== undefined && max !== undefined
            ? `use a value from ${min} to ${max}`
            : `use a value ${comparison} ${limit}`,
      };
    }
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
    case 'minLength':
    case 'maxLength': {
      const { limit } = error.params as { limit: number };
      const atLeast = error.keyword.startsWith('min');
      const [count, unit] = sizeOf(value);
      return {
        path,
        message: `has ${count} ${unit}; ${atLeast ? 'at least' : 'at most'} ${limit} ${atLeast ? 'needed' : 'allowed'}`,
        fix: parentSchema?.description ?? (atLeast ? `add at least ${limit}` : `keep at most ${limit}`),
      };
    }
    case 'uniqueItems': {
      const { i, j } = error.params as { i: number; j: number };
      const item = Array.isArray(value) ? show(value[i]) : 'an item';
      return { path, message: `lists ${item} twice (items ${j} and ${i})`, fix: 'list each value once' };
    }
    case 'dependencies': {
      const { property, missingProperty } = error.params as { property: string; missingProperty: string };
      return {
        path,
        message: `"${property}" needs "${missingProperty}" next to it`,
        fix: `add \`${missingProperty}:\` or remove \`${property}:\``,
      };
    }
    default:
      return {
        path,
        message: `${shown} ${error.message ?? 'is not valid'}`,
        fix: parentSchema?.description ?? 'see schema/topology.schema.json',
      };
  }
}

/** oneOf over `required` branches means "exactly one of these keys"; say so by name. */
function alternativeIssue(error: ErrorObject, path: (string | number)[], shown: string): TopologyIssue {
  const parentSchema = error.parentSchema as AnySchemaObject | undefined;
  const branches = (error.schema as AnySchemaObject[] | undefined) ?? [];
  const keys = branches.map((branch) => (branch.required as string[] | undefined)?.[0]);
  if (keys.length > 0 && keys.every((key): key is string => key !== undefined)) {
    const passing = (error.params as { passingSchemas?: number[] | null }).passingSchemas ?? [];
    const list = keys.join(', ');
    return passing.length > 1
      ? {
          path,
          message: `has ${passing.map((index) => `"${keys[index]}"`).join(' and ')}; only one may be given`,
          fix: `keep exactly one of: ${list}`,
        }
      : { path, message: `has none of: ${list}`, fix: `add exactly one of: ${list}` };
  }
  return {
    path,
    message: `${shown} is not valid here`,
    fix: parentSchema?.description ?? `expected ${branches.map(describeSchema).join(' or ')}`,
  };
}

function describeSchema(schema: AnySchemaObject): string {
  if (typeof schema.description === 'string') return schema.description;
  if (typeof schema.$ref === 'string') return `a ${schema.$ref.split('/').pop() ?? 'value'}`;
  if (typeof schema.type === 'string' || Array.isArray(schema.type)) return typeNames(schema.type);
  return 'another shape';
}

/**
 * A value for a message: JSON, so control characters (a terminal escape sequence in a YAML string)
 * print escaped, and cut short so a hostile 200 KB string does not become the message.
 */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return clip(text, 80);
}

function sizeOf(value: unknown): [number, string] {
  if (Array.isArray(value)) return [value.length, value.length === 1 ? 'item' : 'items'];
  if (typeof value === 'string') return [value.length, 'characters'];
  const count = typeof value === 'object' && value !== null ? Object.keys(value).length : 0;
  return [count, count === 1 ? 'entry' : 'entries'];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${show(value)}`;
}

/** ajv's ["string", "number", "boolean"] → "string, number or boolean". */
function typeNames(type: string | string[]): string {
  const names = Array.isArray(type) ? type : type.split(',');
  return names.length === 1
    ? String(names[0])
    : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function typeFix(types: string, value: unknown): string {
  if (types.includes('integer') && typeof value === 'string' && /^\d+$/.test(value))
    return `write ${value} without quotes`;
  if (types === 'object') return 'write a mapping (key: value lines, indented)';
  if (types === 'array') return 'write a list (lines starting with "- ")';
  return `use ${/^[aeiou]/.test(types) ? 'an' : 'a'} ${types}`;
}

/** Checks that need the whole topology; assumes the schema passed. */
export function semanticIssues(config: TopologyConfig): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const { networks, nodes } = config.topology;
  const subnets = new Map<string, Cidr>();

  for (const [name, network] of Object.entries(networks)) {
    const at = ['topology', 'networks', name];
    const subnet = parseCidr(network.subnet);
    subnets.set(name, subnet);
    if (hasHostBits(network.subnet)) {
      issues.push({
        path: [...at, 'subnet'],
        message: `subnet ${network.subnet} has host bits set`,
        fix: `write the network address, e.g. ${formatCidr(subnet)}`,
      });
    }
    if (subnet.prefixLength > 29) {
      issues.push({
        path: [...at, 'subnet'],
        message: `subnet ${network.subnet} is too small for a lab`,
        fix: 'use /29 or larger',
      });
    }
    if (network['ip-range'] && !cidrWithin(parseCidr(network['ip-range']), subnet)) {
      issues.push({
        path: [...at, 'ip-range'],
        message: `ip-range ${network['ip-range']} is not inside subnet ${network.subnet}`,
        fix: 'pick a range inside the subnet',
      });
    }
    if (network.gateway && !cidrContains(subnet, ipToInt(network.gateway))) {
      issues.push({
        path: [...at, 'gateway'],
        message: `gateway ${network.gateway} is not inside subnet ${network.subnet}`,
        fix: 'pick an address inside the subnet',
      });
    }
    for (const [otherName, other] of subnets) {
      if (otherName !== name && cidrsOverlap(other, subnet)) {
        issues.push({
          path: [...at, 'subnet'],
          message: `subnet ${network.subnet} overlaps network "${otherName}" (${networks[otherName]?.subnet})`,
          fix: 'give every network its own subnet',
        });
      }
    }
  }

  const addressOwners = new Map<string, string>();
  for (const [name, node] of Object.entries(nodes)) {
    const at = ['topology', 'nodes', name];
    const kind = findKind(node.kind);
    if (!kind) {
      issues.push({
        path: [...at, 'kind'],
        message: `kind ${show(node.kind)} is not supported`,
        fix: kindFix(node.kind),
      });
      continue;
    }
    const allowedKeys = new Set<string>([...COMMON_NODE_KEYS, ...kind.keys]);
    for (const key of Object.keys(node)) {
      if (!allowedKeys.has(key)) {
        issues.push({
          path: [...at, key],
          atKey: true,
          message: `key "${key}" does not apply to kind ${node.kind}`,
          fix: `remove it, or use a kind that has it (${kindsWithKey(key).join(', ') || 'none'})`,
        });
      }
    }
    for (const [networkName, ip] of Object.entries(node.networks)) {
      const where = [...at, 'networks', networkName];
      const network = Object.hasOwn(networks, networkName) ? networks[networkName] : undefined;
      const subnet = subnets.get(networkName);
      if (!network || !subnet) {
        issues.push({
          path: where,
          atKey: true,
          message: `network "${networkName}" is not declared under topology.networks`,
          fix: didYouMean(networkName, Object.keys(networks)),
        });
        continue;
      }
      issues.push(
        ...addressIssues(where, ip, networkName, network.subnet, subnet, gatewayOf(network.gateway, subnet)),
      );
      const owner = addressOwners.get(ip);
      if (owner) {
        issues.push({
          path: where,
          message: `address ${ip} is already used by node "${owner}"`,
          fix: 'give each node its own address',
        });
      } else {
        addressOwners.set(ip, name);
      }
    }
    issues.push(...bindIssues(at, node.binds ?? []));
    for (const [which, path] of Object.entries(node.config ?? {})) {
      const where = [...at, 'config', which];
      if (!(kind.ownConfigs ?? []).includes(which as OwnConfig)) {
        const kinds = kindNames().filter((k) => findKind(k)?.ownConfigs?.includes(which as OwnConfig));
        issues.push({
          path: where,
          atKey: true,
          message: `a ${node.kind} runs no ${which}, so it cannot take a ${which} config`,
          fix: `remove it, or bring it to a node of kind ${kinds.join(' or ')}`,
        });
      } else if (escapesLabDir(path)) {
        issues.push({
          path: where,
          message: `config file "${path}" is outside the lab's directory`,
          fix: 'use a path relative to the topology file, inside its directory',
        });
      }
    }
    (node.ready ?? []).forEach((condition, index) => {
      if (condition.node !== undefined && condition.node !== name) {
        issues.push({
          path: [...at, 'ready', index, 'node'],
          message: `a ready condition of node "${name}" names node "${condition.node}"`,
          fix: `remove \`node:\` (ready conditions run on ${name}), or move it to ${condition.node}'s ready list`,
        });
      }
    });
    issues.push(...kind.check({ name, node, topology: config, kindHas }));
  }

  for (const [name, node] of Object.entries(nodes)) {
    if (!node.vip) continue;
    const where = ['topology', 'nodes', name, 'vip'];
    const owner = addressOwners.get(node.vip);
    if (owner) {
      issues.push({
        path: where,
        message: `VIP ${node.vip} is node "${owner}"'s interface address`,
        fix: 'the VIP must be an address of its own',
      });
    }
    for (const [networkName, network] of Object.entries(networks)) {
      const subnet = subnets.get(networkName) as Cidr;
      const pool = network['ip-range'] ? parseCidr(network['ip-range']) : subnet;
      if (cidrContains(pool, ipToInt(node.vip))) {
        issues.push({
          path: where,
          message: `VIP ${node.vip} is inside Docker's address pool for network "${networkName}" (${network['ip-range'] ?? network.subnet})`,
          fix: `set topology.networks.${networkName}.ip-range to a range that leaves the VIP out`,
        });
      }
    }
  }

  if (config.verify) {
    const kinds = new Map(Object.entries(nodes).map(([name, node]) => [name, node.kind]));
    const steps = parseVerifySteps(config.verify);
    issues.push(
      ...checkVerifySteps(steps, new Set(Object.keys(nodes)), kinds, new Map(Object.entries(nodes))),
    );
    issues.push(...shareIssues(config, steps));
    for (const step of steps.filter((s) => s.points !== undefined || s.hint !== undefined)) {
      issues.push({
        path: [...stepPath(step), step.points !== undefined ? 'points' : 'hint'],
        atKey: true,
        message: "points and hint grade an exercise's checks; a topology's verify steps have neither",
        fix: 'remove them here, or move the step into the checks: of an exercises/<name>/exercise.yml',
      });
    }
  }
  return issues;
}

function addressIssues(
  where: (string | number)[],
  ip: string,
  networkName: string,
  subnetText: string,
  subnet: Cidr,
  gateway: number,
): TopologyIssue[] {
  const value = ipToInt(ip);
  if (!cidrContains(subnet, value)) {
    return [
      {
        path: where,
        message: `address ${ip} is outside network "${networkName}" (${subnetText})`,
        fix: `use an address in ${subnetText}`,
      },
    ];
  }
  if (value === subnet.network || value === subnet.network + cidrSize(subnet) - 1) {
    return [
      {
        path: where,
        message: `address ${ip} is the network or broadcast address of ${subnetText}`,
        fix: 'use a host address',
      },
    ];
  }
  if (value === gateway) {
    return [
      {
        path: where,
        message: `address ${ip} is the gateway of network "${networkName}" (the Docker host's side)`,
        fix: 'use another host address',
      },
    ];
  }
  return [];
}

/** Absolute, or climbing out of the topology file's directory. */
function escapesLabDir(path: string): boolean {
  const normalised = posix.normalize(path);
  return path.startsWith('/') || normalised === '..' || normalised.startsWith('../');
}

function bindIssues(at: (string | number)[], binds: string[]): TopologyIssue[] {
  return binds.flatMap((bind, index) => {
    const source = bind.split(':')[0] ?? '';
    if (escapesLabDir(source)) {
      return [
        {
          path: [...at, 'binds', index],
          message: `bind source "${source}" is outside the lab's directory`,
          fix: 'use a path relative to the topology file, inside its directory',
        },
      ];
    }
    return [];
  });
}

function kindsWithKey(key: string): string[] {
  return kindNames().filter((name) => findKind(name)?.keys.includes(key));
}

function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.network >= outer.network && inner.network + cidrSize(inner) <= outer.network + cidrSize(outer);
}

function gatewayOf(gateway: string | undefined, subnet: Cidr): number {
  return gateway ? ipToInt(gateway) : subnet.network + 1;
}

/** "did you mean" for a misspelt kind, and always the list (the kinds are few). */
function kindFix(kind: string): string {
  const match = closest(kind, kindNames());
  const list = `supported kinds are: ${kindNames().join(', ')}`;
  return match ? `did you mean "${match}"? ${list}` : list;
}
