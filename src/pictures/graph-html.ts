/**
 * A lab graph as one self-contained HTML page (html.ts's htmlPage): the SVG inline (its ids and
 * classes intact, see dot.ts), a legend of the shapes and lines, and the virtual services as a table.
 * No scripts, no external stylesheets or fonts: the page opens offline and reads the same anywhere.
 */
import { EDGE_STYLE, NETWORK_STYLE, ROLE_STYLE, VIP_STYLE } from './dot.js';
import { graphEdges, serviceEdgeLabel, type GraphEdgeType, type LabGraph, type NodeRole } from './graph.js';
import { escapeHtml, htmlPage, inlineSvg } from './html.js';

const ROLE_MEANING: Record<NodeRole, string> = {
  router: 'router (speaks OSPF)',
  director: 'LVS director',
  server: 'real server',
  host: 'host',
};

/** Beside htmlPage's own style: the picture's legend (its own class names, so the report's stay as they are). */
const STYLE = `
p.description { margin: 0 0 16px; color: #555; }
ul.graph-legend { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 6px 24px; }
ul.graph-legend li { display: flex; align-items: center; gap: 8px; }
.graph-swatch { display: inline-block; width: 24px; height: 14px; border: 2px solid; border-radius: 3px; }
`.trim();

function swatch(fill: string, stroke: string): string {
  return `<span class="graph-swatch" style="background:${fill};border-color:${stroke}"></span>`;
}

function lineSample(type: GraphEdgeType): string {
  const { color, style } = EDGE_STYLE[type];
  const dash =
    style === 'dashed' ? ' stroke-dasharray="6 4"' : style === 'dotted' ? ' stroke-dasharray="2 3"' : '';
  const width = style === 'bold' ? 3 : 1.5;
  const arrow = type === 'lvs' || type === 'ecmp' ? `<polygon points="36,5 30,2 30,8" fill="${color}"/>` : '';
  return `<svg width="40" height="10" aria-hidden="true"><line x1="2" y1="5" x2="${arrow ? 31 : 38}" y2="5" stroke="${color}" stroke-width="${width}"${dash}/>${arrow}</svg>`;
}

function legend(graph: LabGraph): string {
  const roles = (Object.keys(ROLE_STYLE) as NodeRole[]).filter((role) =>
    graph.nodes.some((n) => n.role === role),
  );
  const drawn = new Set(graphEdges(graph).map((edge) => edge.type));
  const edgeTypes = (Object.keys(EDGE_STYLE) as GraphEdgeType[]).filter(
    (type) => drawn.has(type) || (type === 'ecmp' && graph.live !== undefined),
  );
  const items = [
    ...roles.map(
      (role) =>
        `<li class="legend-role-${role}">${swatch(ROLE_STYLE[role].fill, ROLE_STYLE[role].stroke)}${escapeHtml(ROLE_MEANING[role])}</li>`,
    ),
    `<li class="legend-network">${swatch(NETWORK_STYLE.fill, NETWORK_STYLE.stroke)}network (name, subnet)</li>`,
    ...(graph.vips.length > 0
      ? [`<li class="legend-vip">${swatch(VIP_STYLE.fill, VIP_STYLE.stroke)}VIP</li>`]
      : []),
    ...(graph.live
      ? [`<li class="legend-down">${swatch('#f3f4f6', '#9ca3af')}node not running (dashed)</li>`]
      : []),
    ...edgeTypes.map(
      (type) => `<li class="legend-${type}">${lineSample(type)}${escapeHtml(EDGE_STYLE[type].meaning)}</li>`,
    ),
  ];
  return `<section class="legend" id="legend"><h2>Legend</h2><ul class="graph-legend">\n${items.join('\n')}\n</ul></section>`;
}

function servicesTable(graph: LabGraph): string {
  if (graph.services.length === 0) return '';
  const rows = graph.services.map((service) => {
    const servers = service.realServers
      .map((rs) => escapeHtml(`${rs.node} ${rs.ip}:${rs.port} (${serviceEdgeLabel(service, rs)})`))
      .join('<br>');
    const cells = [
      service.director,
      `${service.vip}:${service.port}/${service.protocol}`,
      service.method,
      service.scheduler,
    ].map((cell) => `<td>${escapeHtml(cell)}</td>`);
    return `<tr>${cells.join('')}<td>${servers}</td></tr>`;
  });
  return [
    '<section class="services"><h2>Virtual services</h2><table>',
    '<tr><th>director</th><th>service</th><th>method</th><th>scheduler</th><th>real servers</th></tr>',
    ...rows,
    '</table></section>',
  ].join('\n');
}

/** The page for `svg` (renderSvg of the same graph). */
export function renderGraphHtml(graph: LabGraph, svg: string): string {
  const title = `Lab ${graph.lab}${graph.live ? ' (live)' : ''}`;
  const body = [
    `<style>${STYLE}</style>`,
    `<h1>${escapeHtml(title)}</h1>`,
    ...(graph.description ? [`<p class="description">${escapeHtml(graph.description)}</p>`] : []),
    `<div class="graph" id="graph">\n${inlineSvg(svg)}\n</div>`,
    legend(graph),
    servicesTable(graph),
  ].filter((part) => part !== '');
  return htmlPage(title, body.join('\n'));
}
