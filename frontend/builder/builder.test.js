// Unit tests of the builder's pure parts: graph ⇄ canvas round trips, layout ordering,
// validation, undo/redo. The node types are the server's registry (fixtures/, kept equal
// to it by tests/workflows/test_builder_fixtures.py).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configProblems, conditionWords, summary } from "./describe.js";
import { historyPush, historyRedo, historyStart, historyUndo } from "./history.js";
import { layoutGraph, NODE_H, NODE_W } from "./layout.js";
import {
  canMoveUp, changeType, deleteNode, duplicateNode, insertNode, moveDown, moveUp, normalize, portsOf, pruneDanglingPorts, serialize, subtreeOf, updateConfig,
} from "./model.js";
import { thumbnailSvg } from "./thumbnail.js";
import { mergeProblems, validateGraph } from "./validate.js";

const here = new URL(".", import.meta.url);
const TYPES = Object.fromEntries(JSON.parse(readFileSync(new URL("fixtures/node-types.json", here))).map((t) => [t.type, t]));
const LIBRARY = JSON.parse(readFileSync(new URL("fixtures/library-graphs.json", here)));

function welcome() {
  let g = { nodes: [], edges: [] };
  let r = insertNode(g, { source: null, type: "trigger.event" }, TYPES);
  g = updateConfig(r.graph, r.id, { event: "Signed Up" });
  const trigger = r.id;
  r = insertNode(g, { source: trigger, port: "default", type: "wait.duration" }, TYPES);
  g = r.graph;
  const wait = r.id;
  r = insertNode(g, { source: wait, port: "default", type: "action.email" }, TYPES);
  g = updateConfig(r.graph, r.id, { template: 7 });
  const email = r.id;
  r = insertNode(g, { source: email, port: "default", type: "branch.condition" }, TYPES);
  g = updateConfig(r.graph, r.id, { filter: { all: [{ event: "email.clicked", within_days: 5 }] } });
  return { g, trigger, wait, email, branch: r.id };
}

function overlaps(nodes) {
  for (let i = 0; i < nodes.length; i += 1) {
    for (let j = i + 1; j < nodes.length; j += 1) {
      const a = nodes[i];
      const b = nodes[j];
      if (Math.abs(a.x - b.x) < NODE_W && Math.abs(a.y - b.y) < NODE_H) return [a.id, b.id];
    }
  }
  return null;
}

describe("graph ⇄ canvas round trip", () => {
  it("keeps every library graph identical through normalize → serialize", () => {
    for (const [slug, graph] of Object.entries(LIBRARY)) {
      const back = serialize(normalize(graph));
      expect(back.nodes, slug).toEqual(graph.nodes.map((n) => ({ ...n, config: n.config || {} })));
      expect(back.edges, slug).toEqual(graph.edges.map((e) => (e.port && e.port !== "default" ? e : { source: e.source, target: e.target })));
    }
  });

  it("draws one card per node and one edge per edge, with no stored positions", () => {
    for (const [slug, graph] of Object.entries(LIBRARY)) {
      const g = normalize(graph);
      const layout = layoutGraph(g, TYPES);
      expect(layout.nodes.map((n) => n.id).sort(), slug).toEqual(g.nodes.map((n) => n.id).sort());
      expect(layout.edges.length, slug).toBe(g.edges.length);
      expect(overlaps([...layout.nodes, ...layout.placeholders]), slug).toBeNull();
      expect(serialize(g).nodes.every((n) => !("position" in n))).toBe(true);
    }
  });

  it("is a pure function of the graph: the same graph lays out the same", () => {
    const g = normalize(LIBRARY["abandoned-cart"]);
    expect(layoutGraph(g, TYPES)).toEqual(layoutGraph(structuredClone(g), TYPES));
  });
});

describe("layout", () => {
  it("flows top to bottom", () => {
    const { g, trigger, wait, email } = welcome();
    const pos = Object.fromEntries(layoutGraph(g, TYPES).nodes.map((n) => [n.id, n]));
    expect(pos[trigger].y).toBeLessThan(pos[wait].y);
    expect(pos[wait].y).toBeLessThan(pos[email].y);
  });

  it("puts yes left of no, whatever order the edges were saved in", () => {
    const { g, branch } = welcome();
    let h = insertNode(g, { source: branch, port: "no", type: "action.tag_add" }, TYPES);
    const no = h.id;
    h = insertNode(h.graph, { source: branch, port: "yes", type: "action.exit" }, TYPES);
    const yes = h.id;
    const reversed = { nodes: h.graph.nodes, edges: [...h.graph.edges].reverse() };
    for (const graph of [h.graph, reversed]) {
      const pos = Object.fromEntries(layoutGraph(graph, TYPES).nodes.map((n) => [n.id, n]));
      expect(pos[yes].x).toBeLessThan(pos[no].x);
    }
  });

  it("keeps A, B, C in order and gives each empty arm an add-step placeholder", () => {
    const { g, email } = welcome();
    let r = insertNode(g, { source: email, port: "default", type: "branch.ab" }, TYPES);
    const ab = r.id;
    let graph = updateConfig(r.graph, ab, { variants: [{ name: "a", weight: 40 }, { name: "b", weight: 30 }, { name: "c", weight: 30 }] });
    // What followed the email (the if/else) hangs on arm a; b and c are empty.
    const layout = layoutGraph(graph, TYPES);
    const holders = layout.placeholders.filter((p) => p.source === ab);
    expect(holders.map((p) => p.port)).toEqual(["b", "c"]);
    expect(holders[0].x).toBeLessThan(holders[1].x);
    const a = layout.nodes.find((n) => n.id === layout.edges.find((e) => e.source === ab && e.port === "a").target);
    expect(a.x).toBeLessThan(holders[0].x);
    r = insertNode(graph, { source: ab, port: "c", type: "action.exit" }, TYPES);
    r = insertNode(r.graph, { source: ab, port: "b", type: "action.exit" }, TYPES);
    graph = r.graph;
    const byPort = Object.fromEntries(layoutGraph(graph, TYPES).edges.filter((e) => e.source === ab).map((e) => [e.port, e.target]));
    const pos = Object.fromEntries(layoutGraph(graph, TYPES).nodes.map((n) => [n.id, n.x]));
    expect(pos[byPort.a]).toBeLessThan(pos[byPort.b]);
    expect(pos[byPort.b]).toBeLessThan(pos[byPort.c]);
  });

  it("draws a loop through a wait as a back edge and lays out 200 steps without overlap", () => {
    let g = { nodes: [], edges: [] };
    let r = insertNode(g, { source: null, type: "trigger.event" }, TYPES);
    let last = r.id;
    g = r.graph;
    for (let i = 0; i < 199; i += 1) {
      const type = i % 20 === 5 ? "branch.condition" : i % 2 ? "wait.duration" : "action.tag_add";
      r = insertNode(g, { source: last, port: portsOf(g.nodes.find((n) => n.id === last), TYPES)[0], type }, TYPES);
      g = r.graph;
      last = r.id;
    }
    expect(g.nodes.length).toBe(200);
    const layout = layoutGraph(g, TYPES);
    expect(overlaps([...layout.nodes, ...layout.placeholders])).toBeNull();
    const loop = { nodes: g.nodes, edges: [...g.edges, { source: last, target: g.nodes[2].id, port: "default" }] };
    const back = layoutGraph(loop, TYPES).edges.filter((e) => e.back);
    expect(back.map((e) => e.source)).toEqual([last]);
  });
});

describe("editing", () => {
  it("inserts on an edge: what followed the arm now follows the new step", () => {
    const { g, wait, email } = welcome();
    const r = insertNode(g, { source: wait, port: "default", type: "action.sms" }, TYPES);
    expect(r.graph.edges).toContainEqual({ source: wait, target: r.id, port: "default" });
    expect(r.graph.edges).toContainEqual({ source: r.id, target: email, port: "default" });
    expect(r.graph.edges.filter((e) => e.source === wait)).toHaveLength(1);
  });

  it("deletes a step by joining its parent to its child, and a branch with its subtree", () => {
    const { g, wait, email, trigger, branch } = welcome();
    const cut = deleteNode(g, wait, TYPES);
    expect(cut.edges).toContainEqual({ source: trigger, target: email, port: "default" });
    let r = insertNode(g, { source: branch, port: "yes", type: "action.tag_add" }, TYPES);
    r = insertNode(r.graph, { source: r.id, port: "default", type: "action.exit" }, TYPES);
    expect(subtreeOf(r.graph, branch)).toHaveLength(2);
    const gone = deleteNode(r.graph, branch, TYPES);
    expect(gone.nodes.map((n) => n.id)).toEqual([trigger, wait, email]);
    expect(gone.edges.every((e) => e.target !== branch)).toBe(true);
  });

  it("duplicates after the step and moves steps up and down a chain", () => {
    const { g, wait, email, trigger } = welcome();
    const d = duplicateNode(g, email, TYPES);
    expect(d.graph.nodes.find((n) => n.id === d.id).config).toEqual({ template: 7 });
    expect(canMoveUp(g, wait, TYPES)).toBe(false); // a trigger stays on top
    const up = moveUp(g, email, TYPES);
    expect(up.edges).toContainEqual({ source: trigger, target: email, port: "default" });
    expect(up.edges).toContainEqual({ source: email, target: wait, port: "default" });
    const key = (edges) => edges.map((e) => JSON.stringify(e)).sort();
    expect(key(moveDown(up, email, TYPES).edges)).toEqual(key(g.edges));
  });

  it("drops the arms of removed A/B variants, with the steps only they led to", () => {
    const { g, email } = welcome();
    let r = insertNode(g, { source: email, port: "default", type: "branch.ab" }, TYPES);
    const ab = r.id;
    r = insertNode(r.graph, { source: ab, port: "b", type: "action.exit" }, TYPES);
    const exit = r.id;
    const pruned = pruneDanglingPorts(updateConfig(r.graph, ab, { variants: [{ name: "a", weight: 50 }, { name: "x", weight: 50 }] }), ab, TYPES);
    expect(pruned.nodes.some((n) => n.id === exit)).toBe(false);
  });

  it("changes a trigger's kind with a fresh configuration", () => {
    const { g, trigger } = welcome();
    const c = changeType(g, trigger, "trigger.segment_entered", TYPES);
    expect(c.nodes[0]).toMatchObject({ id: trigger, type: "trigger.segment_entered", config: {} });
  });
});

describe("validation", () => {
  it("finds nothing wrong in a configured welcome series", () => {
    expect(validateGraph(welcome().g, TYPES)).toEqual([]);
  });

  it("reports a missing trigger, unconfigured and unreachable steps, and loops without a wait", () => {
    const { g, email, branch, wait } = welcome();
    const broken = updateConfig(g, email, {});
    const problems = validateGraph(broken, TYPES);
    expect(problems).toContainEqual(expect.objectContaining({ node: email, code: "unconfigured", message: "template: required" }));
    const noTrigger = deleteNode(g, g.nodes[0].id, TYPES);
    const codes = validateGraph(noTrigger, TYPES).map((p) => p.code);
    expect(codes).toContain("no_trigger");
    const orphan = { nodes: [...g.nodes, { id: "lost", type: "action.exit", config: {} }], edges: g.edges };
    expect(validateGraph(orphan, TYPES)).toContainEqual(expect.objectContaining({ node: "lost", code: "unreachable" }));
    const loop = { nodes: g.nodes, edges: [...g.edges, { source: branch, target: email, port: "no" }] };
    expect(validateGraph(loop, TYPES).map((p) => p.code)).toContain("loop_without_wait");
    const throughWait = { nodes: g.nodes, edges: [...g.edges, { source: branch, target: wait, port: "no" }] };
    expect(validateGraph(throughWait, TYPES).map((p) => p.code)).not.toContain("loop_without_wait");
  });

  it("requires A/B weights to add up to 100 and a branch to have a condition", () => {
    const ab = { id: "s", type: "branch.ab", config: { variants: [{ name: "a", weight: 50 }, { name: "b", weight: 40 }] } };
    expect(configProblems(ab, TYPES["branch.ab"])).toContain("weights: must add up to 100 (now 90)");
    const three = [{ name: "a", weight: 34 }, { name: "b", weight: 33 }, { name: "c", weight: 33 }];
    const smart = { id: "s", type: "branch.ab", config: { variants: three, mode: "smart", floor: 40 } };
    expect(configProblems(smart, TYPES["branch.ab"])).toContain("floor: at most 33% for 3 variants");
    expect(configProblems({ ...smart, config: { ...smart.config, floor: 30 } }, TYPES["branch.ab"])).toEqual([]);
    const ifelse = { id: "i", type: "branch.condition", config: { filter: { all: [] } } };
    expect(configProblems(ifelse, TYPES["branch.condition"])).toContain("filter: add at least one condition");
    const wait = { id: "w", type: "wait.duration", config: {} };
    expect(configProblems(wait, TYPES["wait.duration"]).length).toBeGreaterThan(0);
  });

  it("merges the server's errors and warnings without repeating ours", () => {
    const local = [{ node: "a", level: "error", code: "x", message: "m" }];
    const merged = mergeProblems(local, { errors: [{ node: "a", message: "m" }], warnings: [{ node: "t", code: "event_never_received", message: "never received" }] });
    expect(merged).toHaveLength(2);
    expect(merged[1]).toMatchObject({ level: "warning", node: "t" });
  });
});

describe("summaries", () => {
  it("say what a step does in words", () => {
    const lookups = { emailTemplates: { 7: "Welcome" }, segments: { 3: "VIPs" } };
    expect(summary({ type: "action.email", config: { template: 7 } }, lookups)).toBe("Welcome");
    expect(summary({ type: "wait.duration", config: { days: 2 } })).toBe("wait 2 days");
    expect(summary({ type: "branch.ab", config: { variants: [{ name: "a", weight: 50 }, { name: "b", weight: 50 }] } })).toBe("A 50% / B 50%");
    expect(summary({ type: "branch.ab", config: { mode: "smart", variants: [{ name: "a", weight: 50 }, { name: "b", weight: 50 }] } })).toBe("smart: A / B, at least 10% each");
    expect(conditionWords({ all: [{ event: "email.clicked", where: [{ property: "url", op: "contains", value: "pricing" }], within_days: 5 }, { segment: 3 }] }, lookups))
      .toBe("did email.clicked (url contains pricing) in the last 5 days and in segment VIPs");
  });
});

describe("undo/redo", () => {
  it("walks back and forth through snapshots and forgets the future on a new edit", () => {
    const a = { nodes: [], edges: [] };
    const { g: b } = welcome();
    const c = deleteNode(b, b.nodes[1].id, TYPES);
    let h = historyPush(historyPush(historyStart(a), b), c);
    h = historyUndo(h);
    expect(h.present).toBe(b);
    h = historyUndo(h);
    expect(h.present).toBe(a);
    expect(historyUndo(h)).toBe(h);
    h = historyRedo(h);
    expect(h.present).toBe(b);
    h = historyPush(h, c);
    expect(h.future).toEqual([]);
    expect(historyRedo(h)).toBe(h);
  });
});

describe("gallery thumbnail", () => {
  it("draws every node of a library workflow with the canvas's layout", () => {
    const svg = thumbnailSvg(LIBRARY["welcome-series"], TYPES, { label: "Welcome" });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<rect [^>]*rx="14"/g)).toHaveLength(LIBRARY["welcome-series"].nodes.length);
    expect(svg).toContain('aria-label="Welcome"');
  });
});
