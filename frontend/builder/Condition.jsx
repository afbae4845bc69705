// A structured editor for the segment filter format (DESIGN.md): groups `all` / `any` /
// `not` of `field`, `tag`, `event` and `segment` conditions. Never a JSON box.
import { OPS } from "./describe.js";

const FIELD_OPS = ["eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", "exists", "not_exists", "gt", "gte", "lt", "lte", "before", "after", "within_last_days", "more_than_days_ago", "within_next_days", "anniversary_within_days"];
const PROP_OPS = ["eq", "neq", "contains", "not_contains", "gt", "gte", "lt", "lte", "exists", "not_exists", "in", "not_in"];
const COUNT_OPS = ["gte", "lte", "eq", "gt", "lt"];
const NO_VALUE = new Set(["exists", "not_exists"]);
const LIST_OPS = new Set(["in", "not_in"]);

function kindOfCondition(c) {
  if (c.all || c.any) return "group";
  if (c.not) return "not";
  if (c.event !== undefined) return "event";
  if (c.tag !== undefined) return "tag";
  if (c.segment !== undefined) return "segment";
  return "field";
}

function parseValue(text, op) {
  if (LIST_OPS.has(op)) return text.split(",").map((s) => s.trim()).filter(Boolean);
  if (text !== "" && !Number.isNaN(Number(text)) && /^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text);
  return text;
}

function showValue(v) {
  return Array.isArray(v) ? v.join(", ") : v ?? "";
}

const BLANK = {
  field: () => ({ field: "", op: "eq", value: "" }),
  tag: () => ({ tag: "" }),
  event: () => ({ event: "", within_days: 30 }),
  segment: () => ({ segment: "" }),
  group: () => ({ any: [] }),
  not: () => ({ not: { field: "", op: "eq", value: "" } }),
};

export function ConditionEditor({ value, onChange, lookups, idPrefix, label = "Conditions" }) {
  const filter = value && (value.all || value.any) ? value : { all: value ? [value] : [] };
  return (
    <fieldset className="cb-root">
      <legend>{label}</legend>
      <Group value={filter} onChange={onChange} lookups={lookups} idPrefix={idPrefix} depth={0} />
    </fieldset>
  );
}

function Group({ value, onChange, lookups, idPrefix, depth }) {
  const mode = value.any ? "any" : "all";
  const items = value[mode] || [];
  const set = (next) => onChange({ [mode]: next });
  return (
    <div className={`cb-group depth-${depth}`}>
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

function Condition({ value, onChange, lookups, idPrefix, depth }) {
  const kind = kindOfCondition(value);
  if (kind === "group") return <Group value={value} onChange={onChange} lookups={lookups} idPrefix={idPrefix} depth={depth + 1} />;
  if (kind === "not") {
    return (
      <div className="cb-not">
        <strong>Not:</strong>
        <Condition value={value.not} onChange={(next) => onChange({ not: next })} lookups={lookups} idPrefix={`${idPrefix}-n`} depth={depth} />
      </div>
    );
  }
  if (kind === "tag") {
    return (
      <label className="cb-row">Has tag
        <input className="input" list="tendril-tags" value={value.tag} onChange={(e) => onChange({ tag: e.target.value })} aria-label="Tag" />
      </label>
    );
  }
  if (kind === "segment") {
    return (
      <label className="cb-row">In segment
        <select className="input" value={value.segment ?? ""} aria-label="Segment" onChange={(e) => onChange({ segment: e.target.value ? Number(e.target.value) : "" })}>
          <option value="">Choose a segment…</option>
          {Object.entries(lookups.segments || {}).map(([id, name]) => <option key={id} value={id}>{name}</option>)}
        </select>
      </label>
    );
  }
  if (kind === "event") return <EventCondition value={value} onChange={onChange} lookups={lookups} />;
  return (
    <div className="cb-row">
      <input className="input" list="tendril-fields" placeholder="field" aria-label="Field" value={value.field} onChange={(e) => onChange({ ...value, field: e.target.value })} />
      <select className="input" aria-label="Operator" value={value.op} onChange={(e) => onChange(NO_VALUE.has(e.target.value) ? { field: value.field, op: e.target.value } : { ...value, op: e.target.value })}>
        {FIELD_OPS.map((op) => <option key={op} value={op}>{OPS[op]}</option>)}
      </select>
      {!NO_VALUE.has(value.op) && (
        <input className="input" aria-label="Value" placeholder={LIST_OPS.has(value.op) ? "a, b, c" : "value"} value={showValue(value.value)} onChange={(e) => onChange({ ...value, value: parseValue(e.target.value, value.op) })} />
      )}
    </div>
  );
}

export function WhereEditor({ value, onChange, label = "Only when the event's properties match" }) {
  const rows = value || [];
  return (
    <fieldset className="cb-where">
      <legend>{label}</legend>
      {rows.map((w, i) => (
        <div className="cb-row" key={i}>
          <input className="input" list="tendril-event-properties" aria-label="Property" placeholder="property" value={w.property || ""} onChange={(e) => onChange(rows.map((x, j) => (j === i ? { ...x, property: e.target.value } : x)))} />
          <select className="input" aria-label="Property operator" value={w.op || "eq"} onChange={(e) => onChange(rows.map((x, j) => (j === i ? { ...x, op: e.target.value } : x)))}>
            {PROP_OPS.map((op) => <option key={op} value={op}>{OPS[op]}</option>)}
          </select>
          {!NO_VALUE.has(w.op) && <input className="input" aria-label="Property value" value={showValue(w.value)} onChange={(e) => onChange(rows.map((x, j) => (j === i ? { ...x, value: parseValue(e.target.value, w.op) } : x)))} />}
          <button type="button" className="btn btn-sm" aria-label={`Remove property condition ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>×</button>
        </div>
      ))}
      <button type="button" className="btn btn-sm" onClick={() => onChange([...rows, { property: "", op: "eq", value: "" }])}>+ Property condition</button>
    </fieldset>
  );
}

function EventCondition({ value, onChange }) {
  const count = value.count || null;
  return (
    <div className="cb-event">
      <label className="cb-row">Did
        <input className="input" list="tendril-events" aria-label="Event name" placeholder="event name" value={value.event} onChange={(e) => onChange({ ...value, event: e.target.value })} />
      </label>
      <label className="cb-row">in the last
        <input className="input num" type="number" min="1" aria-label="Within days" value={value.within_days ?? ""} onChange={(e) => { const v = { ...value }; if (e.target.value) v.within_days = Number(e.target.value); else delete v.within_days; onChange(v); }} /> days
      </label>
      <label className="cb-row">
        <input type="checkbox" checked={!!count} onChange={(e) => { const v = { ...value }; if (e.target.checked) v.count = { op: "gte", value: 2 }; else delete v.count; onChange(v); }} /> at least / at most a number of times
      </label>
      {count && (
        <div className="cb-row">
          <select className="input" aria-label="Count operator" value={count.op} onChange={(e) => onChange({ ...value, count: { ...count, op: e.target.value } })}>
            {COUNT_OPS.map((op) => <option key={op} value={op}>{OPS[op]}</option>)}
          </select>
          <input className="input num" type="number" min="0" aria-label="Times" value={count.value} onChange={(e) => onChange({ ...value, count: { ...count, value: Number(e.target.value) } })} /> times
        </div>
      )}
      <WhereEditor value={value.where} onChange={(where) => { const v = { ...value }; if (where.length) v.where = where; else delete v.where; onChange(v); }} label="With properties" />
    </div>
  );
}
