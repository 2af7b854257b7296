/**
 * The `verify:` list of a topology file: the experiment as declared. Step types by name (one module
 * each under step-types/); `parseVerifySteps` turns the schema-valid YAML value
 * (schema/verify.schema.json) into typed steps with defaults applied and durations in milliseconds;
 * `checkVerifySteps` finds what the schema cannot: unknown nodes, contradictory expectations, steps
 * that cannot work on a node's kind.
 */
import type { TopologyIssue } from '../core/issue.js';
import type { KindTrait } from '../core/kind-traits.js';
import { kindsWith, nodeHas } from '../kinds/registry.js';
import type { NodeConfig } from '../core/topology.js';
import { parseDuration } from '../util/duration.js';
import type { AnyStepType, VerifyStep } from './step-type.js';
import { addressesStep } from './step-types/addresses.js';
import { directorStatsStep } from './step-types/director-stats.js';
import { neighborStep } from './step-types/neighbor.js';
import { execStep } from './step-types/exec.js';
import { holdConnectionsStep } from './step-types/hold-connections.js';
import { httpTallyStep } from './step-types/http-tally.js';
import { showStep } from './step-types/show.js';
import { sysctlStep } from './step-types/sysctl.js';
import { udpTallyStep } from './step-types/udp-tally.js';
import { weightStep } from './step-types/weight.js';
import { linkStep } from './step-types/link.js';
import { waitStep } from './step-types/wait.js';
import { httpLoadStep } from './step-types/http-load.js';
import { restartStep, startStep, stopStep } from './step-types/node-lifecycle.js';
import { daemonStep } from './step-types/daemon.js';
import { impairStep } from './step-types/impair.js';

// In the order help and messages list them.
const STEP_TYPES = new Map<string, AnyStepType>(
  [
    sysctlStep,
    addressesStep,
    httpTallyStep,
    udpTallyStep,
    holdConnectionsStep,
    httpLoadStep,
    stopStep,
    startStep,
    restartStep,
    daemonStep,
    linkStep,
    impairStep,
    weightStep,
    waitStep,
    execStep,
    showStep,
    directorStatsStep,
    neighborStep,
  ].map((type) => [type.type, type]),
);

/** Adds a step type (a plugin, a test); returns how to remove it again. */
export function registerStepType(type: AnyStepType): () => void {
  if (STEP_TYPES.has(type.type)) throw new Error(`step type "${type.type}" is already registered`);
  STEP_TYPES.set(type.type, type);
  return () => STEP_TYPES.delete(type.type);
}

export function stepTypeNames(): string[] {
  return [...STEP_TYPES.keys()];
}

export function findStepType(type: string): AnyStepType | undefined {
  return STEP_TYPES.get(type);
}

export function stepTypeOf(step: Pick<VerifyStep, 'type'>): AnyStepType {
  const type = STEP_TYPES.get(step.type);
  if (!type) throw new Error(`step type "${step.type}" is not known (known: ${stepTypeNames().join(', ')})`);
  return type;
}

/**
 * Typed steps from the `verify:` value. Assumes the value passed schema/verify.schema.json;
 * throws on a shape the schema would have rejected.
 */
export function parseVerifySteps(raw: unknown, root: string = 'verify'): VerifyStep[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new TypeError('verify: expected a list of steps');
  // One flat list in run order: a step's `during:` steps follow it, pointing back with `parent`.
  const steps: VerifyStep[] = [];
  const visit = (items: Record<string, unknown>[], path: (string | number)[], parent?: VerifyStep) => {
    items.forEach((item, position) => {
      const type = [...STEP_TYPES.values()].find((candidate) => item[candidate.type] !== undefined);
      if (!type) {
        throw new TypeError(`${path.join('.')}[${position}]: expected one of ${stepTypeNames().join(', ')}`);
      }
      const value = item[type.type];
      const step = type.parse(value, steps.length);
      if (typeof item.name === 'string') step.name = item.name;
      if (typeof item.points === 'number') step.points = item.points;
      if (typeof item.hint === 'string') step.hint = item.hint;
      step.path = [...path, position];
      if (parent) step.parent = parent.index;
      if (typeof item.at === 'string' || typeof item.at === 'number') step.atMs = parseDuration(item.at);
      steps.push(step);
      const during = (value as { during?: unknown } | null)?.during;
      if (type.hasDuring && Array.isArray(during)) {
        visit(during as Record<string, unknown>[], [...path, position, type.type, 'during'], step);
      }
    });
  };
  visit(raw as Record<string, unknown>[], [root]);
  return steps;
}

/** Where a step sits in the YAML document. */
export function stepPath(step: VerifyStep): (string | number)[] {
  return step.path ?? ['verify', step.index];
}

/**
 * Semantic checks the schema cannot express. Paths point into the YAML document, e.g.
 * `['verify', 2, 'http-tally', 'node']`; a defaulted key's path still names the key, and the
 * loader walks up to the nearest node that exists.
 */
export function checkVerifySteps(
  steps: VerifyStep[],
  nodeNames: Set<string>,
  kindsByNode: Map<string, string>,
  /** The nodes' configs, when known: a kind's trait can depend on them (a director without FRR). */
  configsByNode?: Map<string, NodeConfig>,
): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const known = [...nodeNames].sort().join(', ');
  for (const step of steps) {
    const at = (...rest: (string | number)[]) => [...stepPath(step), step.type, ...rest];
    if (!nodeNames.has(step.node)) {
      issues.push({
        path: at('node'),
        message: `unknown node "${step.node}"; the topology's nodes are ${known || '(none)'}`,
        fix: 'use one of the node names under topology.nodes',
      });
    }
    const kind = kindsByNode.get(step.node);
    const requireTrait = (trait: KindTrait, what: string, path: (string | number)[]): TopologyIssue[] => {
      const kinds = kindsWith(trait);
      const config = configsByNode?.get(step.node);
      if (kind !== undefined && kinds.includes(kind) && config && !nodeHas(config, trait)) {
        return [
          {
            path,
            message: `${what} needs a node with "${trait}", and "${step.node}" (a ${kind}) has none as configured`,
            fix: `look at ${step.node}'s config: e.g. a director runs FRR only with \`ospf:\` or its VIP on lo`,
          },
        ];
      }
      if (kind === undefined || kinds.includes(kind)) return [];
      const candidates = [...kindsByNode].filter(([, k]) => kinds.includes(k)).map(([name]) => name);
      return [
        {
          path,
          message: `${what} needs a node of kind ${kinds.join(' or ')}; "${step.node}" is a ${kind}`,
          ...(candidates.length > 0 && { fix: `run it on ${candidates.sort().join(', ')}` }),
        },
      ];
    };
    const nodeExists = (name: string, path: (string | number)[]): TopologyIssue[] =>
      nodeNames.has(name)
        ? []
        : [
            {
              path,
              message: `unknown node "${name}"; the topology's nodes are ${known || '(none)'}`,
              fix: 'use one of the node names under topology.nodes',
            },
          ];
    issues.push(...(stepTypeOf(step).check?.(step, { at, requireTrait, nodeExists }) ?? []));
    issues.push(...timingIssues(step, steps));
  }
  return issues;
}

/** `at:` belongs inside a `during:` list, in order, before the traffic it is timed against ends. */
function timingIssues(step: VerifyStep, steps: VerifyStep[]): TopologyIssue[] {
  if (step.atMs === undefined) return [];
  const path = [...stepPath(step), 'at'];
  if (step.parent === undefined) {
    return [
      {
        path,
        message: '`at:` times a step against traffic, so it only means something inside a `during:` list',
        fix: "move the step into an http-load step's during: list, or drop at:",
      },
    ];
  }
  const parent = steps[step.parent];
  const duration = parent?.durationMs;
  if (typeof duration === 'number' && step.atMs >= duration) {
    return [
      {
        path,
        message: `at ${step.atMs / 1000}s is not before the traffic ends (it lasts ${duration / 1000}s)`,
        fix: 'start the step earlier, or make the traffic last longer',
      },
    ];
  }
  const earlier = steps.filter(
    (s) => s.parent === step.parent && s.index < step.index && s.atMs !== undefined,
  );
  const last = earlier[earlier.length - 1];
  if (last?.atMs !== undefined && last.atMs > step.atMs) {
    return [
      {
        path,
        message: `at ${step.atMs / 1000}s is earlier than the step before it (at ${last.atMs / 1000}s): during steps run in order`,
        fix: 'list the steps in the order of their at: times',
      },
    ];
  }
  return [];
}
