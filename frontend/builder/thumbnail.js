// A small picture of a graph for the gallery: the same layout as the canvas, drawn as SVG.
import { layoutGraph, NODE_H, NODE_W } from "./layout.js";
import { kindOf, normalize } from "./model.js";

const COLORS = { trigger: "#2f855a", wait: "#b7791f", branch: "#6b46c1", action: "#2b6cb0", goal: "#c05621" };

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

export function thumbnailSvg(rawGraph, types, { label = "Workflow" } = {}) {
  const graph = normalize(rawGraph);
  const layout = layoutGraph(graph, types, { placeholders: false });
  const pos = new Map(layout.nodes.map((n) => [n.id, n]));
  const minX = Math.min(0, ...layout.nodes.map((n) => n.x));
  const w = Math.max(...layout.nodes.map((n) => n.x + NODE_W), NODE_W) - minX + 40;
  const h = layout.height + 40;
  const parts = [];
  for (const e of layout.edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (!a || !b) continue;
    const x1 = a.x - minX + 20 + NODE_W / 2;
    const y1 = a.y + 20 + NODE_H;
    const x2 = b.x - minX + 20 + NODE_W / 2;
    const y2 = b.y + 20;
    if (e.back) {
      const side = Math.max(a.x, b.x) - minX + 20 + NODE_W + 24;
      parts.push(`<path d="M${x1 + NODE_W / 2},${a.y + 20 + NODE_H / 2} C${side},${a.y + 20} ${side},${b.y + 20 + NODE_H} ${x2 + NODE_W / 2},${b.y + 20 + NODE_H / 2}" fill="none" stroke="#a0aec0" stroke-width="6" stroke-dasharray="12 8"/>`);
    } else {
      const mid = (y1 + y2) / 2;
      parts.push(`<path d="M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}" fill="none" stroke="#a0aec0" stroke-width="6"/>`);
    }
  }
  for (const n of layout.nodes) {
    const color = COLORS[kindOf(n.type)];
    const x = n.x - minX + 20;
    const y = n.y + 20;
    parts.push(`<rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="14" fill="#fff" stroke="${color}" stroke-width="6"/><rect x="${x}" y="${y}" width="18" height="${NODE_H}" rx="6" fill="${color}"/><text x="${x + 34}" y="${y + 52}" font-size="34" font-family="sans-serif" fill="#2d3748">${esc(types?.[n.type]?.label || n.type)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(label)}" preserveAspectRatio="xMidYMin meet">${parts.join("")}</svg>`;
}
