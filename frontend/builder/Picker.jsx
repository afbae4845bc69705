// The searchable step picker, grouped as triggers, waits, branches, actions (and goals).
// Type to filter, ↑/↓ to move, Enter inserts, Esc closes. Items can also be dragged onto
// an edge or an "add step" button.
import { useEffect, useMemo, useRef, useState } from "react";
import { DRAG_TYPE } from "./Canvas.jsx";

export const GROUPS = [["trigger", "Triggers"], ["wait", "Waits"], ["branch", "Branches"], ["action", "Actions"], ["goal", "Goals"]];

export function filterTypes(types, query, kinds) {
  const q = query.trim().toLowerCase();
  return Object.values(types).filter((t) => kinds.includes(t.kind) && (!q || `${t.label} ${t.type} ${t.description}`.toLowerCase().includes(q)));
}

export function Picker({ types, kinds, title, onPick, onClose }) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const input = useRef(null);
  const items = useMemo(() => filterTypes(types, query, kinds), [types, query, kinds]);
  useEffect(() => input.current?.focus(), []);
  useEffect(() => setActive(0), [query]);
  const onKey = (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); setActive((a) => Math.min(items.length - 1, a + 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); setActive((a) => Math.max(0, a - 1)); }
    else if (e.key === "Enter") { e.preventDefault(); if (items[active]) onPick(items[active].type); }
    else if (e.key === "Escape") { e.preventDefault(); onClose(); }
  };
  let n = -1;
  return (
    <div className="wb-modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="wb-picker" role="dialog" aria-modal="true" aria-label={title}>
        <div className="wb-picker-head">
          <h2>{title}</h2>
          <button type="button" className="btn btn-sm" onClick={onClose} aria-label="Close the picker">Esc</button>
        </div>
        <input
          ref={input}
          className="input"
          role="combobox"
          aria-expanded="true"
          aria-controls="wb-picker-list"
          aria-activedescendant={items[active] ? `pick-${items[active].type}` : undefined}
          aria-label="Search steps"
          placeholder="Search: email, wait, if/else…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={onKey}
        />
        <div id="wb-picker-list" role="listbox" aria-label="Steps">
          {GROUPS.filter(([k]) => kinds.includes(k)).map(([kind, label]) => {
            const group = items.filter((t) => t.kind === kind);
            if (!group.length) return null;
            return (
              <div key={kind} role="group" aria-label={label} className="wb-picker-group">
                <h3>{label}</h3>
                {group.map((t) => {
                  n += 1;
                  const i = n;
                  return (
                    <div
                      key={t.type}
                      id={`pick-${t.type}`}
                      role="option"
                      aria-selected={i === active}
                      className={`wb-pick${i === active ? " active" : ""}`}
                      data-type={t.type}
                      onMouseEnter={() => setActive(i)}
                      onClick={() => onPick(t.type)}
                    >
                      <strong>{t.label}</strong>
                      <span className="muted small">{t.description}</span>
                    </div>
                  );
                })}
              </div>
            );
          })}
          {!items.length && <p className="muted">Nothing matches “{query}”.</p>}
        </div>
      </div>
    </div>
  );
}

// The palette beside the canvas: drag an item onto an edge or an "add step" button.
export function Palette({ types }) {
  const [query, setQuery] = useState("");
  const items = filterTypes(types, query, ["wait", "branch", "action", "goal"]);
  return (
    <aside className="wb-palette" aria-label="Steps palette">
      <h2>Steps</h2>
      <input className="input" aria-label="Filter the palette" placeholder="Filter…" value={query} onChange={(e) => setQuery(e.target.value)} />
      {GROUPS.slice(1).map(([kind, label]) => {
        const group = items.filter((t) => t.kind === kind);
        if (!group.length) return null;
        return (
          <div key={kind}>
            <h3>{label}</h3>
            <ul>
              {group.map((t) => (
                <li key={t.type}>
                  <span
                    className={`wb-palette-item k-${kind}`}
                    draggable="true"
                    data-palette={t.type}
                    title={`${t.description} Drag onto an edge or an “add step” button.`}
                    onDragStart={(e) => { e.dataTransfer.setData(DRAG_TYPE, t.type); e.dataTransfer.effectAllowed = "copy"; }}
                  >
                    {t.label}
                  </span>
                </li>
              ))}
            </ul>
          </div>
        );
      })}
      <p className="muted small">Drag a step onto a <strong>+</strong> or an “add step” button. Keyboard: select a step and press Tab.</p>
    </aside>
  );
}
