// The block email document (version 1, see docs/messaging.md): pure operations, each returning
// a new document (the undo history keeps snapshots). Blocks are addressed by id wherever they
// are: at the top level or inside a column of a columns block.

export const BLOCK_TYPES = [
  { type: "heading", label: "Heading" },
  { type: "text", label: "Text" },
  { type: "image", label: "Image" },
  { type: "button", label: "Button" },
  { type: "columns", label: "Columns" },
  { type: "divider", label: "Divider" },
  { type: "spacer", label: "Spacer" },
  { type: "social", label: "Social links" },
  { type: "html", label: "HTML" },
  { type: "products", label: "Products" },
  { type: "footer", label: "Footer" },
];
export const TYPE_LABELS = Object.fromEntries(BLOCK_TYPES.map((t) => [t.type, t.label]));
export const INNER_TYPES = BLOCK_TYPES.map((t) => t.type).filter((t) => t !== "columns" && t !== "footer");
export const NETWORKS = ["facebook", "x", "instagram", "linkedin", "youtube", "tiktok", "website"];

let counter = 0;
export function newId() {
  counter += 1;
  return `b${Date.now().toString(36).slice(-5)}${counter.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
}

export function emptyDocument() {
  return { version: 1, settings: { width: 600 }, blocks: [] };
}

export function newBlock(type) {
  const id = newId();
  switch (type) {
    case "heading": return { id, type, text: "Your headline", level: 1 };
    case "text": return { id, type, html: "<p>Write something…</p>" };
    case "image": return { id, type, src: "", alt: "" };
    case "button": return { id, type, text: "Shop now", href: "https://" };
    case "columns": return { id, type, columns: [{ blocks: [] }, { blocks: [] }] };
    case "divider": return { id, type, thickness: 1 };
    case "spacer": return { id, type, height: 24 };
    case "social": return { id, type, links: [{ network: "facebook", href: "https://facebook.com/" }] };
    case "html": return { id, type, html: "<p>HTML</p>" };
    case "products": return { id, type, title: "Picked for you", count: 3, per_row: 3, button_text: "Shop now" };
    case "footer": return { id, type, text: "" };
    default: throw new Error(`unknown block type ${type}`);
  }
}

// A copy of a block (a saved one, a duplicate) with fresh ids all the way down.
export function withFreshIds(block) {
  const copy = { ...structuredCloneSafe(block), id: newId() };
  if (copy.type === "columns") copy.columns = copy.columns.map((c) => ({ ...c, blocks: c.blocks.map(withFreshIds) }));
  return copy;
}

function structuredCloneSafe(v) {
  return JSON.parse(JSON.stringify(v));
}

// --- finding -------------------------------------------------------------------------------
// Where a block lives: {list, index, parentId, column} (parentId null: the top level).
export function locate(doc, id) {
  const top = doc.blocks.findIndex((b) => b.id === id);
  if (top >= 0) return { list: doc.blocks, index: top, parentId: null, column: null };
  for (const b of doc.blocks) {
    if (b.type !== "columns") continue;
    for (let c = 0; c < b.columns.length; c += 1) {
      const i = b.columns[c].blocks.findIndex((x) => x.id === id);
      if (i >= 0) return { list: b.columns[c].blocks, index: i, parentId: b.id, column: c };
    }
  }
  return null;
}

export function findBlock(doc, id) {
  const where = locate(doc, id);
  return where ? where.list[where.index] : null;
}

// Replace the list a block lives in (top level or a column) by fn(list).
function editList(doc, parentId, column, fn) {
  if (parentId == null) return { ...doc, blocks: fn(doc.blocks) };
  return {
    ...doc,
    blocks: doc.blocks.map((b) => (b.id !== parentId ? b : {
      ...b, columns: b.columns.map((c, i) => (i === column ? { ...c, blocks: fn(c.blocks) } : c)),
    })),
  };
}

// --- editing -------------------------------------------------------------------------------
// Insert `block` into the top level (parentId null) or a column, at `index` (default: the end).
export function insertBlock(doc, block, { parentId = null, column = 0, index } = {}) {
  if (parentId != null && (block.type === "columns" || block.type === "footer")) {
    throw new Error(`a ${TYPE_LABELS[block.type].toLowerCase()} block cannot go inside columns`);
  }
  return editList(doc, parentId, column, (list) => {
    const at = index == null ? list.length : Math.max(0, Math.min(index, list.length));
    return [...list.slice(0, at), block, ...list.slice(at)];
  });
}

// Add a new block of `type` after the block `afterId` (or at the end). Returns [doc, id].
export function addBlock(doc, type, { afterId = null, parentId = null, column = 0 } = {}, block = newBlock(type)) {
  if (afterId) {
    const where = locate(doc, afterId);
    if (where) return [insertBlock(doc, block, { parentId: where.parentId, column: where.column, index: where.index + 1 }), block.id];
  }
  // A new block goes above the footer, which stays last.
  let index;
  if (parentId == null) {
    const footer = doc.blocks.findIndex((b) => b.type === "footer");
    if (footer >= 0 && type !== "footer") index = footer;
  }
  return [insertBlock(doc, block, { parentId, column, index }), block.id];
}

export function updateBlock(doc, id, patch) {
  const where = locate(doc, id);
  if (!where) return doc;
  return editList(doc, where.parentId, where.column, (list) => list.map((b) => (b.id === id ? { ...b, ...patch } : b)));
}

export function updateStyle(doc, id, patch) {
  const block = findBlock(doc, id);
  if (!block) return doc;
  const style = { ...(block.style || {}), ...patch };
  for (const [k, v] of Object.entries(style)) if (v === undefined || v === null || v === "") delete style[k];
  return updateBlock(doc, id, { style });
}

export function removeBlock(doc, id) {
  const where = locate(doc, id);
  if (!where) return doc;
  return editList(doc, where.parentId, where.column, (list) => list.filter((b) => b.id !== id));
}

export function duplicateBlock(doc, id, copy = null) {
  const where = locate(doc, id);
  if (!where) return [doc, null];
  copy = copy || withFreshIds(where.list[where.index]);
  return [insertBlock(doc, copy, { parentId: where.parentId, column: where.column, index: where.index + 1 }), copy.id];
}

// Move a block up (-1) or down (+1) within its list.
export function moveBlock(doc, id, delta) {
  const where = locate(doc, id);
  if (!where) return doc;
  const to = where.index + delta;
  if (to < 0 || to >= where.list.length) return doc;
  return editList(doc, where.parentId, where.column, (list) => {
    const next = [...list];
    const [b] = next.splice(where.index, 1);
    next.splice(to, 0, b);
    return next;
  });
}

// Drag and drop: put block `id` just before block `beforeId` (null: at the end of the list
// `beforeId`'s list, or of the given parent/column). Moving into a column obeys the nesting rule.
export function moveBlockTo(doc, id, { beforeId = null, parentId = null, column = 0 } = {}) {
  if (id === beforeId) return doc;
  const block = findBlock(doc, id);
  if (!block) return doc;
  let target = { parentId, column, index: undefined };
  if (beforeId) {
    const w = locate(doc, beforeId);
    if (!w) return doc;
    target = { parentId: w.parentId, column: w.column };
  }
  if (target.parentId === id) return doc; // into itself
  if (target.parentId != null && (block.type === "columns" || block.type === "footer")) return doc;
  const without = removeBlock(doc, id);
  if (beforeId) target.index = locate(without, beforeId).index;
  return insertBlock(without, block, target);
}

// 2 or 3 columns; going from 3 to 2 moves the last column's blocks into the second.
export function setColumnCount(doc, id, count) {
  const block = findBlock(doc, id);
  if (!block || block.type !== "columns" || count < 2 || count > 3) return doc;
  let columns = block.columns;
  if (count > columns.length) columns = [...columns, ...Array.from({ length: count - columns.length }, () => ({ blocks: [] }))];
  else if (count < columns.length) {
    const spill = columns.slice(count).flatMap((c) => c.blocks);
    columns = columns.slice(0, count).map((c, i) => (i === count - 1 ? { ...c, blocks: [...c.blocks, ...spill] } : c));
  }
  return updateBlock(doc, id, { columns });
}

export function setCondition(doc, id, condition) {
  const where = locate(doc, id);
  if (!where || where.parentId != null) return doc; // only top-level blocks are dynamic
  if (!condition) {
    const { condition: _drop, ...rest } = findBlock(doc, id);
    return editList(doc, null, null, (list) => list.map((b) => (b.id === id ? rest : b)));
  }
  return updateBlock(doc, id, { condition });
}

// --- checks the editor can make itself (the server checks everything again) ----------------
export function localProblems(doc) {
  const problems = [];
  const footers = doc.blocks.filter((b) => b.type === "footer").length;
  if (footers === 0) problems.push({ message: "Add a footer block: it carries your postal address and the unsubscribe link." });
  if (footers > 1) problems.push({ message: "Keep only one footer block." });
  const visit = (list) => list.forEach((b) => {
    if (b.type === "image" && !String(b.alt || "").trim()) problems.push({ id: b.id, message: "An image needs alt text." });
    if (b.type === "image" && !b.src) problems.push({ id: b.id, message: "Choose an image to upload." });
    if (b.type === "columns") b.columns.forEach((c) => visit(c.blocks));
  });
  visit(doc.blocks);
  return problems;
}

// --- merge tags ----------------------------------------------------------------------------
// The Jinja for a merge tag with a fallback: {{ first_name | default("there") }}.
export function mergeTag(expr, fallback) {
  const bare = String(expr).replace(/^\{\{\s*|\s*\}\}$/g, "").replace(/\s*\|\s*default\((?:"[^"]*"|'[^']*')\)\s*$/, "").trim();
  if (fallback == null) return `{{ ${bare} }}`;
  const safe = String(fallback).replace(/["\\{}]/g, "");
  return `{{ ${bare} | default("${safe}") }}`;
}

// The fallback a tag already carries (the default a menu entry suggests), else "".
export function tagFallback(tag) {
  const m = String(tag).match(/default\((?:"([^"]*)"|'([^']*)')\)/);
  return m ? (m[1] ?? m[2] ?? "") : "";
}

// Put `text` into `value` in place of the selection [start, end) (a text input's caret).
export function insertAt(value, text, start, end = start) {
  const s = value ?? "";
  const a = Math.max(0, Math.min(start ?? s.length, s.length));
  const b = Math.max(a, Math.min(end ?? a, s.length));
  return { value: s.slice(0, a) + text + s.slice(b), caret: a + text.length };
}

// Count blocks (all levels): for the announcement after edits and for tests.
export function countBlocks(doc) {
  return doc.blocks.reduce((n, b) => n + 1 + (b.type === "columns" ? b.columns.reduce((m, c) => m + c.blocks.length, 0) : 0), 0);
}

// A new block document starts with a heading, a text and the required footer.
export function starterDocument() {
  const doc = emptyDocument();
  doc.blocks = [
    { ...newBlock("heading"), text: 'Hello {{ first_name | default("there") }}' },
    newBlock("text"),
    newBlock("footer"),
  ];
  return doc;
}

// The block a server error's JSON path names ("blocks[2].columns[0].blocks[1].alt" → its id).
export function blockIdAtPath(doc, path) {
  const m = String(path).match(/^(?:document\.)?blocks\[(\d+)\](?:\.columns\[(\d+)\]\.blocks\[(\d+)\])?/);
  if (!m) return null;
  const top = doc.blocks[Number(m[1])];
  if (!top) return null;
  if (m[2] == null) return top.id;
  return top.columns?.[Number(m[2])]?.blocks?.[Number(m[3])]?.id ?? top.id;
}

// Server errors ({path: message}) grouped by block id; the rest under "".
export function errorsByBlock(doc, errors) {
  const out = {};
  for (const [path, message] of Object.entries(errors || {})) {
    const id = blockIdAtPath(doc, path) || "";
    const text = Array.isArray(message) ? message.join(" ") : String(message);
    const bare = text.startsWith(`${path}:`) ? text.slice(path.length + 1).trim() : text;
    (out[id] ||= []).push(id ? bare : `${path}: ${bare}`);
  }
  return out;
}
