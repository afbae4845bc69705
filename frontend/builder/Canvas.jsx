// The React Flow canvas: laid out by layout.js (never dragged), one card per step, a "+"
// on every edge and an "add step" button on every empty arm.
import { BaseEdge, Controls, EdgeLabelRenderer, getBezierPath, Handle, Position, ReactFlow, useReactFlow } from "@xyflow/react";
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { whenIdle } from "./api.js";
import { kindLabel } from "./describe.js";
import { GAP_Y, layoutGraph, NODE_H, NODE_W } from "./layout.js";
import { panToShow } from "./viewport.js";
import { DEFAULT, portsOf } from "./model.js";

export const DRAG_TYPE = "application/x-tendril-node-type";

function portLabel(port, nodeType) {
  if (port === DEFAULT) return nodeType === "branch.multi" ? "no match" : "";
  if (nodeType === "branch.ab") return port.toUpperCase();
  return port;
}

function dropProps(onDrop) {
  return {
    onDragOver: (e) => {
      if (e.dataTransfer.types.includes(DRAG_TYPE)) {
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
        e.currentTarget.classList.add("drop-over");
      }
    },
    onDragLeave: (e) => e.currentTarget.classList.remove("drop-over"),
    onDrop: (e) => {
      const type = e.dataTransfer.getData(DRAG_TYPE);
      e.currentTarget.classList.remove("drop-over");
      if (type) {
        e.preventDefault();
        onDrop(type);
      }
    },
  };
}

// Cards re-render only when what they show changes: React Flow also hands a node its
// position, which changes for every step under an insert, but a card does not draw it.
const sameData = (a, b) => a.data === b.data;

// What a card shows apart from its place in the order (an insert above renumbers every
// step below, which changes only the outer element's label): kept when only that changed.
const sameCard = (a, b) => a.node === b.node && a.label === b.label && a.summary === b.summary
  && a.stats === b.stats && a.overlay === b.overlay && String(a.ports) === String(b.ports)
  && sameProblems(a.problems, b.problems);

const CardBody = memo(({ node, label, summary, problems, stats, overlay, ports }) => {
  const notice = problems.length > 0 && !problems.some((p) => p.level === "error");
  return (
    <>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <div className="wb-node-kind">{kindLabel(node.type)} · <span className="wb-node-id">{node.id}</span></div>
      <div className="wb-node-label">{label}</div>
      <div className="wb-node-summary" title={summary}>{summary || <em>Not configured</em>}</div>
      {problems.length > 0 && <span className={`wb-badge${notice ? " notice" : ""}`} title={problems.map((p) => p.message).join("\n")} aria-hidden="true">{notice ? "?" : "!"}</span>}
      {stats && overlay === "stats" && (
        <div className="wb-node-stats" data-testid="node-stats">
          <span title="entered">▶ {stats.entered}</span> <span title="waiting">⏸ {stats.waiting}</span> <span title="completed">✓ {stats.completed}</span>
          {stats.failed ? <span className="bad" title="failed"> ✗ {stats.failed}</span> : null}
          {node.type === "branch.ab" && stats.call && <span className="wb-rates" data-testid="split-short"> · {stats.call}</span>}
          {(node.type === "action.email" || node.type === "action.sms") && <span className="wb-rates"> · sent {stats.sent}{stats.rate_opened != null ? ` · open ${stats.rate_opened}%` : ""}{stats.rate_clicked != null ? ` · click ${stats.rate_clicked}%` : ""}</span>}
        </div>
      )}
      {stats && overlay === "preview" && <div className="wb-node-stats" data-testid="node-preview">would enter: {stats.entered}</div>}
      {ports.map((port, i) => (
        <Handle key={port} id={port} type="source" position={Position.Bottom} isConnectable={false} style={{ left: `${((i + 1) / (ports.length + 1)) * 100}%` }} />
      ))}
    </>
  );
}, sameCard);

const StepNode = memo(({ data }) => {
  const { node, spec, summary, problems, stats, onPath, ports, index, selected, readOnly, overlay } = data;
  const warn = problems.some((p) => p.level === "error");
  const notice = !warn && problems.length > 0;
  const label = spec?.label || node.type;
  const aria = `Step ${index}: ${kindLabel(node.type)} — ${label}${summary ? `, ${summary}` : ""}${problems.length ? `. ${problems.length} ${warn ? "problem" : "warning"}${problems.length > 1 ? "s" : ""}` : ""}${stats ? `. ${stats.entered} entered, ${stats.waiting} waiting` : ""}`;
  return (
    <div
      className={`wb-node k-${node.type.split(".")[0]}${selected ? " selected" : ""}${warn ? " has-warning" : ""}${notice ? " has-notice" : ""}${onPath ? " on-path" : ""}`}
      data-node={node.id}
      data-type={node.type}
      role="button"
      tabIndex={0}
      aria-label={aria}
      aria-pressed={selected}
      style={{ width: NODE_W, height: NODE_H }}
      onFocus={() => data.onSelect(node.id, { focus: false })}
      onKeyDown={(e) => data.onNodeKey(e, node.id)}
      onClick={() => data.onSelect(node.id, { focus: false })}
      {...(readOnly ? {} : dropProps((type) => data.onInsert(node.id, ports[0] || DEFAULT, type)))}
    >
      <CardBody node={node} label={label} summary={summary} problems={problems} stats={stats} overlay={overlay} ports={ports} />
    </div>
  );
}, sameData);

const AddNode = memo(({ data }) => (
  <div className="wb-add" style={{ width: NODE_W }}>
    <Handle type="target" position={Position.Top} isConnectable={false} />
    {data.readOnly ? (
      <span className="wb-end">{data.portLabel ? `${data.portLabel}: ` : ""}end</span>
    ) : (
      <button
        type="button"
        className="btn btn-sm wb-add-btn"
        data-add={`${data.source}:${data.port}`}
        aria-label={`Add a step after ${data.sourceLabel}${data.portLabel ? ` on the ${data.portLabel} arm` : ""}`}
        onClick={() => data.onOpenPicker(data.source, data.port)}
        {...dropProps((type) => data.onInsert(data.source, data.port, type))}
      >
        + Add step
      </button>
    )}
  </div>
), sameData);

function PlusEdge({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, markerEnd }) {
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, sourcePosition, targetX, targetY, targetPosition });
  const toHolder = data.toPlaceholder;
  return (
    <>
      <BaseEdge id={id} path={path} interactionWidth={0} markerEnd={toHolder ? undefined : markerEnd} className={`${data.onPath ? "on-path" : ""}${data.back ? " back" : ""}`} />
      <EdgeLabelRenderer>
        <div className="wb-edge-label nodrag nopan" style={{ transform: `translate(-50%, -50%) translate(${(toHolder ? sourceX : labelX)}px, ${toHolder ? sourceY + 18 : labelY}px)` }}>
          {data.label && <span className="wb-port" data-port={data.port}>{data.label}{data.share != null ? ` · ${data.share}%` : ""}</span>}
          {!toHolder && !data.readOnly && !data.back && (
            <button
              type="button"
              className="wb-plus"
              data-edge={`${data.source}:${data.port}`}
              aria-label={`Insert a step between ${data.sourceLabel} and ${data.targetLabel}`}
              onClick={() => data.onOpenPicker(data.source, data.port)}
              {...dropProps((type) => data.onInsert(data.source, data.port, type))}
            >
              +
            </button>
          )}
        </div>
      </EdgeLabelRenderer>
    </>
  );
}

const nodeTypes = { step: StepNode, add: AddNode };
const edgeTypes = { plus: PlusEdge };

function sameProblems(a, b) {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((p, i) => p.message === b[i].message && p.level === b[i].level);
}

// Reuse last render's node object when nothing it shows changed: React Flow then skips it,
// so an insert into a 200-step workflow re-renders only what moved; a step that only moved
// keeps its data object, so its card (memo on data) is not drawn again.
function reuse(previous, next) {
  if (!previous) return next;
  const a = previous.data;
  const b = next.data;
  const sameShown = a.node === b.node && a.summary === b.summary && a.stats === b.stats && a.overlay === b.overlay
    && a.onPath === b.onPath && a.selected === b.selected && a.readOnly === b.readOnly && a.index === b.index
    && a.spec === b.spec && String(a.ports) === String(b.ports) && sameProblems(a.problems, b.problems)
    && a.source === b.source && a.port === b.port && a.sourceLabel === b.sourceLabel && a.portLabel === b.portLabel;
  if (!sameShown) return next;
  if (previous.position.x === next.position.x && previous.position.y === next.position.y) return previous;
  return { ...next, data: a };
}

export function buildFlow(graph, types, view) {
  const layout = layoutGraph(graph, types, { placeholders: true });
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const labelOf = (id) => types[byId.get(id)?.type]?.label || id;
  const nodes = [];
  layout.nodes.forEach((pos, i) => {
    const node = byId.get(pos.id);
    nodes.push({
      id: node.id,
      type: "step",
      position: { x: pos.x, y: pos.y },
      depth: pos.depth,
      width: NODE_W,
      height: NODE_H,
      draggable: false,
      connectable: false,
      selectable: false,
      data: {
        ...view.handlers,
        node,
        spec: types[node.type],
        index: i + 1,
        ports: portsOf(node, types),
        summary: view.summaries.get(node.id) || "",
        problems: view.problems.get(node.id) || [],
        stats: view.stats?.[node.id] || null,
        overlay: view.overlay,
        onPath: view.path?.has(node.id) || false,
        selected: view.selected === node.id,
        readOnly: view.readOnly,
      },
    });
  });
  for (const h of layout.placeholders) {
    const source = byId.get(h.source);
    nodes.push({
      id: h.id, type: "add", position: { x: h.x, y: h.y }, depth: h.depth, width: NODE_W, height: 40,
      draggable: false, connectable: false, selectable: false,
      data: { ...view.handlers, source: h.source, port: h.port, portLabel: portLabel(h.port, source.type), sourceLabel: `${labelOf(h.source)} (${h.source})`, readOnly: view.readOnly },
    });
  }
  const edges = layout.edges.map((e) => ({
    id: e.id, source: e.source, target: e.target, sourceHandle: e.port, type: "plus",
    data: {
      ...view.handlers, source: e.source, port: e.port, back: e.back, label: portLabel(e.port, byId.get(e.source).type),
      share: view.shares?.[e.id] ?? null,
      sourceLabel: `${labelOf(e.source)} (${e.source})`, targetLabel: `${labelOf(e.target)} (${e.target})`,
      onPath: view.pathEdges?.has(e.id) || false, readOnly: view.readOnly,
    },
    markerEnd: { type: "arrowclosed", color: "#8a94a6" },
  }));
  for (const h of layout.placeholders) {
    const source = byId.get(h.source);
    edges.push({
      id: `${h.source}:${h.port}:hole`, source: h.source, target: h.id, sourceHandle: h.port, type: "plus",
      data: { source: h.source, port: h.port, label: portLabel(h.port, source.type), toPlaceholder: true, readOnly: view.readOnly },
    });
  }
  return { nodes, edges, layout };
}

function FocusOnRequest({ focus, nodes, onMissing }) {
  const flow = useReactFlow();
  const last = useRef(null);
  useEffect(() => {
    if (!focus || focus.seq === last.current) return;
    const n = nodes.find((x) => x.id === focus.id);
    if (!n) { onMissing?.(); return; } // not drawn yet: draw the rest, then come back here
    last.current = focus.seq;
    const pane = document.querySelector(".wb-canvas");
    if (pane && flow.getZoom() >= 0.5) { // readable: move no more than needed
      // The step and the row under it (where its "+ Add step" is): the next thing to do.
      const box = { x: n.position.x, y: n.position.y, width: NODE_W, height: 2 * NODE_H + GAP_Y };
      const moved = panToShow(box, flow.getViewport(), { width: pane.clientWidth, height: pane.clientHeight });
      if (moved) flow.setViewport(moved, { duration: 0 });
    } else { // zoomed far out: centre it at a readable zoom
      flow.setCenter(n.position.x + NODE_W / 2, n.position.y + NODE_H / 2, { zoom: Math.max(flow.getZoom(), 0.8), duration: 0 });
    }
    requestAnimationFrame(() => document.querySelector(`.wb-node[data-node="${CSS.escape(focus.id)}"]`)?.focus({ preventScroll: true }));
  }, [focus, flow, nodes, onMissing]);
  return null;
}

// A workflow taller than the screen opens at a readable zoom on its trigger (the top),
// not shrunk to fit: where contacts enter is where a marketer starts reading.
const OPEN_ZOOM = 0.8;
const isTall = (height, paneHeight) => height * 0.6 > paneHeight;

function openView(instance, nodes, height) {
  const pane = document.querySelector(".wb-canvas");
  if (!pane || !isTall(height, pane.clientHeight || 800)) {
    instance.fitView({ maxZoom: 1, padding: 0.15 });
    return;
  }
  const first = nodes.find((n) => n.type === "step") || nodes[0];
  instance.setViewport({ x: pane.clientWidth / 2 - (first.position.x + NODE_W / 2) * OPEN_ZOOM, y: 24 - first.position.y * OPEN_ZOOM, zoom: OPEN_ZOOM });
}

// Progressive mount: a tall workflow opens on its top rows, so those are drawn first and the
// rows below are added a slice at a time when the browser is idle (each slice a short task,
// so a click or a key is answered first). Once every slice is in, the canvas is the whole
// graph again; a focus request for a step not drawn yet draws the rest at once.
const SLICE = 25; // steps per slice
const ALL = Infinity;

function firstRows(layout) {
  const screen = window.innerHeight || 800; // the canvas is never taller than the window
  if (!isTall(layout.height, screen)) return ALL;
  return Math.ceil(screen / OPEN_ZOOM / (NODE_H + GAP_Y)) + 1;
}

function nextLimit(nodes, limit) {
  const deeper = nodes.filter((n) => n.depth > limit).map((n) => n.depth).sort((a, b) => a - b);
  return deeper.length > SLICE ? deeper[SLICE - 1] : ALL;
}

export function Canvas({ graph, types, view, focus, onInit }) {
  const last = useRef(new Map());
  const built = useMemo(() => {
    const full = buildFlow(graph, types, view);
    const nodes = full.nodes.map((n) => reuse(last.current.get(n.id), n));
    const edges = full.edges.map((e) => {
      const before = last.current.get(`edge:${e.id}`);
      const same = before && before.target === e.target && Object.keys(e.data).every((k) => before.data[k] === e.data[k]);
      return same ? before : e;
    });
    last.current = new Map([...nodes.map((n) => [n.id, n]), ...edges.map((e) => [`edge:${e.id}`, e])]);
    return { ...full, nodes, edges };
  }, [graph, types, view]);
  const [limit, setLimit] = useState(() => firstRows(built.layout));
  const flow = useMemo(() => {
    if (limit === ALL) return built;
    const nodes = built.nodes.filter((n) => n.depth <= limit);
    const shown = new Set(nodes.map((n) => n.id));
    return { ...built, nodes, edges: built.edges.filter((e) => shown.has(e.source) && shown.has(e.target)) };
  }, [built, limit]);
  useEffect(() => {
    if (limit === ALL) return undefined;
    return whenIdle(() => setLimit((l) => (l === ALL ? l : nextLimit(built.nodes, l))));
  }, [limit, built]);
  const mountAll = useCallback(() => setLimit(ALL), []);
  const handleInit = useCallback((instance) => {
    openView(instance, built.nodes, built.layout.height);
    onInit?.(instance);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps -- the view it opens on is the first one
  return (
    <ReactFlow
      nodes={flow.nodes}
      edges={flow.edges}
      nodeTypes={nodeTypes}
      edgeTypes={edgeTypes}
      minZoom={0.1}
      maxZoom={2}
      nodesDraggable={false}
      nodesConnectable={false}
      nodesFocusable={false}
      edgesFocusable={false}
      elementsSelectable={false}
      deleteKeyCode={null}
      selectionKeyCode={null}
      multiSelectionKeyCode={null}
      zoomActivationKeyCode={null}
      panOnScroll
      proOptions={{ hideAttribution: true }}
      onInit={handleInit}
      ariaLabelConfig={{ "controls.ariaLabel": "Zoom controls" }}
    >
      <Controls showInteractive={false} />
      <FocusOnRequest focus={focus} nodes={flow.nodes} onMissing={limit === ALL ? null : mountAll} />
    </ReactFlow>
  );
}
