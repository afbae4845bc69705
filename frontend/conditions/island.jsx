// Entry of the condition editor island on server-rendered forms (the segments page, scoring
// rules, …): every `[data-condition-editor]` becomes the same editor the workflow canvas uses.
// The page gives it a hidden input holding the JSON tree (posted with the Django form; the
// island keeps it current), the server's errors by JSON path (json_script) and, optionally,
// where to show the live count (POST /api/v1/segments/count/ as the user edits).
import "./island.css";
import { createRoot } from "react-dom/client";
import { createPortal } from "react-dom";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, apiList } from "../builder/api.js";
import { ConditionEditor, EventEditor } from "./Condition.jsx";
import { leafProblems } from "./conditions.js";
import { pruneUnfinished } from "./paths.js";

const COUNT_DELAY = 300;
const MAX_PROPERTY_EVENTS = 5;

function parseJson(text, fallback) {
  try { return text ? JSON.parse(text) : fallback; } catch { return fallback; }
}

function eventNames(tree, out = new Set()) {
  if (!tree || typeof tree !== "object") return out;
  if (typeof tree.event === "string" && tree.event.trim()) out.add(tree.event.trim());
  for (const c of tree.all || tree.any || []) eventNames(c, out);
  if (tree.not) eventNames(tree.not, out);
  return out;
}

// Field catalog, segments, tags, event names and their properties: the same API calls the
// workflow canvas makes (frontend/builder/App.jsx).
function useLookups(tree, excludeSegment) {
  const [lookups, setLookups] = useState({ fields: [], segments: {} });
  const [events, setEvents] = useState([]);
  const [tags, setTags] = useState([]);
  const [properties, setProperties] = useState({});
  useEffect(() => {
    api("workflows/autocomplete/fields/").then((d) => setLookups((l) => ({ ...l, fields: d.results || [] }))).catch(() => {});
    apiList("segments/").then((items) => setLookups((l) => ({
      ...l, segments: Object.fromEntries(items.filter((x) => String(x.id) !== String(excludeSegment)).map((x) => [x.id, x.name])),
    }))).catch(() => {});
    api("workflows/autocomplete/events/?limit=100").then((d) => setEvents((d.results || []).map((e) => e.name || e))).catch(() => {});
    api("tags/").then((d) => setTags((d.results || d || []).map((t) => t.name || t.tag || t))).catch(() => {});
  }, [excludeSegment]);
  const named = [...eventNames(tree)].slice(0, MAX_PROPERTY_EVENTS).join("\n");
  useEffect(() => {
    for (const event of named ? named.split("\n") : []) {
      if (properties[event]) continue;
      setProperties((p) => ({ ...p, [event]: [] }));
      api(`workflows/autocomplete/properties/?event=${encodeURIComponent(event)}`)
        .then((d) => setProperties((p) => ({ ...p, [event]: (d.results || []).map((x) => x.name || x) })))
        .catch(() => {});
    }
  }, [named]); // eslint-disable-line react-hooks/exhaustive-deps
  const propertyNames = [...new Set(Object.values(properties).flat())];
  const fieldNames = lookups.fields.map((f) => f.name);
  return { lookups, events, tags, propertyNames, fieldNames };
}

// The live count of the conditions on screen (conditions not filled in yet left out and
// said so); a 400 from the server is the server's validation, shown next to each condition.
function useLiveCount(tree, catalog, enabled, setErrors) {
  const [state, setState] = useState({ stale: true, count: null, contacts: [], unfinished: 0, failed: false });
  const seq = useRef(0);
  const key = JSON.stringify(tree);
  const ready = catalog !== null;
  useEffect(() => {
    if (!enabled || !ready) return undefined;
    const mine = ++seq.current;
    setState((s) => ({ ...s, stale: true }));
    const { tree: counted, unfinished } = pruneUnfinished(tree, (c) => leafProblems(c, catalog));
    const timer = setTimeout(() => {
      api("segments/count/", { method: "POST", body: { filter: counted, limit: 20 } })
        .then((d) => {
          if (mine !== seq.current) return;
          setErrors(null);
          setState({ stale: false, count: d.count, contacts: d.contacts || [], unfinished, failed: false });
        })
        .catch((error) => {
          if (mine !== seq.current) return;
          if (error.status === 400 && Object.keys(error.fields || {}).length) setErrors(error.fields);
          setState({ stale: false, count: null, contacts: [], unfinished, failed: true, message: error.message });
        });
    }, COUNT_DELAY);
    return () => clearTimeout(timer);
  }, [key, enabled, ready]); // eslint-disable-line react-hooks/exhaustive-deps
  return state;
}

function CountPanel({ state }) {
  const { count, contacts, unfinished, stale, failed } = state;
  return (
    <div className={`cb-count${stale ? " is-stale" : ""}`} id="preview" aria-live="polite" aria-busy={stale}>
      <div className="cb-counting muted small" id="counting">Counting…</div>
      {count !== null ? (
        <>
          <div className="cb-count-value sg-count" id="live-count">{count.toLocaleString("en")}</div>
          <div className="muted small">contact{count === 1 ? "" : "s"} match right now</div>
          {unfinished > 0 && <p className="muted small" id="unfinished-note">{unfinished} condition{unfinished === 1 ? " is" : "s are"} not filled in yet and left out of this count.</p>}
          {contacts.length > 0 && (
            <table className="table cb-count-contacts" id="preview-contacts"><tbody>
              {contacts.map((c) => <tr key={c.id}><td><a href={`/contacts/${c.id}/`}>{c.name || c.email || `#${c.id}`}</a>{c.email && c.name && c.name !== c.email && <><br /><span className="muted small">{c.email}</span></>}</td></tr>)}
            </tbody></table>
          )}
          {count > contacts.length && contacts.length > 0 && <p className="muted small">First {contacts.length} shown (newest first).</p>}
        </>
      ) : failed ? (
        <>
          <div className="cb-count-value sg-count muted" id="live-count">—</div>
          <div className="form-errors" id="preview-errors"><p>Fix the conditions marked in red to see the count.</p></div>
        </>
      ) : null}
    </div>
  );
}

function Island({ mount, input, mode, label, countTarget, initialErrors, excludeSegment, sinceEntry }) {
  const blank = mode === "event" ? { event: "", where: [] } : { all: [] };
  const [tree, setTree] = useState(() => parseJson(input.value, blank) || blank);
  const [errors, setErrors] = useState(initialErrors);
  const { lookups, events, tags, propertyNames, fieldNames } = useLookups(tree, excludeSegment);
  const catalog = lookups.fields;
  const edited = useRef(false);
  // The errors the form came back with stay until the conditions are edited; from then on the
  // count's answer (the same validation) says what is wrong.
  const serverSaid = useCallback((fields) => { if (fields || edited.current) setErrors(fields); }, []);
  const count = useLiveCount(tree, catalog, !!countTarget && mode !== "event", serverSaid);
  const onChange = useCallback((next) => {
    edited.current = true;
    setTree(next);
    input.value = JSON.stringify(next);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }, [input]);
  useEffect(() => { mount.dataset.ready = "true"; }, [mount]);
  const lists = useMemo(() => (
    <>
      <datalist id="tendril-events">{events.map((e) => <option key={e} value={e} />)}</datalist>
      <datalist id="tendril-tags">{tags.map((t) => <option key={t} value={t} />)}</datalist>
      <datalist id="tendril-fields">{fieldNames.map((f) => <option key={f} value={f} />)}</datalist>
      <datalist id="tendril-event-properties">{propertyNames.map((p) => <option key={p} value={p} />)}</datalist>
    </>
  ), [events, tags, fieldNames, propertyNames]);
  return (
    <>
      {mode === "event"
        ? <EventEditor value={tree} onChange={onChange} errors={errors} label={label} />
        : <ConditionEditor value={tree} onChange={onChange} lookups={lookups} idPrefix={input.id} label={label} errors={errors} sinceEntry={sinceEntry} />}
      {lists}
      {countTarget && createPortal(<CountPanel state={count} />, countTarget)}
    </>
  );
}

export function mountConditionEditors(root = document) {
  for (const mount of root.querySelectorAll("[data-condition-editor]:not([data-mounted])")) {
    mount.dataset.mounted = "true";
    const input = document.getElementById(mount.dataset.input);
    if (!input) continue;
    const errorsScript = mount.dataset.errors && document.getElementById(mount.dataset.errors);
    const initialErrors = errorsScript ? parseJson(errorsScript.textContent, null) : null;
    const countTarget = mount.dataset.count ? document.querySelector(mount.dataset.count) : null;
    countTarget?.replaceChildren(); // the page's "Counting…" until the island draws its own
    createRoot(mount).render(
      <Island
        mount={mount}
        input={input}
        mode={mount.dataset.mode || "filter"}
        label={mount.dataset.label || "Conditions"}
        countTarget={countTarget}
        initialErrors={initialErrors && Object.keys(initialErrors).length ? initialErrors : null}
        excludeSegment={mount.dataset.excludeSegment || null}
        sinceEntry={mount.dataset.sinceEntry === "true"}
      />,
    );
  }
}

mountConditionEditors();
// Parts of the page htmx swaps in (a scoring rule's kind switch) get their editor too.
document.addEventListener("htmx:load", (event) => mountConditionEditors(event.target || document));
