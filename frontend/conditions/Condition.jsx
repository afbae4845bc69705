// The one condition editor (DESIGN.md's segment filter format): groups `all` / `any` /
// `not` of `field`, `tag`, `event` and `segment` conditions. Never a JSON box. The workflow
// canvas (branches, goals, trigger filters), the segments page, scoring rules and the email
// editor all use it; `errors` (JSON path → message, as the server names them) are shown next
// to the condition they name.
import {
  COUNT_OPS, COUNT_WORDS, fieldSpec, leafProblems, OP_WORDS, opsForField, parseValue, PRESENCE_OPS, PROPERTY_OPS, showValue, valueKind, withOp,
} from "./conditions.js";
import { errorsAt, joinPath, unplacedErrors } from "./paths.js";

function kindOfCondition(c) {
  if (c.all || c.any) return "group";
  if (c.not) return "not";
  if (c.event !== undefined) return "event";
  if (c.tag !== undefined) return "tag";
  if (c.segment !== undefined) return "segment";
  return "field";
}

// What is wrong with this one condition, in words, next to it: what the editor sees itself,
// then what the server said about it (unless it says the same).
function Problems({ value, catalog, ctx, path }) {
  const problems = value === null ? [] : leafProblems(value, catalog);
  const server = ctx?.errors ? errorsAt(ctx.errors, ctx.tree, path) : [];
  const all = [...new Set([...problems, ...server])];
  if (!all.length) return null;
  return (
    <div className="cb-errors" data-path={path} role="alert">
      {all.map((p) => <small key={p} className="cb-error">{p}</small>)}
    </div>
  );
}

// The value input(s) an operator needs: none, a number of days, a list, a range, a date…
function ValueInput({ op, type, value, onChange, label = "Value", choices }) {
  const kind = valueKind(op, type);
  if (kind === "none") return null;
  if (kind === "days") {
    return <><input className="input num" type="number" min="0" step="1" aria-label={`${label} (days)`} value={value ?? ""} onChange={(e) => onChange(parseValue(e.target.value, op, type))} /> days</>;
  }
  if (kind === "between" || kind === "between-dates") {
    const [from, to] = Array.isArray(value) ? value : ["", ""];
    const inputType = kind === "between" ? "number" : "date";
    const set = (i, text) => onChange([0, 1].map((j) => (j === i ? (kind === "between" && text !== "" ? Number(text) : text) : [from, to][j])));
    return (
      <>
        <input className="input" type={inputType} aria-label={`${label} from`} value={from ?? ""} onChange={(e) => set(0, e.target.value)} /> and
        <input className="input" type={inputType} aria-label={`${label} to`} value={to ?? ""} onChange={(e) => set(1, e.target.value)} />
      </>
    );
  }
  if (kind === "date") return <input className="input" type="date" aria-label={label} value={String(value ?? "").slice(0, 10)} onChange={(e) => onChange(e.target.value)} />;
  if (choices?.length && kind !== "list") {
    return (
      <select className="input" aria-label={label} value={value ?? ""} onChange={(e) => onChange(e.target.value)}>
        <option value="">Choose…</option>
        {choices.map((c) => <option key={c} value={c}>{c}</option>)}
      </select>
    );
  }
  return (
    <input className="input" aria-label={label} type={kind === "number" ? "number" : "text"} step="any"
      placeholder={kind === "list" ? (choices?.length ? choices.slice(0, 3).join(", ") : "a, b, c") : "value"}
      value={showValue(value)} onChange={(e) => onChange(parseValue(e.target.value, op, type))} />
  );
}

const BLANK = {
  field: () => ({ field: "", op: "eq", value: "" }),
  tag: () => ({ tag: "" }),
  event: () => ({ event: "", within_days: 30 }),
  segment: () => ({ segment: "" }),
  group: () => ({ any: [] }),
  not: () => ({ not: { field: "", op: "eq", value: "" } }),
};

// errors: the server's messages by JSON path ({"all[0].value": "must be a number"});
// sinceEntry: offer "since entering the workflow" as an event's window (workflow steps only).
export function ConditionEditor({ value, onChange, lookups, idPrefix, label = "Conditions", errors, sinceEntry = false }) {
  const filter = value && (value.all || value.any) ? value : { all: value ? [value] : [] };
  const ctx = { errors, tree: filter, sinceEntry };
  const unplaced = errors ? unplacedErrors(errors, filter) : [];
  return (
    <fieldset className="cb-root">
      <legend>{label}</legend>
      {unplaced.length > 0 && <div className="cb-errors" role="alert">{unplaced.map((m) => <small key={m} className="cb-error">{m}</small>)}</div>}
      <Group value={filter} onChange={onChange} lookups={lookups} idPrefix={idPrefix} depth={0} ctx={ctx} path="" />
    </fieldset>
  );
}

// One event and its property conditions (a behavioural scoring rule): {event, where}.
export function EventEditor({ value, onChange, errors, label = "The event" }) {
  const v = value || { event: "", where: [] };
  const ctx = { errors, tree: v };
  return (
    <fieldset className="cb-root cb-event-only">
      <legend>{label}</legend>
      <label className="cb-row">Did
        <input className="input" list="tendril-events" aria-label="Event name" placeholder="event name" value={v.event || ""} onChange={(e) => onChange({ ...v, event: e.target.value })} />
      </label>
      <WhereEditor value={v.where} onChange={(where) => onChange({ ...v, where })} label="With properties" />
      <Problems value={{ event: v.event || "" }} catalog={[]} ctx={ctx} path="" />
    </fieldset>
  );
}

function Group({ value, onChange, lookups, idPrefix, depth, ctx, path }) {
  const mode = value.any ? "any" : "all";
  const items = value[mode] || [];
  const set = (next) => onChange({ [mode]: next });
  return (
    <div className={`cb-group depth-${depth}`} data-path={path}>
      <Problems value={null} ctx={ctx} path={path} />
      <label className="cb-mode">
        Contacts who match
        <select aria-label="Match all or any" value={mode} onChange={(e) => onChange({ [e.target.value]: items })}>
          <option value="all">all of</option>
          <option value="any">any of</option>
        </select>
      </label>
      {items.length === 0 && <p className="muted small">No conditions yet.</p>}
      <ul className="cb-list">
        {items.map((item, i) => (
          <li key={i} className="cb-item">
            <Condition
              value={item}
              idPrefix={`${idPrefix}-${i}`}
              lookups={lookups}
              depth={depth}
              ctx={ctx}
              path={joinPath(path, `${mode}[${i}]`)}
              onChange={(next) => set(items.map((x, j) => (j === i ? next : x)))}
            />
            <button type="button" className="btn btn-sm" aria-label={`Remove condition ${i + 1}`} onClick={() => set(items.filter((_, j) => j !== i))}>Remove</button>
          </li>
        ))}
      </ul>
      <div className="cb-add">
        <label>
          <span className="sr-only">Kind of condition to add</span>
          <select aria-label="Add a condition" value="" onChange={(e) => e.target.value && set([...items, BLANK[e.target.value]()])}>
            <option value="">+ Add condition…</option>
            <option value="field">Contact field</option>
            <option value="event">Event performed</option>
            <option value="tag">Has tag</option>
            <option value="segment">In segment</option>
            {depth < 2 && <option value="group">Group (any / all)</option>}
            <option value="not">Not…</option>
          </select>
        </label>
      </div>
    </div>
  );
}

function Condition({ value, onChange, lookups, idPrefix, depth, ctx, path }) {
  const kind = kindOfCondition(value);
  const catalog = lookups.fields;
  if (kind === "group") return <Group value={value} onChange={onChange} lookups={lookups} idPrefix={idPrefix} depth={depth + 1} ctx={ctx} path={path} />;
  if (kind === "not") {
    return (
      <div className="cb-not" data-path={path}>
        <strong>Not:</strong>
        <Problems value={null} ctx={ctx} path={path} />
        <Condition value={value.not} onChange={(next) => onChange({ not: next })} lookups={lookups} idPrefix={`${idPrefix}-n`} depth={depth} ctx={ctx} path={joinPath(path, "not")} />
      </div>
    );
  }
  // Tags and segments: has it (the default, no `op` saved) or has it not.
  const presence = (key, yes, no) => (
    <select className="input" aria-label={`${key === "tag" ? "Tag" : "Segment"} operator`} value={value.op || "exists"}
      onChange={(e) => { const next = { [key]: value[key] }; if (e.target.value !== "exists") next.op = e.target.value; onChange(next); }}>
      {PRESENCE_OPS.map((op) => <option key={op} value={op}>{op === "exists" ? yes : no}</option>)}
    </select>
  );
  if (kind === "tag") {
    return (
      <div data-path={path}>
        <div className="cb-row">
          {presence("tag", "Has tag", "Does not have tag")}
          <input className="input" list="tendril-tags" value={value.tag} onChange={(e) => onChange({ ...value, tag: e.target.value })} aria-label="Tag" />
        </div>
        <Problems value={value} catalog={catalog} ctx={ctx} path={path} />
      </div>
    );
  }
  if (kind === "segment") {
    return (
      <div data-path={path}>
        <div className="cb-row">
          {presence("segment", "In segment", "Not in segment")}
          <select className="input" value={value.segment ?? ""} aria-label="Segment" onChange={(e) => onChange({ ...value, segment: e.target.value ? Number(e.target.value) : "" })}>
            <option value="">Choose a segment…</option>
            {Object.entries(lookups.segments || {}).map(([id, name]) => <option key={id} value={id}>{name}</option>)}
          </select>
        </div>
        <Problems value={value} catalog={catalog} ctx={ctx} path={path} />
      </div>
    );
  }
  if (kind === "event") return <EventCondition value={value} onChange={onChange} catalog={catalog} ctx={ctx} path={path} />;
  const spec = fieldSpec(catalog, value.field);
  const ops = opsForField(catalog, value.field);
  return (
    <div data-path={path}>
      <div className="cb-row">
        <input className="input" list="tendril-fields" placeholder="field" aria-label="Field" value={value.field}
          onChange={(e) => {
            const next = { ...value, field: e.target.value };
            const allowed = opsForField(catalog, e.target.value);
            onChange(allowed.includes(next.op) ? next : withOp(next, allowed[0], fieldSpec(catalog, e.target.value)?.type));
          }} />
        <select className="input" aria-label="Operator" value={value.op} onChange={(e) => onChange(withOp(value, e.target.value, spec?.type))}>
          {!ops.includes(value.op) && <option value={value.op}>{OP_WORDS[value.op] || value.op}</option>}
          {ops.map((op) => <option key={op} value={op}>{OP_WORDS[op] || op}</option>)}
        </select>
        <ValueInput op={value.op} type={spec?.type} choices={spec?.choices} value={value.value} onChange={(v) => onChange({ ...value, value: v })} />
      </div>
      <Problems value={value} catalog={catalog} ctx={ctx} path={path} />
    </div>
  );
}

export function WhereEditor({ value, onChange, label = "Only when the event's properties match" }) {
  const rows = value || [];
  const setRow = (i, row) => onChange(rows.map((x, j) => (j === i ? row : x)));
  return (
    <fieldset className="cb-where">
      <legend>{label}</legend>
      {rows.map((w, i) => (
        <div key={i}>
          <div className="cb-row">
            <input className="input" list="tendril-event-properties" aria-label="Property" placeholder="property" value={w.property || ""} onChange={(e) => setRow(i, { ...w, property: e.target.value })} />
            <select className="input" aria-label="Property operator" value={w.op || "eq"} onChange={(e) => setRow(i, withOp(w, e.target.value, undefined))}>
              {PROPERTY_OPS.map((op) => <option key={op} value={op}>{OP_WORDS[op]}</option>)}
            </select>
            <ValueInput op={w.op || "eq"} label="Property value" value={w.value} onChange={(v) => setRow(i, { ...w, value: v })} />
            <button type="button" className="btn btn-sm" aria-label={`Remove property condition ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>×</button>
          </div>
          {!String(w.property || "").trim() && <small className="cb-error">name the property</small>}
        </div>
      ))}
      <button type="button" className="btn btn-sm" onClick={() => onChange([...rows, { property: "", op: "eq", value: "" }])}>+ Property condition</button>
    </fieldset>
  );
}

// When: ever, in the last N days, between two dates, or (in a workflow) since the contact
// entered it.
function windowOf(value) {
  if (value.since_entry) return "entry";
  if (value.between !== undefined) return "between";
  if (value.within_days !== undefined) return "within";
  return "ever";
}

function EventCondition({ value, onChange, catalog, ctx, path }) {
  const count = value.count || null;
  const win = windowOf(value);
  const setWindow = (next) => {
    const v = { ...value };
    delete v.within_days;
    delete v.between;
    delete v.since_entry;
    if (next === "within") v.within_days = 30;
    if (next === "between") v.between = ["", ""];
    if (next === "entry") v.since_entry = true;
    onChange(v);
  };
  return (
    <div className="cb-event" data-path={path}>
      <label className="cb-row">Did
        <input className="input" list="tendril-events" aria-label="Event name" placeholder="event name" value={value.event} onChange={(e) => onChange({ ...value, event: e.target.value })} />
      </label>
      <div className="cb-row">
        <select className="input" aria-label="When" value={win} onChange={(e) => setWindow(e.target.value)}>
          <option value="ever">ever</option>
          <option value="within">in the last … days</option>
          <option value="between">between two dates</option>
          {(ctx?.sinceEntry || win === "entry") && <option value="entry">since entering the workflow</option>}
        </select>
        {win === "within" && (
          <><input className="input num" type="number" min="1" aria-label="Within days" value={value.within_days ?? ""} onChange={(e) => onChange({ ...value, within_days: e.target.value === "" ? "" : Number(e.target.value) })} /> days</>
        )}
        {win === "between" && (
          <>
            <input className="input" type="date" aria-label="From date" value={value.between?.[0] ?? ""} onChange={(e) => onChange({ ...value, between: [e.target.value, value.between?.[1] ?? ""] })} /> and
            <input className="input" type="date" aria-label="To date" value={value.between?.[1] ?? ""} onChange={(e) => onChange({ ...value, between: [value.between?.[0] ?? "", e.target.value] })} />
          </>
        )}
      </div>
      <label className="cb-row">
        <input type="checkbox" checked={!!count} onChange={(e) => { const v = { ...value }; if (e.target.checked) v.count = { op: "gte", value: 2 }; else delete v.count; onChange(v); }} /> a number of times
      </label>
      {count && (
        <div className="cb-row">
          <select className="input" aria-label="Count operator" value={count.op} onChange={(e) => onChange({ ...value, count: { ...count, op: e.target.value } })}>
            {COUNT_OPS.map((op) => <option key={op} value={op}>{COUNT_WORDS[op]}</option>)}
          </select>
          <input className="input num" type="number" min="0" aria-label="Times" value={count.value} onChange={(e) => onChange({ ...value, count: { ...count, value: e.target.value === "" ? "" : Number(e.target.value) } })} /> times
        </div>
      )}
      <WhereEditor value={value.where} onChange={(where) => { const v = { ...value }; if (where.length) v.where = where; else delete v.where; onChange(v); }} label="With properties" />
      <Problems value={{ ...value, where: [] }} catalog={catalog} ctx={ctx} path={path} />
    </div>
  );
}
