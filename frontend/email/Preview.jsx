// The live preview (desktop / mobile / dark, as a chosen contact) through the server's render
// endpoint, and the pre-send checklist (the server's checks and SpamAssassin's score).
import { useEffect, useRef, useState } from "react";
import { api, errorText, items } from "./api.js";

// Dark mode as mail apps do it: the email's own `prefers-color-scheme: dark` rules apply, and
// what has no dark rules is inverted (images kept as they are).
export function darkHtml(html) {
  const css = '<meta name="color-scheme" content="dark"><style data-tendril-dark>html{background:#fff;filter:invert(1) hue-rotate(180deg)}img,picture,video{filter:invert(1) hue-rotate(180deg)}</style>';
  const rewritten = String(html || "").replace(/@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)/gi, "@media all");
  return /<\/head>/i.test(rewritten) ? rewritten.replace(/<\/head>/i, `${css}</head>`) : css + rewritten;
}

function useDebounced(value, ms) {
  const [v, setV] = useState(value);
  useEffect(() => { const t = setTimeout(() => setV(value), ms); return () => clearTimeout(t); }, [value, ms]);
  return v;
}

function ContactPicker({ contact, onChange }) {
  const [q, setQ] = useState("");
  const [found, setFound] = useState([]);
  const query = useDebounced(q, 250);
  useEffect(() => {
    if (!query.trim()) { setFound([]); return undefined; }
    const ctrl = new AbortController();
    api(`contacts/?q=${encodeURIComponent(query)}&limit=8`, { signal: ctrl.signal }).then((d) => setFound(items(d).slice(0, 8))).catch(() => {});
    return () => ctrl.abort();
  }, [query]);
  return (
    <div className="ee-contact">
      <label className="ee-field">Preview as contact
        <input className="input" type="search" placeholder="search name or email" value={q} onChange={(e) => setQ(e.target.value)} />
      </label>
      {found.length > 0 && (
        <ul className="ee-found" aria-label="Matching contacts">
          {found.map((c) => (
            <li key={c.id}><button type="button" className="btn btn-sm" onClick={() => { onChange(c); setQ(""); setFound([]); }}>
              {[c.first_name, c.last_name].filter(Boolean).join(" ") || c.email} <span className="muted">{c.email}</span>
            </button></li>
          ))}
        </ul>
      )}
      <p className="small" id="ee-preview-for">
        {contact ? <>Previewing as <strong>{contact.email}</strong> <button type="button" className="btn btn-sm" onClick={() => onChange(null)}>Use a sample contact</button></> : "Previewing as a sample contact."}
      </p>
    </div>
  );
}

const MODES = [
  { key: "desktop", label: "Desktop", width: 600 },
  { key: "mobile", label: "Mobile", width: 375 },
  { key: "dark", label: "Dark", width: 600 },
];

export function Preview({ payload, contact, setContact }) {
  const [mode, setMode] = useState("desktop");
  const [state, setState] = useState({ busy: true, html: "", text: "", subject: "", errors: {}, failure: "" });
  const body = useDebounced(JSON.stringify({ ...payload, contact_id: contact?.id ?? null }), 400);
  useEffect(() => {
    const ctrl = new AbortController();
    setState((s) => ({ ...s, busy: true }));
    api("messaging/email-templates/render/", { method: "POST", body: JSON.parse(body), signal: ctrl.signal })
      .then((d) => setState({ busy: false, html: d.html || "", text: d.text || "", subject: d.subject || "", errors: d.errors || {}, failure: "" }))
      .catch((e) => { if (e.name !== "AbortError") setState((s) => ({ ...s, busy: false, errors: e.fields || {}, failure: errorText(e) })); });
    return () => ctrl.abort();
  }, [body]);
  const shown = MODES.find((m) => m.key === mode);
  const errors = Object.entries(state.errors || {});
  return (
    <section className="card ee-preview" aria-labelledby="ee-preview-h">
      <div className="card-head"><h2 id="ee-preview-h">Preview</h2>
        <div className="ee-modes" role="group" aria-label="Preview as">
          {MODES.map((m) => <button key={m.key} type="button" className={`btn btn-sm${mode === m.key ? " btn-primary" : ""}`} aria-pressed={mode === m.key} onClick={() => setMode(m.key)}>{m.label}</button>)}
        </div>
      </div>
      <ContactPicker contact={contact} onChange={setContact} />
      <p className="small" aria-live="polite" id="ee-preview-status" data-busy={state.busy ? "1" : "0"}>
        {state.busy ? "Rendering…" : <><strong>Subject:</strong> <span id="ee-preview-subject">{state.subject}</span></>}
      </p>
      {(errors.length > 0 || state.failure) && (
        <div className="form-errors" role="alert" id="ee-preview-problems">
          <p><strong>Fix these to see the preview:</strong></p>
          <ul className="problems">
            {errors.map(([k, v]) => <li key={k}>{k}: {Array.isArray(v) ? v.join(" ") : String(v)}</li>)}
            {!errors.length && state.failure && <li>{state.failure}</li>}
          </ul>
        </div>
      )}
      <div className="ee-frame-wrap">
        <iframe sandbox="" className={`ee-frame ee-frame-${mode}`} title={`${shown.label} preview`} style={{ width: `${shown.width}px` }}
          data-mode={mode} srcDoc={mode === "dark" ? darkHtml(state.html) : state.html} />
      </div>
      <details><summary className="small">Text part</summary><pre className="text-part">{state.text}</pre></details>
    </section>
  );
}

export function Checklist({ payload }) {
  const [state, setState] = useState({ busy: false, data: null, failure: "" });
  const body = useDebounced(JSON.stringify(payload), 1500);
  const run = useRef(0);
  const check = (json) => {
    const n = ++run.current;
    setState((s) => ({ ...s, busy: true }));
    api("messaging/email-templates/check/", { method: "POST", body: JSON.parse(json) })
      .then((d) => { if (n === run.current) setState({ busy: false, data: d, failure: "" }); })
      .catch((e) => { if (n === run.current) setState({ busy: false, data: null, failure: errorText(e) }); });
  };
  useEffect(() => { check(body); }, [body]); // eslint-disable-line react-hooks/exhaustive-deps
  const checks = state.data?.checks || [];
  const spam = state.data?.spam;
  return (
    <section className="card ee-checks" aria-labelledby="ee-checks-h">
      <div className="card-head"><h2 id="ee-checks-h">Checklist</h2>
        <button type="button" className="btn btn-sm" onClick={() => check(JSON.stringify(payload))} disabled={state.busy}>{state.busy ? "Checking…" : "Check again"}</button></div>
      {state.failure && <p className="ee-error" role="alert">{state.failure}</p>}
      <ul className="ee-checklist" id="ee-checklist">
        {checks.map((c) => (
          <li key={c.key + (c.block_id || "")} className={c.ok ? "is-ok" : `is-${c.severity}`} data-key={c.key}>
            <span aria-hidden="true">{c.ok ? "✓" : c.severity === "error" ? "✗" : "!"}</span>
            <span className="sr-only">{c.ok ? "Passed:" : c.severity === "error" ? "Error:" : "Warning:"}</span> {c.message}
          </li>
        ))}
      </ul>
      {spam && (
        <div className="ee-spam" id="ee-spam">
          <p><strong>Spam score:</strong> {spam.score} <span className="muted">(a message is spam from {spam.threshold})</span>
            {" "}<span className={`badge ${spam.score < spam.threshold ? "badge-ok" : "badge-danger"}`}>{spam.score < spam.threshold ? "passes" : "likely spam"}</span></p>
          {spam.rules?.length > 0 && (
            <table className="table small"><thead><tr><th>Rule</th><th>Points</th><th>What it means</th></tr></thead>
              <tbody>{spam.rules.map((r) => <tr key={r.name}><td><code>{r.name}</code></td><td>{r.points}</td><td>{r.description}</td></tr>)}</tbody></table>
          )}
        </div>
      )}
    </section>
  );
}
