/** Node kinds by name. Adding a kind is one module (see kind.ts) and one entry here. */
import { directorKind } from './director.js';
import type { KindTrait } from '../core/kind-traits.js';
import type { NodeConfig } from '../core/topology.js';
import type { NodeKind } from './kind.js';
import { linuxKind } from './linux.js';
import { routerKind } from './router.js';
import { serverKind } from './server.js';

const KINDS: ReadonlyMap<string, NodeKind> = new Map(
  [routerKind, directorKind, serverKind, linuxKind].map((kind) => [kind.name, kind]),
);

export function kindNames(): string[] {
  return [...KINDS.keys()];
}

export function findKind(name: string): NodeKind | undefined {
  return KINDS.get(name);
}

export function getKind(name: string): NodeKind {
  const kind = KINDS.get(name);
  if (!kind)
    throw new Error(`kind "${name}" is not supported. Supported kinds are: ${kindNames().join(', ')}`);
  return kind;
}

/** The kinds that have `trait`, in registry order. */
export function kindsWith(trait: KindTrait): string[] {
  return [...KINDS.values()].filter((kind) => kind.traits.includes(trait)).map((kind) => kind.name);
}

/** Whether this node has `trait`: its kind has it and, where the kind makes it conditional, the node's config. */
export function nodeHas(node: NodeConfig, trait: KindTrait): boolean {
  const kind = KINDS.get(node.kind);
  if (!kind?.traits.includes(trait)) return false;
  return kind.traitWhen?.[trait]?.(node) ?? true;
}

/** Whether kind `name` has `trait` (for some of its nodes); an unknown kind has none. */
export function kindHas(name: string, trait: KindTrait): boolean {
  return KINDS.get(name)?.traits.includes(trait) ?? false;
}
