/**
 * One entry point for every picture format of a lab graph, the format a file name implies, and the
 * plan a picture is drawn from.
 */
import type { Plan } from '../core/plan.js';
import { planTopology } from '../plan/compile.js';
import type { OpenedTopology } from '../topology/open.js';
import { renderDot } from './dot.js';
import type { LabGraph } from './graph.js';
import { renderGraphHtml } from './graph-html.js';
import { renderMermaid } from './mermaid.js';
import { renderSvg } from './svg.js';

export const GRAPH_FORMATS = ['svg', 'html', 'mermaid', 'dot'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/**
 * The plan a picture is drawn from: compiled for a fixed engine and image (neither is drawn), so the
 * picture of a file is the same on every host. `labName` as `up --name` takes it.
 */
export function planForPicture(topology: OpenedTopology, labName?: string): Plan {
  return planTopology(topology, {
    ...(labName === undefined ? {} : { labName }),
    defaultImage: 'lblab/node',
    facts: { engine: 'docker', ipvs: true },
  });
}

const BY_EXTENSION: Record<string, GraphFormat> = {
  '.svg': 'svg',
  '.html': 'html',
  '.htm': 'html',
  '.dot': 'dot',
  '.gv': 'dot',
  '.mmd': 'mermaid',
  '.mermaid': 'mermaid',
  '.md': 'mermaid',
};

/** The format asked for, else the one the output file's extension names, else SVG. */
export function graphFormatFor(asked: string | undefined, output: string | undefined): GraphFormat {
  if (asked !== undefined) {
    if (!(GRAPH_FORMATS as readonly string[]).includes(asked))
      throw new Error(`unknown picture format "${asked}" (one of: ${GRAPH_FORMATS.join(', ')})`);
    return asked as GraphFormat;
  }
  const extension = output?.toLowerCase().match(/\.[a-z]+$/)?.[0];
  return (extension && BY_EXTENSION[extension]) || 'svg';
}

/** The picture as text; a Mermaid picture for a Markdown file (`.md`) comes in a ```mermaid block. */
export async function renderGraph(graph: LabGraph, format: GraphFormat, output?: string): Promise<string> {
  switch (format) {
    case 'dot':
      return renderDot(graph);
    case 'mermaid': {
      const text = renderMermaid(graph);
      return output?.toLowerCase().endsWith('.md') ? `\`\`\`mermaid\n${text}\`\`\`\n` : text;
    }
    case 'svg':
      return renderSvg(graph);
    case 'html':
      return renderGraphHtml(graph, await renderSvg(graph));
  }
}
