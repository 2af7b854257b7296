/**
 * A lab graph as SVG: its DOT laid out by Graphviz compiled to WebAssembly (@viz-js/viz), so no `dot`
 * binary is needed. Graphviz is deterministic for the same input; the comments it writes (its version,
 * each element's name) are dropped and its `&#45;` written back as `-`, so ids read as they are set
 * and the same graph gives the same bytes on any Graphviz build that lays it out alike.
 */
import type { Viz } from '@viz-js/viz';
import { LABEL_FONT, renderDot } from './dot.js';
import type { LabGraph } from './graph.js';

let viz: Promise<Viz> | undefined;

/** One Graphviz instance per process: loading the WebAssembly takes a few hundred milliseconds. */
function graphviz(): Promise<Viz> {
  viz ??= import('@viz-js/viz').then((module) => module.instance());
  return viz;
}

/** Renders DOT text to SVG with Graphviz's `dot` layout; throws with Graphviz's own messages. */
export async function dotToSvg(dot: string): Promise<string> {
  const result = (await graphviz()).render(dot, { format: 'svg', engine: 'dot' });
  if (result.status !== 'success') {
    const messages = result.errors.map((error) => error.message.trim()).join('; ');
    throw new Error(`Graphviz could not lay out the graph: ${messages}`);
  }
  return tidySvg(result.output);
}

/**
 * Drops comments, writes Graphviz's `&#45;` as `-` (comments were the only place `--` may not go) and
 * lets a browser without Courier fall back to its own monospace font.
 */
export function tidySvg(svg: string): string {
  return `${svg
    .replace(/<!--[\s\S]*?-->\n?/g, '')
    .replace(/&#45;/g, '-')
    .replaceAll(`font-family="${LABEL_FONT}"`, `font-family="${LABEL_FONT},monospace"`)
    .trimEnd()}\n`;
}

export async function renderSvg(graph: LabGraph): Promise<string> {
  return dotToSvg(renderDot(graph));
}
