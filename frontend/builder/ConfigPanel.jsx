// The side panel's form, generated from the node type's JSON Schema, with real pickers for
// what the schema only calls "an object id" or "a segment filter".
import { useEffect, useState } from "react";
import { api } from "./api.js";
import { ConditionEditor, WhereEditor } from "../conditions/Condition.jsx";
import { configProblems, durationWords, IN_RUN } from "./describe.js";
import { SearchSelect } from "./SearchSelect.jsx";
import { templateBody } from "./templates.js";

const UNITS = ["minutes", "hours", "days"];
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const TIME = "^([01]\\d|2[0-3]):[0-5]\\d$";

function pretty(key) {
  return key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

// One number and a unit: {days: 2} ⇄ 2 days. Mixed values ({hours: 1, minutes: 30}) stay
// exact: the editor shows minutes then.
export function DurationInput({ value, onChange, id, label }) {
  const v = value || {};
  const total = (v.days || 0) * 1440 + (v.hours || 0) * 60 + (v.minutes || 0) + (v.seconds || 0) / 60;
  const unit = v.days && !v.hours && !v.minutes ? "days" : v.hours && !v.minutes && !v.days ? "hours" : total ? "minutes" : "days";
  const amount = total ? +(total / { minutes: 1, hours: 60, days: 1440 }[unit]).toFixed(4) : "";
  const [draftUnit, setDraftUnit] = useState(unit);
  const shown = total ? unit : draftUnit;
  const emit = (n, u) => onChange(n === "" || Number.isNaN(n) ? {} : { [u]: n });
  return (
    <div className="cfg-duration">
      <label htmlFor={id}>{label}</label>
      <div className="row-inline">
        <input id={id} className="input num" type="number" min="0" step="any" value={amount} onChange={(e) => emit(e.target.value === "" ? "" : Number(e.target.value), shown)} />
        <select className="input" aria-label={`${label} unit`} value={shown} onChange={(e) => { setDraftUnit(e.target.value); if (amount !== "") emit(Number(amount), e.target.value); }}>
          {UNITS.map((u) => <option key={u} value={u}>{u}</option>)}
        </select>
      </div>
      {durationWords(v) && <small className="muted">{durationWords(v)}</small>}
    </div>
  );
}

function TemplatePicker({ channel, value, onChange, lookups, reloadLookups, urls, id, emailBoot }) {
  const list = channel === "sms" ? lookups.smsTemplates : lookups.emailTemplates;
  const [preview, setPreview] = useState(null);
  const [creating, setCreating] = useState(false);
  // The block email editor in a dialog (its code loads only when asked for); the template
  // it saves becomes this step's.
  const designWithBlocks = async () => {
    const { openEditorDialog } = await import("../email/dialog.jsx");
    const saved = await openEditorDialog({ ...emailBoot, template: null, starters: false });
    if (saved) reloadLookups().finally(() => onChange(saved.id));
  };
  useEffect(() => {
    setPreview(null);
    if (!value) return undefined;
    const controller = new AbortController();
    const path = channel === "sms" ? `messaging/sms-templates/${value}/preview/` : `messaging/email-templates/${value}/preview/`;
    api(path, { method: "POST", body: {}, signal: controller.signal }).then(setPreview).catch(() => setPreview({ error: true }));
    return () => controller.abort();
  }, [value, channel]);
  return (
    <div className="cfg-template">
      <label htmlFor={id}>{channel === "sms" ? "SMS template" : "Email template"}</label>
      <div className="row-inline">
        <select id={id} className="input" value={value ?? ""} onChange={(e) => onChange(e.target.value ? Number(e.target.value) : undefined)}>
          <option value="">Choose a template…</option>
          {Object.entries(list || {}).map(([tid, name]) => <option key={tid} value={tid}>{name}</option>)}
        </select>
        <button type="button" className="btn btn-sm" onClick={() => reloadLookups()}>Refresh</button>
      </div>
      {creating ? (
        <NewTemplateForm channel={channel} idPrefix={id} onCancel={() => setCreating(false)} onCreated={(template) => { setCreating(false); reloadLookups().finally(() => onChange(template.id)); }} />
      ) : (
        <p className="row-inline small">
          <button type="button" className="btn btn-sm" onClick={() => setCreating(true)}>+ New template here</button>
          {channel !== "sms" && emailBoot && <button type="button" className="btn btn-sm" onClick={designWithBlocks}>+ Design with the block editor</button>}
          <a href={channel === "sms" ? urls.smsTemplateNew : urls.templateNew} target="_blank" rel="noopener">or open the full editor in a new tab</a>
        </p>
      )}
      {preview && !preview.error && channel !== "sms" && (
        <div className="cfg-preview">
          <p className="small"><strong>Subject:</strong> <span data-testid="template-subject">{preview.subject}</span></p>
          <iframe title="Rendered email preview" sandbox="" srcDoc={preview.html} />
        </div>
      )}
      {preview && !preview.error && channel === "sms" && <p className="cfg-preview small">{preview.body}</p>}
      {preview?.error && <small className="muted">No preview for this template.</small>}
    </div>
  );
}

// "Create template" in place: a name, a subject and the message; the compliance footer
// (postal address, unsubscribe link) is added for the marketer. The full editor stays a
// link away for layouts and HTML.
function NewTemplateForm({ channel, idPrefix, onCreated, onCancel }) {
  const [fields, setFields] = useState({ name: "", subject: "", message: "" });
  const [state, setState] = useState({ busy: false, errors: {}, error: null });
  const set = (k) => (e) => setFields({ ...fields, [k]: e.target.value });
  const submit = async () => {
    if (!fields.message.trim()) { setState({ busy: false, errors: { message: "Write what the message says." }, error: null }); return; }
    setState({ busy: true, errors: {}, error: null });
    try {
      const created = await api(channel === "sms" ? "messaging/sms-templates/" : "messaging/email-templates/", { method: "POST", body: templateBody(channel, fields) });
      onCreated(created);
    } catch (error) {
      setState({ busy: false, errors: error.fields || {}, error: error.message });
    }
  };
  const fieldError = (k) => [].concat(state.errors[k] || []).join(" ");
  return (
    <fieldset className="cfg-new-template" aria-label="New template">
      <legend>New {channel === "sms" ? "SMS" : "email"} template</legend>
      <label htmlFor={`${idPrefix}-new-name`}>Template name</label>
      <input id={`${idPrefix}-new-name`} className="input" value={fields.name} maxLength={120} onChange={set("name")} aria-invalid={!!fieldError("name")} />
      {fieldError("name") && <small className="error">{fieldError("name")}</small>}
      {channel !== "sms" && (
        <>
          <label htmlFor={`${idPrefix}-new-subject`}>Subject</label>
          <input id={`${idPrefix}-new-subject`} className="input" value={fields.subject} maxLength={300} onChange={set("subject")} aria-invalid={!!fieldError("subject")} />
          {fieldError("subject") && <small className="error">{fieldError("subject")}</small>}
        </>
      )}
      <label htmlFor={`${idPrefix}-new-message`}>Message</label>
      <textarea id={`${idPrefix}-new-message`} className="input" rows={4} value={fields.message} onChange={set("message")} placeholder={channel === "sms" ? "Your cart is waiting. Reply STOP to opt out." : "Hi {{ contact.first_name }}, your cart is waiting."} />
      {fieldError("message") && <small className="error">{fieldError("message")}</small>}
      <small className="muted">{channel === "sms" ? "Plain text." : "Plain text; paragraphs become HTML and the unsubscribe footer is added."}</small>
      {state.error && <p className="error" role="alert">{state.error}</p>}
      <div className="row-inline">
        <button type="button" className="btn btn-sm btn-primary" disabled={state.busy} onClick={submit}>{state.busy ? "Creating…" : "Create template"}</button>
        <button type="button" className="btn btn-sm" onClick={onCancel}>Cancel</button>
      </div>
    </fieldset>
  );
}

function ObjectSelect({ label, options, value, onChange, id, empty }) {
  return (
    <div>
      <label htmlFor={id}>{label}</label>
      <select id={id} className="input" value={value ?? ""} onChange={(e) => onChange(e.target.value ? (Number.isNaN(Number(e.target.value)) ? e.target.value : Number(e.target.value)) : undefined)}>
        <option value="">{empty}</option>
        {Object.entries(options || {}).map(([oid, name]) => <option key={oid} value={oid}>{name}</option>)}
      </select>
    </div>
  );
}

function VariantsEditor({ value, onChange }) {
  const rows = value || [];
  const total = rows.reduce((s, v) => s + (Number(v.weight) || 0), 0);
  const letters = "abcdefghij";
  return (
    <fieldset className="cfg-variants">
      <legend>Variants and weights (%)</legend>
      {rows.map((v, i) => (
        <div className="row-inline" key={i}>
          <input className="input" aria-label={`Variant ${i + 1} name`} value={v.name} onChange={(e) => onChange(rows.map((x, j) => (j === i ? { ...x, name: e.target.value.toLowerCase() } : x)))} />
          <input className="input num" type="number" min="1" max="100" aria-label={`Variant ${v.name || i + 1} weight`} value={v.weight} onChange={(e) => onChange(rows.map((x, j) => (j === i ? { ...x, weight: Number(e.target.value) } : x)))} />
          {rows.length > 2 && <button type="button" className="btn btn-sm" aria-label={`Remove variant ${v.name}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>×</button>}
        </div>
      ))}
      <p className={`small ${total === 100 ? "muted" : "error"}`} role="status">Total: {total}%{total !== 100 ? " — the weights must add up to 100" : ""}</p>
      {rows.length < 10 && (
        <button type="button" className="btn btn-sm" onClick={() => {
          const name = [...letters].find((l) => !rows.some((r) => r.name === l)) || `v${rows.length + 1}`;
          onChange([...rows, { name, weight: Math.max(1, 100 - total) }]);
        }}>+ Variant</button>
      )}
    </fieldset>
  );
}

function BranchesEditor({ value, onChange, lookups, idPrefix }) {
  const rows = value || [];
  return (
    <fieldset className="cfg-branches">
      <legend>Branches, checked in order (no match: “default”)</legend>
      {rows.map((b, i) => (
        <div className="cfg-branch" key={i}>
          <div className="row-inline">
            <input className="input" aria-label={`Branch ${i + 1} name`} value={b.name} onChange={(e) => onChange(rows.map((x, j) => (j === i ? { ...x, name: e.target.value.toLowerCase() } : x)))} />
            <button type="button" className="btn btn-sm" aria-label={`Remove branch ${b.name}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>×</button>
          </div>
          <ConditionEditor value={b.filter} lookups={lookups} idPrefix={`${idPrefix}-b${i}`} label={`When (${b.name})`} sinceEntry onChange={(filter) => onChange(rows.map((x, j) => (j === i ? { ...x, filter } : x)))} />
        </div>
      ))}
      <button type="button" className="btn btn-sm" onClick={() => onChange([...rows, { name: `branch_${rows.length + 1}`, filter: { all: [] } }])}>+ Branch</button>
    </fieldset>
  );
}

function KeyValue({ value, onChange, label, id }) {
  const rows = Object.entries(value || {});
  const emit = (next) => onChange(Object.fromEntries(next.filter(([k]) => k !== "" || true)));
  return (
    <fieldset>
      <legend>{label}</legend>
      {rows.map(([k, v], i) => (
        <div className="row-inline" key={i}>
          <input className="input" aria-label={`${label} key ${i + 1}`} value={k} onChange={(e) => emit(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))} />
          <input className="input" aria-label={`${label} value ${i + 1}`} value={typeof v === "string" ? v : JSON.stringify(v)} onChange={(e) => emit(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))} />
          <button type="button" className="btn btn-sm" aria-label={`Remove ${k}`} onClick={() => emit(rows.filter((_, j) => j !== i))}>×</button>
        </div>
      ))}
      <button type="button" className="btn btn-sm" id={id} onClick={() => emit([...rows, [`key${rows.length + 1}`, ""]])}>+ Add</button>
    </fieldset>
  );
}

function Field({ name, prop, required, value, set, node, ctx }) {
  const id = `cfg-${node.id}-${name}`;
  const label = `${prop.title || pretty(name)}${required ? "" : " (optional)"}`;
  const { lookups } = ctx;
  if ((node.type === "action.email" || node.type === "action.sms") && name === "template") {
    return <TemplatePicker id={id} channel={node.type === "action.sms" ? "sms" : "email"} value={value} onChange={set} lookups={lookups} reloadLookups={ctx.reloadLookups} urls={ctx.urls} emailBoot={ctx.emailBoot} />;
  }
  if (name === "event") {
    return (
      <div>
        <label htmlFor={id}>Event name</label>
        <input id={id} className="input" list="tendril-events" autoComplete="off" value={value ?? ""} onChange={(e) => set(e.target.value)} onFocus={() => ctx.loadEvents()} />
        <small className="muted">Suggestions are the events this workspace has received.</small>
      </div>
    );
  }
  if (name === "where") return <WhereEditor value={value} onChange={(w) => set(w.length ? w : undefined)} />;
  if (name === "filter") {
    const optional = !required;
    if (optional && !value) {
      return <button type="button" className="btn btn-sm" onClick={() => set({ all: [] })}>+ Only contacts who match conditions</button>;
    }
    return (
      <div>
        <ConditionEditor value={value} onChange={set} lookups={lookups} idPrefix={id} sinceEntry={IN_RUN.has(node.type)} label={node.type === "goal" ? "Goal reached when" : node.type.startsWith("branch") ? "Yes when" : "Conditions"} />
        {optional && <button type="button" className="btn btn-sm" onClick={() => set(undefined)}>Remove the conditions</button>}
      </div>
    );
  }
  if (name === "timeout") return <DurationInput id={id} label="At most" value={value} onChange={(v) => set(Object.keys(v).length ? v : undefined)} />;
  if (name === "list") {
    return <SearchSelect id={id} label="Static list" options={lookups.listOptions || []} value={value} onChange={set} placeholder="Search the static lists…" />;
  }
  if (name === "owner" || name === "assignee") {
    const none = name === "owner" ? "the next rep in the rotation" : "the contact's owner";
    return <SearchSelect id={id} label={name === "owner" ? "Owner" : "Assign the task to"} options={lookups.memberOptions || []} value={value} onChange={(v) => set(v ?? undefined)} placeholder="Search people by name or email…" none={none} />;
  }
  if (name === "segment") return <ObjectSelect id={id} label="Segment" options={lookups.segments} value={value} onChange={set} empty="Choose a segment…" />;
  if (name === "workflow") return <ObjectSelect id={id} label="Workflow" options={lookups.workflows} value={value} onChange={set} empty="Choose a workflow…" />;
  if (name === "variants") return <VariantsEditor value={value} onChange={set} />;
  if (name === "branches") return <BranchesEditor value={value} onChange={set} lookups={lookups} idPrefix={id} />;
  if (node.type === "wait.weekday_window" && name === "days") {
    const days = value || [];
    return (
      <fieldset className="cfg-days">
        <legend>Days (the contact's local time)</legend>
        {WEEKDAYS.map((d, i) => (
          <label key={d} className="inline-check"><input type="checkbox" checked={days.includes(i)} onChange={(e) => set(e.target.checked ? [...days, i].sort() : days.filter((x) => x !== i))} /> {d}</label>
        ))}
      </fieldset>
    );
  }
  if (prop.pattern === TIME) {
    return <div><label htmlFor={id}>{label}</label><input id={id} className="input" type="time" value={value ?? ""} onChange={(e) => set(e.target.value || undefined)} /></div>;
  }
  if (node.type === "wait.until_datetime" && name === "at") {
    return <div><label htmlFor={id}>Date and time (the contact's local time)</label><input id={id} className="input" type="datetime-local" value={value ?? ""} onChange={(e) => set(e.target.value || undefined)} /></div>;
  }
  if (name === "tags" || (prop.type === "array" && prop.items?.type === "string")) {
    return (
      <div>
        <label htmlFor={id}>{label}</label>
        <input id={id} className="input" list="tendril-tags" placeholder="vip, newsletter" value={(value || []).join(", ")} onChange={(e) => set(e.target.value.split(",").map((s) => s.trim()).filter(Boolean))} />
        <small className="muted">Separate with commas.</small>
      </div>
    );
  }
  if (prop.enum) {
    return (
      <div><label htmlFor={id}>{label}</label>
        <select id={id} className="input" value={value ?? ""} onChange={(e) => set(e.target.value || undefined)}>
          {!required && <option value="">{prop.default !== undefined && prop.enum.includes(prop.default) ? `Default: ${prop["x-enumLabels"]?.[prop.enum.indexOf(prop.default)] || prop.default}` : "—"}</option>}
          {required && value === undefined && <option value="">Choose…</option>}
          {prop.enum.map((o, i) => <option key={o} value={o}>{prop["x-enumLabels"]?.[i] || o}</option>)}
        </select>
      </div>
    );
  }
  const types = [].concat(prop.type || []);
  if (types.includes("integer") || types.includes("number")) {
    return (
      <div><label htmlFor={id}>{label}</label>
        <input id={id} className="input num" type="number" min={prop.minimum} max={prop.maximum} step={types.includes("integer") ? 1 : "any"} placeholder={prop.default !== undefined ? String(prop.default) : undefined} value={value ?? ""} onChange={(e) => set(e.target.value === "" ? undefined : Number(e.target.value))} />
        {prop.description && <small className="muted">{prop.description}</small>}
      </div>
    );
  }
  if (types.includes("object")) return <KeyValue id={id} label={label} value={value} onChange={(v) => set(Object.keys(v).length ? v : undefined)} />;
  if (types.includes("boolean")) return <label className="inline-check"><input id={id} type="checkbox" checked={!!value} onChange={(e) => set(e.target.checked)} /> {label}</label>;
  const examples = prop.examples || (name === "field" || name === "attribute" ? ctx.fieldNames : null);
  return (
    <div><label htmlFor={id}>{label}</label>
      <input id={id} className="input" list={examples ? `${id}-list` : undefined} value={value ?? ""} maxLength={prop.maxLength} onChange={(e) => set(e.target.value === "" ? undefined : e.target.value)} />
      {examples && <datalist id={`${id}-list`}>{examples.map((x) => <option key={x} value={x} />)}</datalist>}
      {prop.description && <small className="muted">{prop.description}</small>}
    </div>
  );
}

export function SchemaForm({ node, spec, onChange, ctx }) {
  const config = node.config || {};
  if (node.type === "wait.duration") {
    return <DurationInput id={`cfg-${node.id}-length`} label="Wait for" value={config} onChange={onChange} />;
  }
  const props = spec?.schema?.properties || {};
  const required = new Set(spec?.schema?.required || []);
  const keys = Object.keys(props).sort((a, b) => (a === "filter") - (b === "filter"));
  return (
    <div className="cfg-form">
      {keys.map((name) => (
        <Field
          key={name}
          name={name}
          prop={props[name]}
          required={required.has(name)}
          value={config[name]}
          node={node}
          ctx={ctx}
          set={(v) => {
            const next = { ...config };
            if (v === undefined) delete next[name];
            else next[name] = v;
            onChange(next);
          }}
        />
      ))}
    </div>
  );
}

export function NodeProblems({ node, spec, extra }) {
  const problems = [...configProblems(node, spec), ...(extra || []).filter((p) => p.code !== "unconfigured").map((p) => p.message)];
  if (!problems.length) return <p className="cfg-ok small">✓ Configured</p>;
  return (
    <ul className="cfg-problems" aria-label="Problems of this step">
      {[...new Set(problems)].map((p) => <li key={p}>{p}</li>)}
    </ul>
  );
}
