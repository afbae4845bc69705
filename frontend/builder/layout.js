// The canvas is a pure function of the saved graph: positions are computed, never stored.
//
// A deterministic tree layout, top to bottom. Rows are the longest path from a trigger
// (edges that close a loop are drawn as back edges on the side). Columns come from a
// spanning tree walked in port order — yes before no, a before b before c, a multi-split's
// branches in their order then `default` — so arms keep a stable left-to-right order. Each
// subtree owns a band of columns, so nodes never overlap; an unconnected port gets an
// "add step" placeholder that takes a column like a node.
import { DEFAULT, kindOf, portsOf } from "./model.js";

export const NODE_W = 248;
export const NODE_H = 84;
export const GAP_X = 40;
export const GAP_Y = 64;

function indexGraph(graph, types) {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const out = new Map(graph.nodes.map((n) => [n.id, []]));
  for (const n of graph.nodes) {
    const ports = portsOf(n, types);
    const edges = graph.edges.filter((e) => e.source === n.id && byId.has(e.target));
    edges.sort((a, b) => rank(ports, a.port) - rank(ports, b.port));
    out.set(n.id, edges);
  }
  return { byId, out };
}

function rank(ports, port) {
  const i = ports.indexOf(port || DEFAULT);
  return i < 0 ? ports.length : i;
}

function rootsInOrder(graph) {
  const triggers = graph.nodes.filter((n) => kindOf(n.type) === "trigger").map((n) => n.id);
  const targets = new Set(graph.edges.map((e) => e.target));
  const orphans = graph.nodes.filter((n) => kindOf(n.type) !== "trigger" && !targets.has(n.id)).map((n) => n.id);
  return [...triggers, ...orphans, ...graph.nodes.map((n) => n.id)];
}

function backEdges(graph, out, roots) {
  const back = new Set();
  const state = new Map();
  for (const root of roots) {
    if (state.has(root)) continue;
    // Iterative DFS (a 200-step chain must not blow the stack).
    const stack = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const edges = out.get(top[0]);
      if (top[1] >= edges.length) {
        state.set(top[0], 2);
        stack.pop();
        continue;
      }
      const edge = edges[top[1]++];
      const s = state.get(edge.target);
      if (s === 1) back.add(edge);
      else if (s === undefined) {
        state.set(edge.target, 1);
        stack.push([edge.target, 0]);
      }
    }
  }
  return back;
}

function depths(graph, out, back) {
  const indeg = new Map(graph.nodes.map((n) => [n.id, 0]));
  for (const edges of out.values()) for (const e of edges) if (!back.has(e)) indeg.set(e.target, indeg.get(e.target) + 1);
  const depth = new Map(graph.nodes.map((n) => [n.id, 0]));
  const queue = graph.nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  for (let i = 0; i < queue.length; i += 1) {
    const id = queue[i];
    for (const e of out.get(id)) {
      if (back.has(e)) continue;
      depth.set(e.target, Math.max(depth.get(e.target), depth.get(id) + 1));
      indeg.set(e.target, indeg.get(e.target) - 1);
      if (indeg.get(e.target) === 0) queue.push(e.target);
    }
  }
  return depth;
}

export function layoutGraph(graph, types, { placeholders = true } = {}) {
  const { byId, out } = indexGraph(graph, types);
  const roots = rootsInOrder(graph);
  const back = backEdges(graph, out, roots);
  const depth = depths(graph, out, back);

  // Spanning tree in port order; unconnected ports become placeholder children.
  const children = new Map();
  const claimed = new Set();
  const treeRoots = [];
  const order = [];
  for (const root of roots) {
    if (claimed.has(root)) continue;
    claimed.add(root);
    treeRoots.push(root);
    const stack = [root];
    while (stack.length) {
      const id = stack.pop();
      order.push(id);
      const node = byId.get(id);
      const kids = [];
      for (const port of portsOf(node, types)) {
        const edge = out.get(id).find((e) => (e.port || DEFAULT) === port);
        if (!edge) {
          if (placeholders) kids.push({ placeholder: true, id: `add:${id}:${port}`, source: id, port });
        } else if (!back.has(edge) && !claimed.has(edge.target)) {
          claimed.add(edge.target);
          kids.push({ id: edge.target });
        }
      }
      children.set(id, kids);
      for (let i = kids.length - 1; i >= 0; i -= 1) if (!kids[i].placeholder) stack.push(kids[i].id);
    }
  }

  // Widths bottom-up (reverse discovery order visits children before parents).
  const width = new Map();
  for (let i = order.length - 1; i >= 0; i -= 1) {
    const id = order[i];
    const w = children.get(id).reduce((sum, k) => sum + (k.placeholder ? 1 : width.get(k.id)), 0);
    width.set(id, Math.max(1, w));
  }

  const slotX = (center) => center * (NODE_W + GAP_X) - NODE_W / 2;
  const rowY = (d) => d * (NODE_H + GAP_Y);
  const nodes = [];
  const holders = [];
  let cursor = 0;
  const place = [];
  for (const root of treeRoots) {
    place.push([root, cursor]);
    cursor += width.get(root);
  }
  while (place.length) {
    const [id, start] = place.pop();
    const center = start + width.get(id) / 2;
    nodes.push({ id, type: byId.get(id).type, x: slotX(center), y: rowY(depth.get(id)), depth: depth.get(id) });
    let s = start;
    for (const k of children.get(id)) {
      if (k.placeholder) {
        holders.push({ id: k.id, source: k.source, port: k.port, x: slotX(s + 0.5), y: rowY(depth.get(id) + 1), depth: depth.get(id) + 1 });
        s += 1;
      } else {
        place.push([k.id, s]);
        s += width.get(k.id);
      }
    }
  }
  nodes.sort((a, b) => a.depth - b.depth || a.x - b.x);
  const edges = [];
  for (const n of graph.nodes) {
    for (const e of out.get(n.id)) {
      edges.push({ id: `${e.source}:${e.port || DEFAULT}`, source: e.source, target: e.target, port: e.port || DEFAULT, back: back.has(e) });
    }
  }
  const maxDepth = Math.max(0, ...nodes.map((n) => n.depth), ...holders.map((h) => h.depth));
  return {
    nodes,
    placeholders: holders,
    edges,
    width: Math.max(1, cursor) * (NODE_W + GAP_X) - GAP_X,
    height: rowY(maxDepth) + NODE_H,
  };
}
