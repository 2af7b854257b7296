/**
 * A lab graph as Graphviz DOT. Every node, network, VIP and edge carries an `id` and a `class`, which
 * Graphviz copies into its SVG (svg.ts), so a page or a test can find them: `node-<name>` with
 * `lab-node kind-<kind> role-<role>` (and `state-<state>` when live), `net-<name>` with `lab-network`,
 * `vip-<address>` with `lab-vip`, and edges `link-edge`, `vip-edge`, `lvs-edge`, `ospf-edge`, `ecmp-edge`.
 */
import {
  graphEdgeClass,
  graphEdges,
  graphNetworkId,
  graphNodeId,
  graphVipId,
  networkLabelLines,
  nodeLabelLines,
  vipLabelLines,
  type GraphEdgeType,
  type GraphNode,
  type LabGraph,
  type NodeRole,
} from './graph.js';

/**
 * Every label in Courier: Graphviz sizes each shape by its own estimate of the text's width, which
 * matches only the font names it knows exactly, and a browser draws with whatever font it has. Every
 * monospace font is 0.6 em wide, like Graphviz's Courier, so the text stays inside its shape
 * everywhere (svg.ts adds `monospace` as the fallback).
 */
export const LABEL_FONT = 'Courier';

/** Shape and colours per role (the legend in graph-html.ts shows the same). */
export const ROLE_STYLE: Record<NodeRole, { shape: string; fill: string; stroke: string; style: string }> = {
  router: { shape: 'hexagon', fill: '#fde68a', stroke: '#b45309', style: 'filled' },
  director: { shape: 'box', fill: '#bfdbfe', stroke: '#1d4ed8', style: 'filled,rounded' },
  server: { shape: 'box3d', fill: '#bbf7d0', stroke: '#15803d', style: 'filled' },
  host: { shape: 'box', fill: '#e5e7eb', stroke: '#4b5563', style: 'filled' },
};

export const NETWORK_STYLE = { fill: '#334155', stroke: '#0f172a', font: '#ffffff' };
export const VIP_STYLE = { fill: '#fecaca', stroke: '#b91c1c' };

/** Colour and line per edge type (the legend shows the same). */
export const EDGE_STYLE: Record<GraphEdgeType, { color: string; style: string; meaning: string }> = {
  link: { color: '#64748b', style: 'solid', meaning: 'interface on a network' },
  vip: { color: '#b91c1c', style: 'dotted', meaning: 'holds the VIP' },
  lvs: {
    color: '#1d4ed8',
    style: 'solid',
    meaning: 'virtual service → real server (port/protocol method scheduler weight)',
  },
  ospf: { color: '#d97706', style: 'dashed', meaning: 'OSPF adjacency' },
  ecmp: { color: '#15803d', style: 'bold', meaning: "router's current ECMP nexthop for the VIP (live)" },
};

/** A DOT double-quoted string. */
export function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, ' ')}"`;
}

/** Label lines, each centred (DOT's `\n` escape). */
function dotLabel(lines: string[]): string {
  return lines.map((line) => dotString(line).slice(1, -1)).join('\\n');
}

function attributes(pairs: Record<string, string | number | undefined>): string {
  return Object.entries(pairs)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) =>
      key === 'label'
        ? `label="${value}"`
        : `${key}=${typeof value === 'number' ? value : dotString(String(value))}`,
    )
    .join(', ');
}

function nodeClass(node: GraphNode): string {
  return [
    'lab-node',
    `kind-${node.kind}`,
    `role-${node.role}`,
    ...(node.state ? [`state-${node.state}`] : []),
  ].join(' ');
}

function nodeAttributes(graph: LabGraph, node: GraphNode): Record<string, string | number | undefined> {
  const style = ROLE_STYLE[node.role];
  const down = node.state !== undefined && node.state !== 'running';
  return {
    id: graphNodeId(node.name),
    class: nodeClass(node),
    shape: style.shape,
    style: down ? `${style.style},dashed` : style.style,
    fillcolor: down ? '#f3f4f6' : style.fill,
    color: down ? '#9ca3af' : style.stroke,
    fontcolor: down ? '#6b7280' : undefined,
    penwidth: node.state === 'running' ? 2 : undefined,
    label: dotLabel(nodeLabelLines(graph, node)),
  };
}

const EDGE_EXTRA: Record<GraphEdgeType, Record<string, string | number>> = {
  link: { dir: 'none', penwidth: 1.5 },
  vip: { dir: 'none' },
  lvs: { penwidth: 1.5 },
  ospf: { dir: 'none', constraint: 'false', penwidth: 1.5 },
  ecmp: { constraint: 'false', penwidth: 2.5 },
};

export function renderDot(graph: LabGraph): string {
  const title = graph.description ? `${graph.lab}: ${graph.description}` : graph.lab;
  const lines = [
    `digraph ${dotString(graph.lab)} {`,
    `  graph [${attributes({ id: 'lab-graph', class: 'lab-graph', label: dotLabel([title]), labelloc: 't', fontname: LABEL_FONT, fontsize: 16, rankdir: 'TB', nodesep: 0.6, ranksep: 0.7, bgcolor: 'white' })}];`,
    `  node [${attributes({ fontname: LABEL_FONT, fontsize: 11, margin: '0.15,0.08' })}];`,
    `  edge [${attributes({ fontname: LABEL_FONT, fontsize: 10 })}];`,
    '',
    '  // networks',
  ];
  for (const network of graph.networks) {
    const id = graphNetworkId(network.name);
    const attrs = attributes({
      id,
      class: 'lab-network',
      shape: 'box',
      style: 'filled,bold',
      fillcolor: NETWORK_STYLE.fill,
      color: NETWORK_STYLE.stroke,
      fontcolor: NETWORK_STYLE.font,
      width: 2.5,
      label: dotLabel(networkLabelLines(network)),
    });
    lines.push(`  ${dotString(id)} [${attrs}];`);
  }
  lines.push('', '  // nodes');
  for (const node of graph.nodes) {
    lines.push(`  ${dotString(graphNodeId(node.name))} [${attributes(nodeAttributes(graph, node))}];`);
  }
  if (graph.vips.length > 0) lines.push('', '  // VIPs');
  for (const vip of graph.vips) {
    const id = graphVipId(vip.address);
    const attrs = attributes({
      id,
      class: 'lab-vip',
      shape: 'ellipse',
      style: 'filled',
      fillcolor: VIP_STYLE.fill,
      color: VIP_STYLE.stroke,
      label: dotLabel(vipLabelLines(vip)),
    });
    lines.push(`  ${dotString(id)} [${attrs}];`);
  }
  let type: GraphEdgeType | undefined;
  for (const edge of graphEdges(graph)) {
    if (edge.type !== type) lines.push('', `  // ${EDGE_STYLE[edge.type].meaning}`);
    type = edge.type;
    const style = EDGE_STYLE[edge.type];
    const attrs = attributes({
      id: edge.id,
      class: graphEdgeClass(edge.type),
      color: style.color,
      fontcolor: edge.label ? style.color : undefined,
      style: style.style,
      ...EDGE_EXTRA[edge.type],
      label: edge.label === undefined ? undefined : dotLabel([edge.label]),
    });
    lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)} [${attrs}];`);
  }
  lines.push('}', '');
  return lines.join('\n');
}
