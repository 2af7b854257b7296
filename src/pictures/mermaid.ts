/**
 * A lab graph as a Mermaid flowchart (for Markdown that renders Mermaid). Ids are the graph's element
 * ids with everything but letters and digits turned into `_` (`node-lb1` → `node_lb1`); node shapes
 * and colours follow the role, like the DOT picture's.
 */
import { EDGE_STYLE, NETWORK_STYLE, ROLE_STYLE, VIP_STYLE } from './dot.js';
import {
  graphEdges,
  graphNetworkId,
  graphNodeId,
  graphVipId,
  networkLabelLines,
  nodeLabelLines,
  vipLabelLines,
  type GraphEdgeType,
  type LabGraph,
  type NodeRole,
} from './graph.js';

/** A Mermaid-safe id for a graph element id: letters, digits and `_` only. */
export function mermaidId(elementId: string): string {
  return elementId.replace(/[^A-Za-z0-9]/g, '_');
}

/** Label text inside `"..."`: Mermaid's entity codes for what would end or break it. */
function mermaidText(lines: string[]): string {
  return lines
    .map((line) =>
      line
        .replace(/&/g, '#amp;')
        .replace(/"/g, '#quot;')
        .replace(/</g, '#lt;')
        .replace(/>/g, '#gt;')
        .replace(/\r?\n/g, ' '),
    )
    .join('<br/>');
}

const SHAPE: Record<NodeRole, [string, string]> = {
  router: ['{{', '}}'],
  director: ['(', ')'],
  server: ['[[', ']]'],
  host: ['[', ']'],
};

const ARROW: Record<GraphEdgeType, string> = {
  link: '---',
  vip: '-.-',
  lvs: '-->',
  ospf: '-.-',
  ecmp: '==>',
};

export function renderMermaid(graph: LabGraph): string {
  const title = graph.description ? `${graph.lab}: ${graph.description}` : graph.lab;
  const lines = ['---', `title: ${JSON.stringify(title)}`, '---', 'flowchart TB'];
  for (const network of graph.networks) {
    lines.push(
      `  ${mermaidId(graphNetworkId(network.name))}[/"${mermaidText(networkLabelLines(network))}"/]`,
    );
  }
  for (const node of graph.nodes) {
    const [open, close] = SHAPE[node.role];
    lines.push(
      `  ${mermaidId(graphNodeId(node.name))}${open}"${mermaidText(nodeLabelLines(graph, node))}"${close}`,
    );
  }
  for (const vip of graph.vips) {
    lines.push(`  ${mermaidId(graphVipId(vip.address))}(("${mermaidText(vipLabelLines(vip))}"))`);
  }
  const edges = graphEdges(graph);
  for (const edge of edges) {
    const label = edge.label === undefined ? '' : `|"${mermaidText([edge.label])}"|`;
    lines.push(`  ${mermaidId(edge.from)} ${ARROW[edge.type]}${label} ${mermaidId(edge.to)}`);
  }

  lines.push(
    `  classDef network fill:${NETWORK_STYLE.fill},stroke:${NETWORK_STYLE.stroke},color:${NETWORK_STYLE.font}`,
  );
  lines.push(`  classDef vip fill:${VIP_STYLE.fill},stroke:${VIP_STYLE.stroke}`);
  for (const role of Object.keys(ROLE_STYLE).sort() as NodeRole[]) {
    lines.push(`  classDef role_${role} fill:${ROLE_STYLE[role].fill},stroke:${ROLE_STYLE[role].stroke}`);
  }
  lines.push('  classDef down fill:#f3f4f6,stroke:#9ca3af,color:#6b7280,stroke-dasharray:5 5');
  if (graph.networks.length > 0)
    lines.push(`  class ${graph.networks.map((n) => mermaidId(graphNetworkId(n.name))).join(',')} network`);
  if (graph.vips.length > 0)
    lines.push(`  class ${graph.vips.map((v) => mermaidId(graphVipId(v.address))).join(',')} vip`);
  for (const role of Object.keys(ROLE_STYLE).sort() as NodeRole[]) {
    const members = graph.nodes.filter((node) => node.role === role);
    if (members.length > 0)
      lines.push(`  class ${members.map((n) => mermaidId(graphNodeId(n.name))).join(',')} role_${role}`);
  }
  const down = graph.nodes.filter((node) => node.state !== undefined && node.state !== 'running');
  if (down.length > 0)
    lines.push(`  class ${down.map((n) => mermaidId(graphNodeId(n.name))).join(',')} down`);

  // linkStyle numbers links in the order they were written.
  for (const type of Object.keys(EDGE_STYLE) as GraphEdgeType[]) {
    const indexes = edges.flatMap((edge, index) => (edge.type === type ? [index] : []));
    if (indexes.length === 0) continue;
    const width = type === 'ecmp' ? 3 : type === 'link' ? 1 : 1.5;
    const dash = EDGE_STYLE[type].style === 'dashed' ? ',stroke-dasharray:6 4' : '';
    lines.push(
      `  linkStyle ${indexes.join(',')} stroke:${EDGE_STYLE[type].color},stroke-width:${width}px${dash}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
