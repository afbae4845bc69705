// The checks the server makes on publish, run in the browser as the marketer edits, so
// problems show on the canvas at once: missing trigger, unconfigured nodes, unreachable
// nodes, loops without a wait. (References to templates/segments and the warnings — an
// event never received, a segment of 0 contacts — come from the server's validation.)
import { configProblems } from "./describe.js";
import { kindOf, portsOf } from "./model.js";

export function validateGraph(graph, types) {
  const problems = [];
  const ids = new Set(graph.nodes.map((n) => n.id));
  const triggers = graph.nodes.filter((n) => kindOf(n.type) === "trigger");
  if (!triggers.length) problems.push({ node: null, level: "error", code: "no_trigger", message: "The workflow needs a trigger: add one at the top." });
  for (const node of graph.nodes) {
    for (const message of configProblems(node, types[node.type])) {
      problems.push({ node: node.id, level: "error", code: "unconfigured", message });
    }
    const ports = new Set(portsOf(node, types));
    for (const e of graph.edges.filter((x) => x.source === node.id)) {
      if (!ports.has(e.port || "default")) problems.push({ node: node.id, level: "error", code: "unknown_port", message: `has no way out called “${e.port}”` });
    }
  }
  if (triggers.length) {
    const seen = new Set();
    const stack = triggers.map((t) => t.id);
    while (stack.length) {
      const id = stack.pop();
      if (seen.has(id)) continue;
      seen.add(id);
      for (const e of graph.edges) if (e.source === id && ids.has(e.target)) stack.push(e.target);
    }
    for (const node of graph.nodes) {
      if (!seen.has(node.id)) problems.push({ node: node.id, level: "error", code: "unreachable", message: "cannot be reached from the trigger" });
    }
  }
  for (const cycle of cyclesWithoutWait(graph)) {
    problems.push({ node: cycle[0], level: "error", code: "loop_without_wait", message: `is on a loop without a wait (${cycle.join(" → ")})` });
  }
  return problems;
}

// Strongly connected components (Tarjan, iterative); a loop must pass through a wait.
function cyclesWithoutWait(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const out = new Map(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) if (out.has(e.source) && out.has(e.target)) out.get(e.source).push(e.target);
  const type = new Map(graph.nodes.map((n) => [n.id, n.type]));
  const found = [];
  let counter = 0;
  for (const start of graph.nodes.map((n) => n.id)) {
    if (index.has(start)) continue;
    const work = [[start, 0]];
    index.set(start, counter); low.set(start, counter); counter += 1;
    stack.push(start); onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      const [v] = frame;
      const next = out.get(v);
      if (frame[1] < next.length) {
        const w = next[frame[1]++];
        if (!index.has(w)) {
          index.set(w, counter); low.set(w, counter); counter += 1;
          stack.push(w); onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === index.get(v)) {
        const component = [];
        let w;
        do { w = stack.pop(); onStack.delete(w); component.push(w); } while (w !== v);
        const loops = component.length > 1 || out.get(v).includes(v);
        if (loops && !component.some((id) => kindOf(type.get(id)) === "wait")) found.push(component.reverse());
      }
    }
  }
  return found;
}

export function problemsByNode(problems) {
  const map = new Map();
  for (const p of problems) {
    if (!p.node) continue;
    if (!map.has(p.node)) map.set(p.node, []);
    map.get(p.node).push(p);
  }
  return map;
}

// Merge the server's answer ({errors, warnings} of {node, code, message}) with ours,
// without showing the same message twice.
// The server's codes that the browser checks itself (its words for them would repeat ours).
const SHARED = new Set(["no_trigger", "unconfigured", "unreachable", "loop_without_wait", "unknown_port", "weights_sum"]);

export function mergeProblems(local, server) {
  const all = [...local];
  const key = (p) => `${p.node}|${p.message}`;
  const seen = new Set(all.map(key));
  const localNodes = new Set(local.map((p) => p.node));
  for (const [level, list] of [["error", server?.errors || []], ["warning", server?.warnings || []]]) {
    for (const p of list) {
      const item = { node: p.node ?? null, level, code: p.code || level, message: p.message };
      // A check the browser makes itself, on a step it already flags: ours says it.
      if (SHARED.has(item.code) && localNodes.has(item.node)) continue;
      if (!seen.has(key(item))) { seen.add(key(item)); all.push(item); }
    }
  }
  return all;
}
