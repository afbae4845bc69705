// The side panel's other tabs: problems, versions, stats, test mode, preview on history,
// workflow settings — and the dialogs (confirm, publish).
import { useEffect, useRef, useState } from "react";
import { api, apiList } from "./api.js";

export function ConfirmDialog({ message, detail, confirmLabel = "Delete", onAnswer }) {
  const cancel = useRef(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <div className="wb-modal-backdrop">
      <div className="wb-dialog" role="alertdialog" aria-modal="true" aria-labelledby="wb-confirm-title" aria-describedby="wb-confirm-detail" onKeyDown={(e) => e.key === "Escape" && onAnswer(false)}>
        <h2 id="wb-confirm-title">{message}</h2>
        {detail && <p id="wb-confirm-detail">{detail}</p>}
        <div className="row-inline">
          <button ref={cancel} type="button" className="btn" onClick={() => onAnswer(false)}>Cancel</button>
          <button type="button" className="btn btn-danger" onClick={() => onAnswer(true)}>{confirmLabel}</button>
        </div>
      </div>
    </div>
  );
}

export function PublishDialog({ summary, warnings, removed = [], nodes = [], labels, onPublish, onClose, busy, error }) {
  const [ack, setAck] = useState(false);
  const [move, setMove] = useState({});
  const first = useRef(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <div className="wb-modal-backdrop">
      <div className="wb-dialog wb-publish" role="dialog" aria-modal="true" aria-labelledby="wb-publish-title" onKeyDown={(e) => e.key === "Escape" && onClose()}>
        <h2 id="wb-publish-title">Publish this workflow?</h2>
        <dl className="wb-summary">
          {summary.map(([k, v]) => (<div key={k}><dt>{k}</dt><dd>{v}</dd></div>))}
        </dl>
        {warnings.length > 0 && (
          <div className="callout wb-warnings" role="alert">
            <strong>{warnings.length} warning{warnings.length > 1 ? "s" : ""}</strong>
            <ul>{warnings.map((w, i) => <li key={i}>{w.node ? <code>{w.node}</code> : null} {w.message}</li>)}</ul>
            <label className="inline-check"><input ref={first} type="checkbox" checked={ack} onChange={(e) => setAck(e.target.checked)} /> I have read the warnings and want to publish anyway</label>
          </div>
        )}
        {removed.length > 0 && (
          <fieldset className="wb-move">
            <legend>Steps you removed still have contacts waiting in the live version</legend>
            {removed.map((r) => (
              <label key={r.node}>{r.waiting} waiting at <code>{r.node}</code>, a step this version no longer has — move them to
                <select className="input" value={move[r.node] || ""} onChange={(e) => setMove({ ...move, [r.node]: e.target.value })}>
                  <option value="">Choose a step…</option>
                  {nodes.filter((n) => !n.type.startsWith("trigger.")).map((n) => <option key={n.id} value={n.id}>{labels?.[n.type] ? `${labels[n.type]} (${n.id})` : n.id}</option>)}
                </select>
              </label>
            ))}
          </fieldset>
        )}
        {error && <p className="error" role="alert">{error}</p>}
        <div className="row-inline">
          <button type="button" className="btn" onClick={onClose} ref={warnings.length ? undefined : first}>Cancel</button>
          <button type="button" className="btn btn-primary" disabled={busy || (warnings.length > 0 && !ack) || removed.some((r) => !move[r.node])} onClick={() => onPublish(move)}>{busy ? "Publishing…" : "Publish now"}</button>
        </div>
      </div>
    </div>
  );
}

export function ProblemsPanel({ problems, onFocusNode, blocked, headingRef }) {
  const errors = problems.filter((p) => p.level === "error");
  const warnings = problems.filter((p) => p.level === "warning");
  return (
    <section aria-labelledby="wb-problems-title" className="wb-problems">
      <h2 id="wb-problems-title" tabIndex={-1} ref={headingRef}>{errors.length ? `${errors.length} problem${errors.length > 1 ? "s" : ""}` : "No problems"}{warnings.length ? `, ${warnings.length} warning${warnings.length > 1 ? "s" : ""}` : ""}</h2>
      {blocked && errors.length > 0 && <p className="error" role="alert">Publishing is blocked until these are fixed. Click one to go to its step.</p>}
      <ul>
        {[...errors, ...warnings].map((p, i) => (
          <li key={i} className={`wb-problem ${p.level}`}>
            {p.node ? (
              <button type="button" className="link" data-problem-node={p.node} onClick={() => onFocusNode(p.node)}>
                <span className="badge">{p.level}</span> <code>{p.node}</code> {p.message}
              </button>
            ) : (
              <span><span className="badge">{p.level}</span> {p.message}</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function VersionsPanel({ workflowId, viewing, onOpen, onRestore, refreshKey }) {
  const [versions, setVersions] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api(`workflows/${workflowId}/versions/`).then((d) => setVersions(d.results)).catch((e) => setError(e.message));
  }, [workflowId, refreshKey]);
  if (error) return <p className="error">{error}</p>;
  if (!versions) return <p className="muted">Loading versions…</p>;
  return (
    <section aria-label="Version history">
      <h2>Versions</h2>
      <ul className="wb-versions">
        {versions.map((v) => (
          <li key={v.id} className={viewing?.id === v.id ? "current" : ""}>
            <strong>v{v.number}</strong> {v.published_at ? <span className="muted small">published {new Date(v.published_at).toLocaleString()}</span> : <span className="badge">draft</span>}
            <div className="row-inline">
              {v.published_at && <button type="button" className="btn btn-sm" onClick={() => onOpen(v)} aria-label={`Open version ${v.number} read-only`}>Open</button>}
              {v.published_at && <button type="button" className="btn btn-sm" onClick={() => onRestore(v)} aria-label={`Restore version ${v.number} as the draft`}>Restore as draft</button>}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

export function StatsPanel({ workflowId, stats, onLoad, nodeContacts, selected, urls }) {
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 30 * 864e5)));
  const [to, setTo] = useState(isoDay(today));
  return (
    <section aria-label="Live stats">
      <h2>Live stats</h2>
      <form className="row-inline" onSubmit={(e) => { e.preventDefault(); onLoad({ from, to }); }}>
        <label>From <input className="input" type="date" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
        <label>To <input className="input" type="date" value={to} onChange={(e) => setTo(e.target.value)} /></label>
        <button className="btn btn-sm" type="submit">Show</button>
      </form>
      {stats?.runs && (
        <p className="small" data-testid="run-counts">
          {Object.entries(stats.runs).map(([k, v]) => `${k} ${v}`).join(" · ")}
        </p>
      )}
      <p className="muted small">Counts show on each step. Click a step to list the contacts there.</p>
      {selected && nodeContacts && (
        <div className="wb-contacts" aria-live="polite">
          <h3>Contacts at <code>{selected}</code></h3>
          {nodeContacts.loading && <p className="muted">Loading…</p>}
          {nodeContacts.error && <p className="error">{nodeContacts.error}</p>}
          <ul>
            {(nodeContacts.items || []).map((r) => (
              <li key={r.run ?? r.run_id ?? r.contact.id}><a href={r.contact.url || urls.contact.replace("0", String(r.contact.id))}>{r.contact.name || r.contact.email}</a> <span className="muted small">{r.status}</span></li>
            ))}
          </ul>
          {nodeContacts.items && !nodeContacts.items.length && <p className="muted">No contacts here.</p>}
        </div>
      )}
    </section>
  );
}

export function TestPanel({ onRun, result, busy, error }) {
  const [query, setQuery] = useState("");
  const [matches, setMatches] = useState([]);
  const [contact, setContact] = useState(null);
  const [email, setEmail] = useState("");
  useEffect(() => {
    if (query.trim().length < 2) { setMatches([]); return undefined; }
    const c = new AbortController();
    const t = setTimeout(() => api(`contacts/?q=${encodeURIComponent(query)}&limit=10`, { signal: c.signal }).then((d) => setMatches(d.results || [])).catch(() => {}), 200);
    return () => { clearTimeout(t); c.abort(); };
  }, [query]);
  return (
    <section aria-label="Test mode">
      <h2>Test mode</h2>
      <p className="muted small">Runs the draft for one contact in simulated time: nothing is sent, nothing changes.</p>
      <label htmlFor="wb-test-contact">Contact</label>
      <input id="wb-test-contact" className="input" value={contact ? `${contact.email}` : query} placeholder="Search by email or name" onChange={(e) => { setContact(null); setQuery(e.target.value); }} />
      {!contact && matches.length > 0 && (
        <ul className="wb-matches" role="listbox" aria-label="Matching contacts">
          {matches.map((m) => (
            <li key={m.id} role="option" aria-selected="false"><button type="button" className="link" onClick={() => { setContact(m); setMatches([]); }}>{m.email || m.phone || `#${m.id}`}</button></li>
          ))}
        </ul>
      )}
      <details>
        <summary>…or describe a sample contact</summary>
        <label htmlFor="wb-test-email">Email</label>
        <input id="wb-test-email" className="input" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="sample@example.com" />
      </details>
      <button type="button" className="btn btn-primary" disabled={busy} onClick={() => onRun(contact ? { contact_id: contact.id } : { sample: { email: email || "sample@example.com" } })}>{busy ? "Running…" : "Run test"}</button>
      {error && <p className="error" role="alert">{error}</p>}
      {result && (
        <div className="wb-test-result" data-testid="test-result">
          <p><strong>{result.status}</strong> — {result.ended} <span className="muted small">(simulated until {new Date(result.simulated_until).toLocaleString()})</span></p>
          <ol className="wb-path">
            {result.path.map((s, i) => <li key={i}><code>{s.node}</code> {s.outcome}{s.port && s.port !== "default" ? ` → ${s.port}` : ""} <span className="muted small">{new Date(s.at).toLocaleString()}</span>{s.error ? <span className="error"> {s.error}</span> : null}</li>)}
          </ol>
          {result.messages.length > 0 && <h3>Messages it would send</h3>}
          {result.messages.map((m, i) => (
            <div key={i} className="wb-message" data-testid="test-message">
              <p className="small"><code>{m.node}</code> {m.channel} to {m.to || "—"}{m.subject ? <> · <strong>{m.subject}</strong></> : null}</p>
              {m.html ? <iframe title={`Rendered ${m.channel} of ${m.node}`} sandbox="" srcDoc={m.html} /> : <pre>{m.body || m.text}</pre>}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function perDay(messages) {
  const days = new Map();
  for (const channel of ["email", "sms"]) {
    for (const d of messages?.[channel] || []) {
      if (!days.has(d.date)) days.set(d.date, { date: d.date, email: 0, sms: 0 });
      days.get(d.date)[channel] += d.count;
    }
  }
  return [...days.values()].sort((a, b) => a.date.localeCompare(b.date));
}

export function PreviewPanel({ onRun, result, busy, error }) {
  const [days, setDays] = useState(7);
  return (
    <section aria-label="Preview on history">
      <h2>Preview on history</h2>
      <p className="muted small">Replays the last days of this workspace's real events through the draft (read-only, on a bounded sample) and shows what would have happened.</p>
      <div className="row-inline">
        <label>Last <select className="input" aria-label="Days of history" value={days} onChange={(e) => setDays(Number(e.target.value))}>{[1, 7, 14, 30].map((d) => <option key={d} value={d}>{d} days</option>)}</select></label>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => onRun(days)}>{busy ? "Replaying…" : "Run preview"}</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {result && (
        <div data-testid="preview-result">
          <p className="small" data-testid="preview-sample">
            {result.matched?.contacts ?? 0} contacts would have entered from {String(result.from).slice(0, 10)} to {String(result.to).slice(0, 10)}
            {result.sample ? ` — replayed ${result.sample.exact ? "all of them" : `a sample of ${result.sample.size} (numbers scaled ×${Number(result.sample.scale).toFixed(1)})`}` : ""}.
          </p>
          {result.totals && <p data-testid="preview-totals">This would have sent <strong>{result.totals.email ?? 0}</strong> emails and <strong>{result.totals.sms ?? 0}</strong> SMS.</p>}
          {(result.not_replayed || []).map((n) => <p key={n.node} className="muted small"><code>{n.node}</code>: {n.reason}</p>)}
          <table className="table">
            <thead><tr><th>Day</th><th>Emails</th><th>SMS</th></tr></thead>
            <tbody>{perDay(result.messages).map((d) => <tr key={d.date}><td>{d.date}</td><td>{d.email}</td><td>{d.sms}</td></tr>)}</tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function SettingsPanel({ workflow, onSave, busy, error, timezone }) {
  const [name, setName] = useState(workflow.name);
  const [reentry, setReentry] = useState(workflow.reentry || "never");
  const [reentryDays, setReentryDays] = useState(workflow.reentry_days || "");
  const win = workflow.send_window || null;
  const [windowOn, setWindowOn] = useState(!!win);
  const [start, setStart] = useState(win?.start || "09:00");
  const [end, setEnd] = useState(win?.end || "18:00");
  const [days, setDays] = useState(win?.days || [0, 1, 2, 3, 4]);
  const [cap, setCap] = useState(workflow.daily_message_cap || "");
  const [holdout, setHoldout] = useState(workflow.holdout_percent || 0);
  return (
    <form aria-label="Workflow settings" onSubmit={(e) => {
      e.preventDefault();
      onSave({
        name, reentry, reentry_days: reentry === "after_days" ? Number(reentryDays) || null : null,
        send_window: windowOn ? { start, end, days } : null,
        daily_message_cap: cap === "" ? null : Number(cap),
        holdout_percent: Number(holdout) || 0,
      });
    }}>
      <h2>Settings</h2>
      <label htmlFor="wb-name">Name</label>
      <input id="wb-name" className="input" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
      <label htmlFor="wb-reentry">Can a contact enter again?</label>
      <select id="wb-reentry" className="input" value={reentry} onChange={(e) => setReentry(e.target.value)}>
        <option value="never">Never</option>
        <option value="always">Always (one active run at a time)</option>
        <option value="after_days">Again after some days</option>
      </select>
      {reentry === "after_days" && (<><label htmlFor="wb-reentry-days">Days</label><input id="wb-reentry-days" className="input num" type="number" min="1" value={reentryDays} onChange={(e) => setReentryDays(e.target.value)} /></>)}
      <label htmlFor="wb-holdout">Hold out (% of those who enter)</label>
      <input id="wb-holdout" className="input num" type="number" min="0" max="50" step="1" value={holdout} onChange={(e) => setHoldout(e.target.value)} aria-describedby="wb-holdout-help" />
      <small id="wb-holdout-help" className="muted">A random, stable share of contacts who enter get nothing from this workflow, so its lift on conversions and revenue can be measured against them (Analytics → the workflow's holdout). 0 = none; 10 is typical.</small>
      <fieldset>
        <legend>Send window</legend>
        <label className="inline-check"><input type="checkbox" checked={windowOn} onChange={(e) => setWindowOn(e.target.checked)} /> Only send between set hours</label>
        {windowOn && (
          <div>
            <div className="row-inline">
              <label>From <input className="input" type="time" value={start} onChange={(e) => setStart(e.target.value)} /></label>
              <label>to <input className="input" type="time" value={end} onChange={(e) => setEnd(e.target.value)} /></label>
            </div>
            <div>{["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((d, i) => (
              <label key={d} className="inline-check"><input type="checkbox" checked={days.includes(i)} onChange={(e) => setDays(e.target.checked ? [...days, i].sort() : days.filter((x) => x !== i))} /> {d}</label>
            ))}</div>
            <p className="muted small">Timezone: each contact's own timezone; contacts without one use the workspace's ({timezone}).</p>
          </div>
        )}
      </fieldset>
      <label htmlFor="wb-cap">At most this many messages per contact a day (optional)</label>
      <input id="wb-cap" className="input num" type="number" min="1" value={cap} onChange={(e) => setCap(e.target.value)} />
      {error && <p className="error" role="alert">{error}</p>}
      <button className="btn btn-primary" type="submit" disabled={busy}>{busy ? "Saving…" : "Save settings"}</button>
    </form>
  );
}

export async function loadLookups() {
  const map = (items, label = (x) => x.name) => Object.fromEntries(items.map((x) => [x.id, label(x)]));
  const safe = (p) => p.catch(() => []);
  const [emails, sms, segments, workflows, members] = await Promise.all([
    safe(apiList("messaging/email-templates/")),
    safe(apiList("messaging/sms-templates/")),
    safe(apiList("segments/")),
    safe(apiList("workflows/")),
    safe(apiList("members/")),
  ]);
  const lists = segments.filter((x) => x.kind === "static");
  const person = (m) => m.name || m.email;
  return {
    emailTemplates: map(emails), smsTemplates: map(sms), segments: map(segments), workflows: map(workflows),
    lists: map(lists),
    listOptions: lists.map((x) => ({ value: x.id, label: x.name, detail: `${x.member_count ?? 0} contacts` })),
    members: Object.fromEntries(members.map((m) => [m.user_id, person(m)])),
    memberOptions: members.map((m) => ({ value: m.user_id, label: person(m), detail: `${m.name ? `${m.email} · ` : ""}${m.role}` })),
  };
}
