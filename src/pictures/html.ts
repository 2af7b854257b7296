/**
 * The pieces every HTML picture shares: escaping, one self-contained page (its style inline, no
 * fetches: a report mailed or archived by CI opens the same anywhere) and a stable colour per value.
 */
import { xmlAttr, xmlText } from '../verify/render-report.js';

export const escapeHtml = xmlText;
export const escapeAttr = xmlAttr;

/** Colour-blind-safe (Okabe-Ito, black left out for text); failures always draw in FAILURE_COLOUR. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442'];
export const FAILURE_COLOUR = '#C0392B';

/** A colour per value, in sorted order so the same value has the same colour in every chart. */
export function coloursFor(values: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(values)].sort();
  return new Map(sorted.map((value, i) => [value, PALETTE[i % PALETTE.length]!]));
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; } h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #555; margin-bottom: 16px; }
.verdict { font-weight: 600; padding: 1px 8px; border-radius: 10px; font-size: 12px; white-space: nowrap; }
.verdict-pass { background: #dff3e4; color: #1e6b35; } .verdict-fail { background: #fbe0dd; color: #9b2a1f; } .verdict-error { background: #fdf0d5; color: #8a5a00; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.step { border: 1px solid #e3e3e3; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.step.child { margin-left: 28px; }
.step-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.step-head .name { font-weight: 600; } .step-head .node, .step-head .time { color: #555; }
.expectations { margin: 6px 0; padding-left: 20px; } .expectations li.ok { color: #1e6b35; } .expectations li.bad { color: #9b2a1f; }
.hint { color: #555; font-style: italic; }
details { margin: 6px 0; } summary { cursor: pointer; color: #333; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; margin: 4px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart figcaption { font-size: 12px; color: #444; }
.graph svg { max-width: 100%; height: auto; }
.legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
.cell-pass { background: #dff3e4; } .cell-fail { background: #fbe0dd; } .cell-error { background: #fdf0d5; }
`;

/** A whole page: `title` in <title> and <h1>, the body's HTML as given. */
export function htmlPage(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing may be fetched: the page is one file.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** An SVG document as it can sit inside HTML: from `<svg` on (no XML declaration or DOCTYPE). */
export function inlineSvg(svg: string): string {
  const start = svg.indexOf('<svg');
  return start < 0 ? '' : svg.slice(start).trimEnd();
}
