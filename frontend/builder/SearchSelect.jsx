// A searchable picker (ARIA combobox + listbox): type to filter, arrows to move, Enter to
// choose, Escape to close. For lists of things the workspace has (static lists, people).
import { useId, useMemo, useState } from "react";
import { searchOptions } from "./search.js";

export function SearchSelect({ id, label, options, value, onChange, placeholder = "Search…", none, help }) {
  const [query, setQuery] = useState(null); // null: not searching, the chosen label is shown
  const [active, setActive] = useState(0);
  const listId = useId();
  const chosen = options.find((o) => String(o.value) === String(value));
  const open = query !== null;
  const matches = useMemo(() => (open ? searchOptions(options, query, 20) : []), [open, options, query]);
  const choose = (option) => { onChange(option ? option.value : undefined); setQuery(null); };
  const onKeyDown = (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); if (!open) setQuery(""); setActive((a) => Math.min(a + 1, matches.length - 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); setActive((a) => Math.max(a - 1, 0)); }
    else if (e.key === "Enter" && open) { e.preventDefault(); if (matches[active]) choose(matches[active]); }
    else if (e.key === "Escape" && open) { e.preventDefault(); e.stopPropagation(); setQuery(null); }
  };
  const missing = value !== undefined && value !== null && value !== "" && !chosen;
  return (
    <div className="cfg-search">
      <label htmlFor={id}>{label}</label>
      <div className="row-inline">
        <input
          id={id} className="input" role="combobox" autoComplete="off" aria-autocomplete="list"
          aria-expanded={open && matches.length > 0} aria-controls={listId}
          aria-activedescendant={open && matches[active] ? `${listId}-${active}` : undefined}
          placeholder={chosen ? chosen.label : placeholder}
          value={open ? query : chosen ? chosen.label : missing ? `#${value}` : ""}
          onFocus={() => setQuery((q) => (q === null ? "" : q))}
          onChange={(e) => { setQuery(e.target.value); setActive(0); }}
          onBlur={() => setTimeout(() => setQuery(null), 150)}
          onKeyDown={onKeyDown}
        />
        {(chosen || missing) && none && <button type="button" className="btn btn-sm" onClick={() => choose(null)}>Clear</button>}
      </div>
      {open && (
        <ul id={listId} role="listbox" className="cfg-options" aria-label={`${label}: matches`}>
          {matches.map((o, i) => (
            <li key={o.value} id={`${listId}-${i}`} role="option" aria-selected={i === active} className={i === active ? "active" : ""}
              onMouseDown={(e) => { e.preventDefault(); choose(o); }}>
              {o.label}{o.detail ? <span className="muted small"> {o.detail}</span> : null}
            </li>
          ))}
          {!matches.length && <li className="muted small" role="presentation">{options.length ? "Nothing matches." : "None in this workspace yet."}</li>}
        </ul>
      )}
      {missing && <small className="error">#{value} no longer exists in this workspace: choose another.</small>}
      {!chosen && !missing && none && <small className="muted">Empty: {none}</small>}
      {help && <small className="muted">{help}</small>}
    </div>
  );
}
