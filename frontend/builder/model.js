// The workflow graph as the API stores it ({nodes: [{id, type, config}], edges: [{source,
// target, port?}]}) and the edits the builder makes to it. Every function is pure: it
// returns a new graph and never touches its input, so undo/redo is a list of graphs.

export const DEFAULT = "default";

export function emptyGraph() {
  return { nodes: [], edges: [] };
}

export function normalize(graph) {
  const nodes = (graph?.nodes || []).map((n) => ({ id: n.id, type: n.type, config: n.config || {} }));
  const edges = (graph?.edges || []).map((e) => ({ source: e.source, target: e.target, port: e.port || DEFAULT }));
  return { nodes, edges };
}

// The saved form: `port` is left out for the default port, as hand-written graphs do.
export function serialize(graph) {
  return {
    nodes: graph.nodes.map((n) => ({ id: n.id, type: n.type, config: n.config || {} })),
    edges: graph.edges.map((e) => (e.port && e.port !== DEFAULT ? { source: e.source, target: e.target, port: e.port } : { source: e.source, target: e.target })),
  };
}

export function kindOf(type) {
  const head = String(type || "").split(".")[0];
  return ["trigger", "wait", "branch", "action", "goal"].includes(head) ? head : "action";
}

// The output ports of a node, in the order the canvas draws them left to right.
export function portsOf(node, types) {
  const spec = types?.[node.type];
  const config = node.config || {};
  if (node.type === "branch.ab") {
    const names = (config.variants || []).map((v) => v.name).filter(Boolean);
    return names.length ? names : ["a", "b"];
  }
  if (node.type === "branch.multi") {
    return [...(config.branches || []).map((b) => b.name).filter(Boolean), DEFAULT];
  }
  if (spec) return [...spec.ports];
  return [DEFAULT];
}

export function nodeById(graph, id) {
  return graph.nodes.find((n) => n.id === id) || null;
}

export function outgoing(graph, id) {
  return graph.edges.filter((e) => e.source === id);
}

export function incoming(graph, id) {
  return graph.edges.filter((e) => e.target === id);
}

export function target(graph, source, port) {
  const edge = graph.edges.find((e) => e.source === source && (e.port || DEFAULT) === port);
  return edge ? edge.target : null;
}

const PREFIX = {
  "trigger.": "trigger", "wait.": "wait", "branch.ab": "split", "branch.multi": "split",
  "branch.condition": "if", "action.email": "email", "action.sms": "sms", goal: "goal",
};

export function newId(graph, type) {
  const key = Object.keys(PREFIX).find((p) => type === p || type.startsWith(p));
  const base = key ? PREFIX[key] : type.split(".").pop().replace(/[^A-Za-z0-9_]/g, "_");
  const taken = new Set(graph.nodes.map((n) => n.id));
  for (let i = 1; ; i += 1) {
    const id = `${base}_${i}`;
    if (!taken.has(id)) return id;
  }
}

export function defaultConfig(type, types) {
  const given = types?.[type]?.defaults;
  if (given && Object.keys(given).length) return structuredClone(given);
  if (type === "branch.ab") return { variants: [{ name: "a", weight: 50 }, { name: "b", weight: 50 }] };
  if (type === "branch.condition") return { filter: { all: [] } };
  if (type === "wait.duration") return { days: 1 };
  const props = types?.[type]?.schema?.properties || {};
  const config = {};
  for (const [key, prop] of Object.entries(props)) {
    if (prop.default !== undefined) config[key] = prop.default;
  }
  return config;
}

// Insert a new node of `type` on the arm (source, port): what followed the arm now
// follows the new node's first port. With no source, the node becomes the first trigger.
export function insertNode(graph, { source = null, port = DEFAULT, type, id = null, config = null }, types) {
  const nodeId = id || newId(graph, type);
  const node = { id: nodeId, type, config: config ?? defaultConfig(type, types) };
  const nodes = [...graph.nodes, node];
  let edges = graph.edges.map((e) => ({ ...e }));
  if (source === null) {
    // A new trigger: it leads to what the other triggers lead to (or to nothing yet).
    const first = graph.nodes.find((n) => kindOf(n.type) === "trigger");
    const next = first ? target(graph, first.id, DEFAULT) : null;
    if (next) edges.push({ source: nodeId, target: next, port: DEFAULT });
    return { graph: { nodes, edges }, id: nodeId };
  }
  const after = target(graph, source, port);
  edges = edges.filter((e) => !(e.source === source && (e.port || DEFAULT) === port));
  edges.push({ source, target: nodeId, port });
  const ports = portsOf(node, types);
  if (after && ports.length) edges.push({ source: nodeId, target: after, port: ports[0] });
  return { graph: { nodes, edges: sortEdges(edges, { nodes }, types) }, id: nodeId };
}

// Keep edges grouped by source in node order and by port order: the saved JSON reads top
// to bottom like the canvas.
export function sortEdges(edges, graph, types) {
  const order = new Map(graph.nodes.map((n, i) => [n.id, i]));
  const ports = new Map(graph.nodes.map((n) => [n.id, portsOf(n, types)]));
  const portIndex = (e) => {
    const i = ports.get(e.source)?.indexOf(e.port || DEFAULT) ?? -1;
    return i < 0 ? 99 : i;
  };
  return [...edges].sort((a, b) => (order.get(a.source) ?? 1e9) - (order.get(b.source) ?? 1e9) || portIndex(a) - portIndex(b));
}

// The nodes that only `id` leads to: deleting a branch deletes them with it.
export function subtreeOf(graph, id) {
  const triggers = graph.nodes.filter((n) => kindOf(n.type) === "trigger" && n.id !== id).map((n) => n.id);
  const reachableWithout = reach(graph, triggers, id);
  const below = reach(graph, outgoing(graph, id).map((e) => e.target), id);
  return [...below].filter((n) => !reachableWithout.has(n) && n !== id);
}

function reach(graph, starts, blocked) {
  const seen = new Set();
  const stack = starts.filter((s) => s !== blocked);
  while (stack.length) {
    const cur = stack.pop();
    if (seen.has(cur)) continue;
    seen.add(cur);
    for (const e of outgoing(graph, cur)) if (e.target !== blocked && !seen.has(e.target)) stack.push(e.target);
  }
  return seen;
}

// Delete a node. A step with one way out is cut out of the chain (its parent now leads to
// its child); a branch takes the steps only it leads to with it.
export function deleteNode(graph, id, types) {
  const node = nodeById(graph, id);
  if (!node) return graph;
  const ports = portsOf(node, types);
  const isBranch = kindOf(node.type) === "branch" || ports.length > 1;
  const doomed = new Set([id, ...(isBranch ? subtreeOf(graph, id) : [])]);
  const next = !isBranch ? target(graph, id, ports[0] || DEFAULT) : null;
  const nodes = graph.nodes.filter((n) => !doomed.has(n.id));
  const edges = [];
  for (const e of graph.edges) {
    if (doomed.has(e.source)) continue;
    if (e.target === id) {
      if (next && !doomed.has(next) && kindOf(node.type) !== "trigger") edges.push({ ...e, target: next });
      continue;
    }
    if (doomed.has(e.target)) continue;
    edges.push({ ...e });
  }
  return { nodes, edges };
}

// A copy of the node (new id, same configuration) placed right after it.
export function duplicateNode(graph, id, types) {
  const node = nodeById(graph, id);
  if (!node || kindOf(node.type) === "trigger") return { graph, id: null };
  const ports = portsOf(node, types);
  return insertNode(graph, { source: id, port: ports[0] || DEFAULT, type: node.type, config: structuredClone(node.config || {}) }, types);
}

function singleInOut(graph, id, types) {
  const node = nodeById(graph, id);
  if (!node || kindOf(node.type) === "trigger") return false;
  const ports = portsOf(node, types);
  return ports.length === 1 && incoming(graph, id).length === 1;
}

// Can `id` swap places with the step above it? Both must be simple links of one chain.
export function canMoveUp(graph, id, types) {
  if (!singleInOut(graph, id, types)) return false;
  const parent = incoming(graph, id)[0].source;
  return singleInOut(graph, parent, types) && !graph.edges.some((e) => e.source === id && e.target === parent);
}

export function canMoveDown(graph, id, types) {
  const node = nodeById(graph, id);
  if (!node || !singleInOut(graph, id, types)) return false;
  const child = target(graph, id, portsOf(node, types)[0]);
  return child !== null && canMoveUp(graph, child, types);
}

export function moveUp(graph, id, types) {
  if (!canMoveUp(graph, id, types)) return graph;
  const parent = incoming(graph, id)[0].source;
  const parentNode = nodeById(graph, parent);
  const node = nodeById(graph, id);
  const pPort = portsOf(parentNode, types)[0];
  const nPort = portsOf(node, types)[0];
  const into = incoming(graph, parent)[0];
  const after = target(graph, id, nPort);
  const edges = graph.edges.filter((e) => e !== into && !(e.source === parent) && !(e.source === id));
  edges.push({ source: into.source, target: id, port: into.port || DEFAULT });
  edges.push({ source: id, target: parent, port: nPort });
  if (after) edges.push({ source: parent, target: after, port: pPort });
  return { nodes: graph.nodes, edges: sortEdges(edges, graph, types) };
}

export function moveDown(graph, id, types) {
  if (!canMoveDown(graph, id, types)) return graph;
  const node = nodeById(graph, id);
  return moveUp(graph, target(graph, id, portsOf(node, types)[0]), types);
}

export function updateConfig(graph, id, config) {
  return { nodes: graph.nodes.map((n) => (n.id === id ? { ...n, config } : n)), edges: graph.edges };
}

// Changing a branch's ports (renaming or removing an A/B variant) drops the edges of the
// ports that no longer exist, with what only they led to.
export function pruneDanglingPorts(graph, id, types) {
  const node = nodeById(graph, id);
  if (!node) return graph;
  const ports = new Set(portsOf(node, types));
  const gone = graph.edges.filter((e) => e.source === id && !ports.has(e.port || DEFAULT));
  if (!gone.length) return graph;
  let g = { nodes: graph.nodes, edges: graph.edges.filter((e) => !gone.includes(e)) };
  const live = reach(g, g.nodes.filter((n) => kindOf(n.type) === "trigger").map((n) => n.id), null);
  const orphans = new Set();
  for (const e of gone) for (const n of reach(g, [e.target], null)) if (!live.has(n)) orphans.add(n);
  return { nodes: g.nodes.filter((n) => !orphans.has(n.id)), edges: g.edges.filter((e) => !orphans.has(e.source) && !orphans.has(e.target)) };
}

export function changeType(graph, id, type, types) {
  const nodes = graph.nodes.map((n) => (n.id === id ? { ...n, type, config: defaultConfig(type, types) } : n));
  return pruneDanglingPorts({ nodes, edges: graph.edges }, id, types);
}
