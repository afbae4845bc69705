// The block email editor: a marketer composes an email from blocks (no HTML), with merge tags,
// dynamic blocks, images, saved blocks, undo/redo, a live preview as any contact and the
// pre-send checklist. Mounted on the template page and, in place, in broadcasts and the
// workflow builder (onSaved gets the saved template).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { historyPush, historyRedo, historyStart, historyUndo } from "../builder/history.js";
import { api, apiList, errorText, items } from "./api.js";
import { AddSelect, BlockList } from "./Blocks.jsx";
import {
  addBlock, BLOCK_TYPES, duplicateBlock, errorsByBlock, findBlock, insertBlock, localProblems, locate, mergeTag, moveBlock, moveBlockTo,
  newBlock, removeBlock, setColumnCount, setCondition, starterDocument, tagFallback, TYPE_LABELS, updateBlock, updateStyle, withFreshIds,
} from "./doc.js";
import { Inspector } from "./Inspector.jsx";
import { Checklist, Preview } from "./Preview.jsx";

const FONTS = {
  helvetica: "Helvetica, Arial, sans-serif", arial: "Arial, Helvetica, sans-serif", georgia: "Georgia, 'Times New Roman', serif",
  verdana: "Verdana, Geneva, sans-serif", trebuchet: "'Trebuchet MS', Helvetica, sans-serif", times: "'Times New Roman', Times, serif",
  courier: "'Courier New', Courier, monospace",
};

function editingField(el) {
  return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

function MergeTagPicker({ tags, target }) {
  const [tag, setTag] = useState("");
  const [fallback, setFallback] = useState("");
  const groups = useMemo(() => {
    const out = {};
    for (const t of tags) (out[t.group] ||= []).push(t);
    return out;
  }, [tags]);
  return (
    <form className="ee-merge" onSubmit={(e) => { e.preventDefault(); if (tag && target) target.insert(mergeTag(tag, fallback === "" && !/default\(/.test(tag) ? null : fallback)); }}
      aria-label="Insert a merge tag">
      <label className="ee-field">Merge tag
        <select className="input" id="ee-merge-tag" value={tag} onChange={(e) => { setTag(e.target.value); setFallback(tagFallback(e.target.value)); }}>
          <option value="">Choose…</option>
          {Object.entries(groups).map(([g, list]) => (
            <optgroup key={g} label={g}>{list.map((t) => <option key={t.tag} value={t.tag}>{t.label}</option>)}</optgroup>
          ))}
        </select>
      </label>
      <label className="ee-field">Fallback
        <input className="input" id="ee-merge-fallback" value={fallback} placeholder="when the contact has none" onChange={(e) => setFallback(e.target.value)} />
      </label>
      <button className="btn btn-sm" type="submit" disabled={!tag || !target} onMouseDown={(e) => e.preventDefault()}>
        Insert{target ? ` into ${target.label.toLowerCase()}` : ""}
      </button>
      {!target && <span className="muted small">Click into a text first.</span>}
    </form>
  );
}

function StarterGallery({ onPick, onClose }) {
  const [state, setState] = useState({ list: null, failure: "" });
  useEffect(() => {
    api("messaging/starter-templates/").then((d) => setState({ list: items(d), failure: "" })).catch((e) => setState({ list: [], failure: errorText(e) }));
  }, []);
  return (
    <section className="card ee-starters" aria-labelledby="ee-starters-h">
      <div className="card-head"><h2 id="ee-starters-h">Start from a starter template</h2>
        <button type="button" className="btn btn-sm" onClick={onClose}>Start blank instead</button></div>
      {state.list === null && <p className="muted">Loading…</p>}
      {state.failure && <p className="ee-error" role="alert">{state.failure}</p>}
      <ul className="ee-starter-list">
        {(state.list || []).map((s) => (
          <li key={s.key} className="card">
            <h3>{s.name}</h3><p className="muted small">{s.description}</p>
            <button type="button" className="btn btn-primary btn-sm" onClick={() => onPick(s)} aria-label={`Use the ${s.name} starter`}>Use this</button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Editor({ boot, onSaved, onCancel, embedded = false }) {
  const initial = boot.template;
  const [hist, setHist] = useState(() => historyStart(initial?.document || starterDocument()));
  const doc = hist.present;
  const [meta, setMeta] = useState({ name: initial?.name || "", subject: initial?.subject ?? 'Welcome, {{ first_name | default("there") }}', preheader: initial?.preheader || "" });
  const [templateId, setTemplateId] = useState(initial?.id || null);
  const [version, setVersion] = useState(initial?.version || null);
  const [selected, setSelected] = useState(null);
  const [target, setTarget] = useState(null);
  const [brand, setBrand] = useState({});
  const [saved, setSaved] = useState([]);
  const [lookups, setLookups] = useState({ fields: [], segments: {} });
  const [tags, setTags] = useState([]);
  const [status, setStatus] = useState({ state: "idle", message: "" });
  const [serverErrors, setServerErrors] = useState({});
  const [showStarters, setShowStarters] = useState(!!boot.starters && !initial);
  const [announcement, setAnnouncement] = useState("");
  const [test, setTest] = useState({ to: boot.testTo || "", message: "" });
  const [contact, setContact] = useState(null); // the preview's and the test send's contact
  const dragging = useRef(null);
  const coalesceRef = useRef(null);
  const savedDoc = useRef(JSON.stringify({ doc, meta }));

  useEffect(() => {
    api("messaging/brand/").then(setBrand).catch(() => {});
    api("messaging/saved-blocks/").then((d) => setSaved(items(d))).catch(() => {});
    Promise.all([
      api("workflows/autocomplete/fields/").then((d) => d.results || []).catch(() => []),
      apiList("segments/").catch(() => []),
      api("tags/").then((d) => items(d).map((t) => t.name || t.tag || t)).catch(() => []),
    ]).then(([fields, segments, tagNames]) => {
      setLookups({ fields, segments: Object.fromEntries(segments.map((s) => [s.id, s.name])) });
      setTags(tagNames);
    });
  }, []);

  const commit = useCallback((fn, key = null) => {
    setHist((h) => {
      const next = fn(h.present);
      if (next === h.present) return h;
      if (key && coalesceRef.current === key && h.past.length) return { ...h, present: next, future: [] };
      coalesceRef.current = key;
      return historyPush(h, next);
    });
  }, []);
  const undo = useCallback(() => { coalesceRef.current = null; setHist(historyUndo); setAnnouncement("Undone."); }, []);
  const redo = useCallback(() => { coalesceRef.current = null; setHist(historyRedo); setAnnouncement("Redone."); }, []);

  useEffect(() => {
    const onKey = (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== "z" && e.key.toLowerCase() !== "y") return;
      if (editingField(document.activeElement)) return; // the field's own undo
      e.preventDefault();
      if (e.key.toLowerCase() === "y" || e.shiftKey) redo(); else undo();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo, redo]);

  const focusBlock = (id) => requestAnimationFrame(() => document.querySelector(`[data-block-id="${id}"] .ee-block-name`)?.focus());

  const ctx = {
    selected, brand, lookups, dragging, setTarget,
    problems: useMemo(() => {
      const out = errorsByBlock(doc, serverErrors);
      for (const p of localProblems(doc)) if (p.id && !(out[p.id] || []).length) out[p.id] = [];
      return out;
    }, [doc, serverErrors]),
    select: (id) => setSelected(id),
    update: (id, patch, key) => commit((d) => updateBlock(d, id, patch), key),
    style: (id, patch) => commit((d) => updateStyle(d, id, patch), `style-${id}-${Object.keys(patch)[0]}`),
    condition: (id, value) => commit((d) => setCondition(d, id, value), `cond-${id}`),
    setColumns: (id, n) => commit((d) => setColumnCount(d, id, n)),
    add: (type, where = {}) => {
      const block = newBlock(type); // made here: an updater may run later, during render
      const newId = block.id;
      commit((d) => addBlock(d, type, where, block)[0]);
      setSelected(newId);
      setAnnouncement(`${TYPE_LABELS[type]} block added.`);
      focusBlock(newId);
    },
    move: (id, delta) => {
      commit((d) => moveBlock(d, id, delta));
      setAnnouncement(delta < 0 ? "Moved up." : "Moved down.");
      // Focus stays on the control that moved it (or its name, at the end of the list).
      requestAnimationFrame(() => {
        const card = document.querySelector(`[data-block-id="${id}"]`);
        const same = card?.querySelector(`:scope > .ee-block-head [aria-label$=" ${delta < 0 ? "up" : "down"}"]:not(:disabled)`);
        (same || card?.querySelector(".ee-block-name"))?.focus();
      });
    },
    duplicate: (id) => {
      const source = findBlock(doc, id);
      if (!source) return;
      const copy = withFreshIds(source);
      commit((d) => duplicateBlock(d, id, copy)[0]);
      setSelected(copy.id);
      setAnnouncement("Block duplicated.");
    },
    remove: (id) => {
      commit((d) => removeBlock(d, id));
      if (selected === id) setSelected(null);
      setAnnouncement("Block deleted. Undo brings it back.");
    },
    dropBefore: (beforeId) => { const id = dragging.current; dragging.current = null; if (id) { commit((d) => moveBlockTo(d, id, { beforeId })); setAnnouncement("Moved."); } },
    dropAtEnd: (parentId, column) => { const id = dragging.current; dragging.current = null; if (id) commit((d) => moveBlockTo(d, id, { parentId, column })); },
    bodyStyle: (block) => {
      const s = block.style || {};
      const pad = s.padding ? s.padding.map((p) => `${p}px`).join(" ") : undefined;
      return { padding: pad, textAlign: s.align, background: s.background, color: s.color, fontSize: s.font_size ? `${s.font_size}px` : undefined };
    },
    saveBlock: async (block, name) => {
      try {
        const created = await api("messaging/saved-blocks/", { method: "POST", body: { name, block } });
        setSaved((list) => [...list.filter((x) => x.name !== created.name), created]);
        return `Saved as “${created.name}”.`;
      } catch (e) {
        return errorText(e);
      }
    },
  };

  const insertSaved = (sb) => {
    const block = withFreshIds(sb.block);
    let at;
    commit((d) => {
      if (block.type === "footer" && d.blocks.some((b) => b.type === "footer")) return d;
      const footer = d.blocks.findIndex((b) => b.type === "footer");
      at = block.type !== "footer" && footer >= 0 ? footer : undefined;
      return insertBlock(d, block, { index: at });
    });
    setSelected(block.id);
    setAnnouncement(`Inserted the saved block “${sb.name}”.`);
  };
  const deleteSaved = async (sb) => {
    try {
      await api("messaging/saved-blocks/", { method: "DELETE", body: { id: sb.id } });
      setSaved((list) => list.filter((x) => x.id !== sb.id));
    } catch (e) {
      setAnnouncement(errorText(e));
    }
  };

  const pickStarter = (s) => {
    setHist((h) => historyPush(h, withIdsKept(s.document)));
    setMeta((m) => ({ name: m.name || s.name, subject: s.subject || m.subject, preheader: s.preheader || m.preheader }));
    setShowStarters(false);
    setAnnouncement(`Started from “${s.name}”.`);
  };

  // The document as it stands, for browser tests and the console (read-only).
  useEffect(() => { window.__tendrilEmail = { doc, meta, templateId }; }, [doc, meta, templateId]);

  const payload = useMemo(() => ({ document: doc, subject: meta.subject, preheader: meta.preheader }), [doc, meta.subject, meta.preheader]);
  const dirty = JSON.stringify({ doc, meta }) !== savedDoc.current;

  useEffect(() => {
    if (embedded) return undefined;
    const warn = (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty, embedded]);

  const save = async (e) => {
    e?.preventDefault();
    const local = localProblems(doc);
    if (local.length) {
      setStatus({ state: "error", message: local.map((p) => p.message).join(" ") });
      if (local[0].id) { setSelected(local[0].id); focusBlock(local[0].id); }
      return;
    }
    setStatus({ state: "saving", message: "Saving…" });
    setServerErrors({});
    const body = { name: meta.name, subject: meta.subject, preheader: meta.preheader, document: doc };
    try {
      const result = templateId
        ? await api(`messaging/email-templates/${templateId}/`, { method: "PATCH", body })
        : await api("messaging/email-templates/", { method: "POST", body });
      savedDoc.current = JSON.stringify({ doc, meta });
      setTemplateId(result.id);
      setVersion(result.version);
      setStatus({ state: "saved", message: `Saved “${result.name}” (version ${result.version}).` });
      if (onSaved) onSaved(result);
      else if (!templateId && boot.urls?.edit) window.history.replaceState(null, "", boot.urls.edit.replace("0", String(result.id)));
    } catch (error) {
      const fields = error.fields || {};
      const docErrors = {};
      for (const [k, v] of Object.entries(fields)) if (k.startsWith("blocks") || k.startsWith("document")) docErrors[k.replace(/^document\./, "")] = v;
      setServerErrors(docErrors);
      setStatus({ state: "error", message: errorText(error), fields });
    }
  };

  const sendTest = async (e) => {
    e.preventDefault();
    setTest((t) => ({ ...t, message: "Sending…" }));
    try {
      await api(`messaging/email-templates/${templateId}/test/`, { method: "POST", body: { to: test.to, contact: contact?.id ?? null } });
      setTest((t) => ({ ...t, message: `Test sent to ${t.to}${contact ? ` as ${contact.email}` : ""}.` }));
    } catch (error) {
      setTest((t) => ({ ...t, message: errorText(error) }));
    }
  };

  const selectedBlock = selected ? findBlock(doc, selected) : null;
  const fieldError = (name) => {
    const v = status.fields?.[name];
    return v ? <small className="ee-error" id={`ee-${name}-err`}>{Array.isArray(v) ? v.join(" ") : String(v)}</small> : null;
  };
  const canvasStyle = { background: brand.content_color || "#fff", color: brand.text_color || undefined, fontFamily: FONTS[brand.font] || undefined };
  const metaInput = (name, label, extra = {}) => (
    <label className="ee-field">{label}
      <input className="input" name={`ee-${name}`} value={meta[name]} aria-invalid={!!status.fields?.[name]} aria-describedby={status.fields?.[name] ? `ee-${name}-err` : undefined}
        onFocus={(ev) => name !== "name" && setTarget({ label, insert: (text) => {
          const el = ev.target;
          const a = el.selectionStart ?? meta[name].length;
          const b = el.selectionEnd ?? a;
          setMeta((m) => ({ ...m, [name]: m[name].slice(0, a) + text + m[name].slice(b) }));
        } })}
        onChange={(ev) => setMeta((m) => ({ ...m, [name]: ev.target.value }))} {...extra} />
      {fieldError(name)}
    </label>
  );

  return (
    <div className={`ee${embedded ? " ee-embedded" : ""}`}>
      <datalist id="tendril-tags">{tags.map((t) => <option key={t} value={t} />)}</datalist>
      <datalist id="tendril-fields">{lookups.fields.map((f) => <option key={f.name} value={f.name} />)}</datalist>
      <p className="sr-only" aria-live="polite" id="ee-announce">{announcement}</p>
      <form className="card ee-meta" onSubmit={save} aria-label="Email details">
        {metaInput("name", "Template name", { required: true, placeholder: "e.g. Welcome" })}
        {metaInput("subject", "Subject", { required: true })}
        {metaInput("preheader", "Preheader", { placeholder: "the preview text after the subject" })}
        <div className="ee-actions">
          <button type="button" className="btn btn-sm" onClick={undo} disabled={!hist.past.length} aria-keyshortcuts="Control+Z">Undo</button>
          <button type="button" className="btn btn-sm" onClick={redo} disabled={!hist.future.length} aria-keyshortcuts="Control+Shift+Z">Redo</button>
          <button className="btn btn-primary" type="submit" disabled={status.state === "saving"}>{templateId ? "Save version" : "Save template"}</button>
          {onCancel && <button type="button" className="btn" onClick={onCancel}>Close</button>}
          <span className={`small ee-status is-${status.state}`} role={status.state === "error" ? "alert" : "status"} id="ee-save-status">
            {status.message || (dirty ? "Unsaved changes." : version ? `Version ${version}.` : "")}
          </span>
        </div>
      </form>
      {showStarters && <StarterGallery onPick={pickStarter} onClose={() => setShowStarters(false)} />}
      <div className="ee-toolbar card">
        <MergeTagPicker tags={boot.mergeTags || []} target={target} />
      </div>
      <div className="ee-body">
        <section className="ee-palette card" aria-label="Blocks to add">
          <h2>Add a block</h2>
          <ul className="ee-palette-list">
            {BLOCK_TYPES.map((t) => (
              <li key={t.type}><button type="button" className="btn btn-sm" data-add={t.type}
                disabled={t.type === "footer" && doc.blocks.some((b) => b.type === "footer")}
                onClick={() => ctx.add(t.type, selected && t.type !== "footer" && locate(doc, selected)?.parentId == null ? { afterId: selected } : {})}>{t.label}</button></li>
            ))}
          </ul>
          <h2>Saved blocks</h2>
          {saved.length === 0 ? <p className="muted small">None yet: “Save block” in a block’s settings keeps it here.</p> : (
            <ul className="ee-palette-list" id="ee-saved-blocks">
              {saved.map((sb) => (
                <li key={sb.id} className="ee-inline">
                  <button type="button" className="btn btn-sm" onClick={() => insertSaved(sb)} aria-label={`Insert saved block ${sb.name}`}>{sb.name}</button>
                  <button type="button" className="btn btn-sm" onClick={() => deleteSaved(sb)} aria-label={`Delete saved block ${sb.name}`}>×</button>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="ee-canvas card" style={canvasStyle} aria-label="Email content">
          {brand.logo_url && <img className="ee-logo" src={brand.logo_url} alt="Brand logo" />}
          <BlockList blocks={doc.blocks} ctx={ctx} />
          <AddSelect label="Add a block at the end" types={BLOCK_TYPES.map((t) => t.type)} onAdd={(t) => ctx.add(t)} />
          {(serverErrors && Object.keys(errorsByBlock(doc, serverErrors)).includes("")) && (
            <ul className="ee-error">{errorsByBlock(doc, serverErrors)[""].map((m) => <li key={m}>{m}</li>)}</ul>
          )}
        </section>
        <section className="ee-side card" aria-label="Block settings">
          <Inspector block={selectedBlock} topLevel={selectedBlock ? locate(doc, selectedBlock.id)?.parentId == null : false} ctx={ctx} />
        </section>
      </div>
      <div className="ee-bottom">
        <Preview payload={payload} contact={contact} setContact={setContact} />
        <div className="stack">
          <Checklist payload={payload} />
          {templateId && (
            <section className="card" aria-labelledby="ee-test-h">
              <h2 id="ee-test-h">Send a test</h2>
              <form className="ee-inline" onSubmit={sendTest}>
                <label className="ee-field">To<input className="input" type="email" required value={test.to} onChange={(e) => setTest({ to: e.target.value, message: "" })} /></label>
                <button className="btn" type="submit" disabled={dirty}>Send test</button>
              </form>
              <p className="small" role="status" id="ee-test-status">{dirty ? "Save first: the test sends the saved version." : test.message}</p>
            </section>
          )}
        </div>
      </div>
    </div>
  );
}

// A starter's document keeps its ids (they are unique within it).
function withIdsKept(document) {
  return JSON.parse(JSON.stringify(document));
}
