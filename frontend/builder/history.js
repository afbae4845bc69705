// Undo/redo as a list of graphs (the edits are pure, so a graph is a complete snapshot).
export const LIMIT = 200;

export function historyStart(present) {
  return { past: [], present, future: [] };
}

export function historyPush(h, next) {
  if (next === h.present) return h;
  const past = [...h.past, h.present];
  return { past: past.length > LIMIT ? past.slice(past.length - LIMIT) : past, present: next, future: [] };
}

export function historyUndo(h) {
  if (!h.past.length) return h;
  return { past: h.past.slice(0, -1), present: h.past[h.past.length - 1], future: [h.present, ...h.future] };
}

export function historyRedo(h) {
  if (!h.future.length) return h;
  return { past: [...h.past, h.present], present: h.future[0], future: h.future.slice(1) };
}
