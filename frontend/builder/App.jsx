// The workflow builder island. The graph lives in an undo/redo history of immutable
// snapshots; the canvas is drawn from it by layout.js; every change is autosaved as the
// draft with the version token the server hands back (a stale token is refused: 409).
import { ReactFlowProvider } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError, whenIdle } from "./api.js";
import { Canvas } from "./Canvas.jsx";
import { NodeProblems, SchemaForm } from "./ConfigPanel.jsx";
import { summary as summarize } from "./describe.js";
import { historyPush, historyRedo, historyStart, historyUndo } from "./history.js";
import { layoutGraph } from "./layout.js";
import {
  canMoveDown, canMoveUp, changeType, deleteNode, DEFAULT, duplicateNode, emptyGraph, incoming, insertNode,
  kindOf, moveDown, moveUp, nodeById, normalize, portsOf, pruneDanglingPorts, serialize, subtreeOf, target, updateConfig,
} from "./model.js";
import { ConfirmDialog, loadLookups, PreviewPanel, ProblemsPanel, PublishDialog, SettingsPanel, StatsPanel, TestPanel, VersionsPanel } from "./Panels.jsx";
import { Palette, Picker } from "./Picker.jsx";
import { SplitDecision } from "./SplitDecision.jsx";
import { mergeProblems, problemsByNode, validateGraph } from "./validate.js";

const SAVE_DELAY = 600;
const STANDARD_FIELDS = ["email", "phone", "first_name", "last_name", "company", "job_title", "country", "city", "timezone", "lifecycle_stage", "score", "created_at"];
const TABS = [["step", "Step"], ["problems", "Problems"], ["settings", "Settings"], ["versions", "Versions"], ["stats", "Stats"], ["test", "Test"], ["preview", "Preview"]];

function fieldsToProblems(error) {
  const out = [];
  for (const [key, messages] of Object.entries(error.fields || {})) {
    const m = key.match(/^nodes\.(.+)$/);
    for (const message of [].concat(messages)) out.push({ node: m ? m[1] : null, level: "error", code: "server", message: m ? message : `${key}: ${message}` });
  }
  if (!out.length) out.push({ node: null, level: "error", code: error.code, message: error.message });
  return out;
}

// Today's stats shape and builder-api's (node, arms, messages.open_rate) read alike.
function statsOfNode(n) {
  const m = n.messages || {};
  return {
    ...n,
    sent: n.sent ?? m.sent ?? 0,
    rate_opened: n.rate_opened ?? m.open_rate ?? null,
    rate_clicked: n.rate_clicked ?? m.click_rate ?? null,
  };
}

function markReady() {
  window.__tendrilBuilder = { ...(window.__tendrilBuilder || {}), ready: performance.now() };
}

function isTyping(el) {
  return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

export function App({ boot }) {
  const types = useMemo(() => Object.fromEntries(boot.nodeTypes.map((t) => [t.type, t])), [boot.nodeTypes]);
  const typeLabels = useMemo(() => Object.fromEntries(boot.nodeTypes.map((t) => [t.type, t.label])), [boot.nodeTypes]);
  const [workflow, setWorkflow] = useState(boot.workflow);
  const [hist, setHist] = useState(() => historyStart(normalize(boot.graph || emptyGraph())));
  const graph = hist.present;
  const [viewing, setViewing] = useState(null); // an old version, read-only
  const [selected, setSelected] = useState(null);
  const [focus, setFocus] = useState(null);
  const [picker, setPicker] = useState(null);
  const [tab, setTab] = useState("step");
  const [save, setSave] = useState({ state: "saved", message: "" });
  const [serverCheck, setServerCheck] = useState(null);
  const [blocked, setBlocked] = useState(false);
  const [confirm, setConfirm] = useState(null);
  const [publishing, setPublishing] = useState(null);
  const [overlay, setOverlay] = useState(null);
  const [stats, setStats] = useState(null);
  const [nodeContacts, setNodeContacts] = useState(null);
  const [test, setTest] = useState({});
  const [preview, setPreview] = useState({});
  const [settings, setSettings] = useState({});
  const [lookups, setLookups] = useState({});
  const [announcement, setAnnouncement] = useState("");
  const [narrow, setNarrow] = useState(() => window.matchMedia("(max-width: 700px)").matches);
  const [versionsKey, setVersionsKey] = useState(0);
  const revisionRef = useRef(boot.revision); // undefined: not known yet; null: the server has no revisions
  const draftLoaded = useRef(null);
  const savedRef = useRef(graph);
  const savingRef = useRef(null);
  const conflictRef = useRef(null);
  const coalesceRef = useRef(null);
  const problemsHeading = useRef(null);
  const eventsLoaded = useRef(false);
  const [events, setEvents] = useState([]);
  const [tags, setTags] = useState([]);
  const [attributes, setAttributes] = useState([]);
  const [fieldCatalog, setFieldCatalog] = useState([]); // name, label, type, operators

  const readOnly = !boot.canEdit || !!viewing || workflow.status === "archived" || narrow;
  const shown = viewing ? viewing.graph : graph;
  const announce = useCallback((text) => setAnnouncement(text), []);

  useEffect(() => {
    const mq = window.matchMedia("(max-width: 700px)");
    const on = () => setNarrow(mq.matches);
    mq.addEventListener("change", on);
    return () => mq.removeEventListener("change", on);
  }, []);

  // The draft's revision (the version token): every save sends it back; a stale one is a 409.
  // The page embeds it with the graph; the draft's server-side validation (warnings such as
  // an event never received) is asked for once the canvas is drawn. If someone saved in
  // between and nothing was edited here yet, their draft is shown instead.
  useEffect(() => whenIdle(() => {
    draftLoaded.current = api(`workflows/${boot.workflow.id}/draft/`)
      .then((d) => {
        const known = revisionRef.current;
        if (known === undefined) revisionRef.current = d.revision ?? null; // a page without it
        if (d.validation) setServerCheck(d.validation);
        setHist((h) => {
          if (h.past.length || !d.graph) return h;
          const theirs = normalize(d.graph);
          if (JSON.stringify(serialize(theirs)) === JSON.stringify(serialize(h.present))) return h;
          revisionRef.current = d.revision ?? null;
          savedRef.current = theirs;
          return historyStart(theirs);
        });
      })
      .catch(() => { if (revisionRef.current === undefined) revisionRef.current = null; });
  }), [boot.workflow.id]);

  const reloadLookups = useCallback(() => loadLookups().then(setLookups), []);
  useEffect(() => { reloadLookups(); }, [reloadLookups]);
  // Tags and attribute names only fill the side panel's suggestions: asked for after the
  // canvas is drawn, not in the way of the first paint.
  useEffect(() => whenIdle(() => {
    api("tags/").then((d) => setTags((d.results || d || []).map((t) => t.name || t.tag || t))).catch(() => {});
    api("workflows/autocomplete/fields/")
      .then((d) => { setFieldCatalog(d.results || []); setAttributes((d.results || []).map((a) => a.name)); })
      .catch(() => api("attributes/").then((d) => setAttributes((d.results || []).map((a) => a.key || a.name))).catch(() => {}));
  }), []);
  const loadEvents = useCallback(() => {
    if (eventsLoaded.current) return;
    eventsLoaded.current = true;
    api("workflows/autocomplete/events/?limit=100")
      .then((d) => setEvents((d.results || []).map((e) => e.name || e)))
      .catch(() => api("events/?limit=500").then((d) => setEvents([...new Set((d.results || []).map((e) => e.name).filter(Boolean))])).catch(() => {}));
  }, []);

  const [properties, setProperties] = useState([]);
  const loadProperties = useCallback((event) => {
    if (!event) return;
    api(`workflows/autocomplete/properties/?event=${encodeURIComponent(event)}`).then((d) => setProperties((d.results || []).map((p) => p.name || p))).catch(() => {});
  }, []);

  // --- editing ------------------------------------------------------------------------------
  const commit = useCallback((next, { coalesce = null } = {}) => {
    setHist((h) => {
      if (coalesce && coalesceRef.current === coalesce && h.past.length) return { ...h, present: next, future: [] };
      coalesceRef.current = coalesce;
      return historyPush(h, next);
    });
  }, []);

  const labelOf = useCallback((id) => { const n = nodeById(graph, id); return n ? `${types[n.type]?.label || n.type} (${id})` : id; }, [graph, types]);

  const select = useCallback((id, { focus: doFocus = true } = {}) => {
    setSelected(id);
    if (id) setTab((t) => (t === "stats" || t === "test" || t === "preview" ? t : "step"));
    if (id && doFocus) setFocus({ id, seq: Math.random() });
  }, []);

  const insert = useCallback((source, port, type) => {
    if (readOnly || !types[type]) return;
    if ((kindOf(type) === "trigger") !== (source === null)) { announce("A trigger can only start the workflow."); return; }
    const spec = types[type];
    if (source !== null && !spec.ports.length && target(graph, source, port)) { announce(`${spec.label} ends the run: add it on an empty arm.`); return; }
    const { graph: next, id } = insertNode(graph, { source, port, type }, types);
    commit(next);
    setPicker(null);
    select(id);
    announce(`Added ${spec.label} (${id})${source ? ` after ${labelOf(source)}` : ""}.`);
  }, [readOnly, types, graph, commit, select, announce, labelOf]);

  const openPicker = useCallback((source, port) => {
    if (readOnly) return;
    const after = source === null ? null : labelOf(source);
    setPicker({ source, port, kinds: source === null ? ["trigger"] : ["wait", "branch", "action", "goal"], title: after ? `Add a step after ${after}${port !== DEFAULT ? ` (${port})` : ""}` : "Choose a trigger" });
  }, [readOnly, labelOf]);

  // Contacts at this step in the live version (asked when deleting: they must go somewhere).
  const liveWaiting = useCallback(async (id) => {
    if (!workflow.current_version) return 0;
    const known = stats?.nodes?.[id]?.waiting;
    if (known !== undefined) return known;
    try {
      const at = await api(`workflows/${workflow.id}/nodes/${encodeURIComponent(id)}/contacts/?limit=1`);
      return at?.count || 0;
    } catch { return 0; }
  }, [workflow.id, workflow.current_version, stats]);

  const requestDelete = useCallback(async (id) => {
    const node = nodeById(graph, id);
    if (!node || readOnly) return;
    if (kindOf(node.type) === "trigger" && graph.nodes.filter((n) => kindOf(n.type) === "trigger").length === 1 && graph.nodes.length > 1) {
      announce("The only trigger cannot be deleted: change its kind in the side panel.");
      setTab("step");
      return;
    }
    const under = portsOf(node, types).length > 1 ? subtreeOf(graph, id) : [];
    const waiting = await liveWaiting(id);
    setConfirm({
      message: under.length ? `Delete ${labelOf(id)} and the ${under.length} step${under.length > 1 ? "s" : ""} under it?` : `Delete ${labelOf(id)}?`,
      detail: `${under.length ? `Every arm of this branch goes with it: ${under.join(", ")}. ` : ""}${waiting ? `${waiting} contact${waiting === 1 ? " waits" : "s wait"} here in the live version: they stay there until you publish, and publishing asks which step they move to. ` : ""}You can undo with Ctrl+Z.`,
      onYes: () => {
        const parent = incoming(graph, id)[0]?.source || null;
        commit(deleteNode(graph, id, types));
        setSelected(null);
        announce(`Deleted ${labelOf(id)}${under.length ? ` and ${under.length} steps` : ""}.`);
        if (parent) setFocus({ id: parent, seq: Math.random() });
      },
    });
  }, [graph, readOnly, types, commit, announce, labelOf, liveWaiting]);

  const undo = useCallback(() => { coalesceRef.current = null; setHist((h) => historyUndo(h)); announce("Undone."); }, [announce]);
  const redo = useCallback(() => { coalesceRef.current = null; setHist((h) => historyRedo(h)); announce("Redone."); }, [announce]);

  // Keyboard on a focused step: Tab opens the picker after it, Enter edits, Delete asks,
  // arrows move between steps. Esc clears the selection so Tab leaves the canvas again.
  const onNodeKey = useCallback((e, id) => {
    const node = nodeById(graph, id);
    if (!node) return;
    if (e.key === "Tab" && !e.shiftKey && selected === id && !readOnly && portsOf(node, types).length) {
      e.preventDefault();
      const ports = portsOf(node, types);
      const port = ports.find((p) => !target(graph, id, p)) || ports[0];
      openPicker(id, port);
    } else if (e.key === "Enter") {
      e.preventDefault();
      setTab("step");
      requestAnimationFrame(() => document.querySelector(".wb-side .cfg-form input, .wb-side .cfg-form select, .wb-side .cfg-duration input")?.focus());
    } else if (e.key === "Escape") {
      setSelected(null);
    } else if (e.key.startsWith("Arrow")) {
      e.preventDefault();
      const layout = layoutGraph(graph, types, { placeholders: false });
      const me = layout.nodes.find((n) => n.id === id);
      let next = null;
      if (e.key === "ArrowDown") next = target(graph, id, portsOf(node, types).find((p) => target(graph, id, p)) || DEFAULT);
      else if (e.key === "ArrowUp") next = incoming(graph, id)[0]?.source || null;
      else {
        const row = layout.nodes.filter((n) => n.depth === me.depth).sort((a, b) => a.x - b.x);
        const i = row.findIndex((n) => n.id === id);
        next = row[i + (e.key === "ArrowRight" ? 1 : -1)]?.id || null;
      }
      if (next) select(next);
    }
  }, [graph, types, selected, readOnly, openPicker, select]);

  useEffect(() => {
    const onKey = (e) => {
      if (confirm || publishing || picker) return;
      const mod = e.ctrlKey || e.metaKey;
      if (mod && (e.key === "z" || e.key === "Z") && !isTyping(e.target)) {
        e.preventDefault();
        if (readOnly) return;
        if (e.shiftKey) redo(); else undo();
      } else if (mod && e.key === "y" && !isTyping(e.target)) {
        e.preventDefault();
        if (!readOnly) redo();
      } else if (e.key === "Delete" && selected && !isTyping(e.target)) {
        e.preventDefault();
        requestDelete(selected);
      }
      // Backspace never deletes a step.
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [confirm, publishing, picker, readOnly, selected, undo, redo, requestDelete]);

  // --- autosave -----------------------------------------------------------------------------
  const putDraft = useCallback(async (graphToSave) => {
    await draftLoaded.current?.catch(() => {});
    const body = { graph: serialize(graphToSave) };
    if (revisionRef.current !== null) {
      try {
        const saved = await api(`workflows/${workflow.id}/draft/`, { method: "PUT", body: { ...body, revision: revisionRef.current } });
        revisionRef.current = saved.revision;
        if (saved.validation) setServerCheck(saved.validation);
        return saved.draft;
      } catch (error) {
        if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 405)) throw error;
        revisionRef.current = null; // a server without drafts' revisions: save a version
      }
    }
    setServerCheck(null);
    return api(`workflows/${workflow.id}/versions/`, { method: "POST", body });
  }, [workflow.id]);

  const saveNow = useCallback(async () => {
    if (savingRef.current) await savingRef.current.catch(() => {});
    const graphToSave = hist.present;
    if (graphToSave === savedRef.current) return true;
    setSave({ state: "saving", message: "" });
    const run = putDraft(graphToSave);
    savingRef.current = run;
    try {
      const version = await run;
      savedRef.current = graphToSave;
      setSave({ state: "saved", message: version ? `Draft v${version.number} saved.` : "" });
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        conflictRef.current = error.body?.error?.current || null;
        setSave({ state: "conflict", message: error.message || "This draft was changed in another tab. Your changes are kept here, not saved." });
        announce("Not saved: the draft was changed elsewhere.");
      } else {
        setSave({ state: "error", message: error.message });
      }
      return false;
    } finally {
      savingRef.current = null;
    }
  }, [hist.present, putDraft, announce]);

  useEffect(() => {
    if (readOnly || graph === savedRef.current || save.state === "conflict") return undefined;
    setSave((s) => (s.state === "saving" ? s : { state: "dirty", message: "" }));
    const t = setTimeout(saveNow, SAVE_DELAY);
    return () => clearTimeout(t);
  }, [graph, readOnly, saveNow, save.state]);

  useEffect(() => {
    const warn = (e) => { if (hist.present !== savedRef.current && !readOnly) { e.preventDefault(); e.returnValue = ""; } };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [hist.present, readOnly]);

  const resolveConflict = useCallback(async (keepMine) => {
    let current = conflictRef.current;
    if (!current) current = await api(`workflows/${workflow.id}/draft/`).catch(() => null);
    conflictRef.current = null;
    if (current?.revision !== undefined) revisionRef.current = current.revision;
    if (keepMine) {
      savedRef.current = null;
      setSave({ state: "dirty", message: "" });
    } else {
      const theirs = normalize(current?.graph || emptyGraph());
      savedRef.current = theirs;
      commit(theirs);
      setSave({ state: "saved", message: "Loaded the other version; Undo brings yours back." });
      announce("Loaded the saved draft. Undo brings your version back.");
    }
  }, [workflow.id, commit, announce]);

  // --- validation and publish ---------------------------------------------------------------
  const localProblems = useMemo(() => validateGraph(graph, types), [graph, types]);
  const problems = useMemo(() => mergeProblems(localProblems, serverCheck), [localProblems, serverCheck]);
  const byNode = useMemo(() => problemsByNode(problems), [problems]);

  const focusNode = useCallback((id) => { select(id); setTab("step"); }, [select]);

  const startPublish = useCallback(async () => {
    if (!(await saveNow())) { announce("Save the draft first."); return; }
    let server = null;
    try {
      server = await api(`workflows/${workflow.id}/validate/`, { method: "POST", body: {} });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) server = { errors: fieldsToProblems(error), warnings: [] };
    }
    setServerCheck(server);
    const all = mergeProblems(localProblems, server);
    const errors = all.filter((p) => p.level === "error");
    if (errors.length) {
      setBlocked(true);
      setTab("problems");
      announce(`Publishing is blocked: ${errors.length} problem${errors.length > 1 ? "s" : ""}.`);
      requestAnimationFrame(() => problemsHeading.current?.focus());
      return;
    }
    setBlocked(false);
    let summaryData = null;
    try { summaryData = await api(`workflows/${workflow.id}/publish-summary/`); } catch { summaryData = null; }
    const trigger = graph.nodes.filter((n) => kindOf(n.type) === "trigger").map((n) => `${types[n.type].label}: ${summarize(n, lookups)}`).join("; ");
    const sends = graph.nodes.filter((n) => n.type === "action.email" || n.type === "action.sms").length;
    const rows = [
      ["Who can enter", summaryData?.entry?.text || trigger],
      ["Contacts matching now", summaryData?.matching_now ? summaryData.matching_now.text || String(summaryData.matching_now.count) : "—"],
      ...(summaryData?.reentry?.text ? [["Re-entry", summaryData.reentry.text]] : []),
      ["Steps", `${graph.nodes.length} (${sends} send${sends === 1 ? "" : "s"})`],
      ["Version", workflow.draft ? `v${workflow.draft.number}` : "the draft"],
      ["Runs in flight", workflow.current_version ? "keep the version they started on" : "none yet"],
    ];
    setPublishing({ rows, warnings: all.filter((p) => p.level === "warning"), removed: summaryData?.removed_nodes?.filter((r) => r.waiting) || [], move: {}, busy: false, error: null });
  }, [saveNow, workflow, localProblems, graph, types, lookups, announce]);

  const doPublish = useCallback(async (move) => {
    setPublishing((p) => ({ ...p, busy: true, error: null }));
    try {
      const body = { confirm_warnings: true };
      if (move && Object.keys(move).length) body.move = move;
      const fresh = await api(`workflows/${workflow.id}/publish/`, { method: "POST", body });
      setWorkflow(fresh);
      setPublishing(null);
      draftLoaded.current = api(`workflows/${workflow.id}/draft/`).then((d) => { revisionRef.current = d.revision ?? null; }).catch(() => {});
      setVersionsKey((k) => k + 1);
      announce(`Published v${fresh.current_version?.number}. New contacts enter this version.`);
    } catch (error) {
      if (error.status === 409 && error.code === "removed_node_has_runs") {
        setPublishing((p) => ({ ...p, busy: false, removed: error.body?.error?.removed_nodes || [], error: error.message }));
      } else if (error.status === 400) {
        setPublishing(null);
        setServerCheck({ errors: error.body?.error?.problems || fieldsToProblems(error), warnings: [] });
        setBlocked(true);
        setTab("problems");
      } else setPublishing((p) => ({ ...p, busy: false, error: error.message }));
    }
  }, [workflow.id, announce]);

  const lifecycle = useCallback(async (action) => {
    if (action === "archive") {
      setConfirm({ message: "Archive this workflow?", detail: "Runs in flight exit; it cannot be edited afterwards.", confirmLabel: "Archive", onYes: () => lifecycle("archive!") });
      return;
    }
    try {
      const fresh = await api(`workflows/${workflow.id}/${action.replace("!", "")}/`, { method: "POST", body: {} });
      setWorkflow(fresh);
      announce(`Workflow ${fresh.status}.`);
    } catch (error) { announce(error.message); setSave({ state: "error", message: error.message }); }
  }, [workflow.id, announce]);

  // --- overlays -----------------------------------------------------------------------------
  const loadStats = useCallback(async (range = {}) => {
    const q = new URLSearchParams(Object.entries(range).filter(([, v]) => v)).toString();
    try {
      const data = await api(`workflows/${workflow.id}/overlay/${q ? `?${q}` : ""}`)
        .catch((error) => (error.status === 404 ? api(`workflows/${workflow.id}/stats/`) : Promise.reject(error)));
      setStats({ runs: data.runs, range: data.range, nodes: Object.fromEntries((data.nodes || []).map((n) => [n.node ?? n.node_id, statsOfNode(n)])) });
      setOverlay("stats");
      announce("Stats shown on the steps.");
    } catch (error) { announce(error.message); }
  }, [workflow.id, announce]);

  useEffect(() => {
    if (tab !== "stats" || !selected || overlay !== "stats") return undefined;
    const c = new AbortController();
    setNodeContacts({ loading: true });
    api(`workflows/${workflow.id}/nodes/${encodeURIComponent(selected)}/contacts/`, { signal: c.signal })
      .then((d) => setNodeContacts({ items: d.results || [], count: d.count }))
      .catch(async (error) => {
        if (error.name === "AbortError") return;
        try { // before the endpoint exists: the latest live runs, filtered here
          const d = await api(`workflows/${workflow.id}/runs/?limit=500`, { signal: c.signal });
          setNodeContacts({ items: (d.results || []).filter((r) => r.current_node === selected).map((r) => ({ run_id: r.id, contact: r.contact, status: r.status })) });
        } catch (e2) { if (e2.name !== "AbortError") setNodeContacts({ error: e2.message }); }
      });
    return () => c.abort();
  }, [tab, selected, overlay, workflow.id]);

  const shares = useMemo(() => {
    if (overlay !== "stats" || !stats) return null;
    const out = {};
    for (const n of graph.nodes) {
      const ports = portsOf(n, types);
      if (ports.length < 2) continue;
      const arms = stats.nodes[n.id]?.arms;
      if (arms) { for (const a of arms) if (a.share != null) out[`${n.id}:${a.port}`] = Math.round(a.share); continue; }
      const counts = ports.map((p) => stats.nodes[target(graph, n.id, p)]?.entered ?? 0);
      const total = counts.reduce((a, b) => a + b, 0);
      if (total) ports.forEach((p, i) => { out[`${n.id}:${p}`] = Math.round((100 * counts[i]) / total); });
    }
    return out;
  }, [overlay, stats, graph, types]);

  const runTest = useCallback(async (who) => {
    if (!(await saveNow())) return;
    setTest({ busy: true });
    try {
      const result = await api(`workflows/${workflow.id}/test/`, { method: "POST", body: { ...who, version: "draft" } });
      setTest({ result });
      announce(`Test finished: ${result.path.length} steps, ${result.messages.length} messages.`);
    } catch (error) {
      setTest({ error: error.message });
      if (error.status === 400) setServerCheck({ errors: fieldsToProblems(error), warnings: [] });
    }
  }, [saveNow, workflow.id, announce]);

  const runPreview = useCallback(async (days) => {
    if (!(await saveNow())) return;
    setPreview({ busy: true });
    try {
      const result = await api(`workflows/${workflow.id}/preview/`, { method: "POST", body: { days } });
      setPreview({ result });
      setOverlay("preview");
    } catch (error) {
      setPreview({ error: error.status === 404 ? "Preview on history is not available on this server yet." : error.message });
    }
  }, [saveNow, workflow.id]);

  const saveSettings = useCallback(async (data) => {
    setSettings({ busy: true });
    try {
      const fresh = await api(`workflows/${workflow.id}/`, { method: "PATCH", body: data });
      setWorkflow(fresh);
      setSettings({});
      announce("Settings saved.");
    } catch (error) { setSettings({ error: error.message }); }
  }, [workflow.id, announce]);

  const restore = useCallback(async (version) => {
    let graphOf = version.graph;
    try {
      const saved = await api(`workflows/${workflow.id}/versions/${version.id}/restore/`, { method: "POST", body: revisionRef.current ? { revision: revisionRef.current } : {} });
      graphOf = saved.graph;
      if (saved.revision !== undefined) revisionRef.current = saved.revision;
      if (saved.validation) setServerCheck(saved.validation);
      savedRef.current = normalize(graphOf);
      commit(savedRef.current);
    } catch (error) {
      if (error.status === 409) { setSave({ state: "conflict", message: error.message }); conflictRef.current = error.body?.error?.current || null; return; }
      if (error.status !== 404 && error.status !== 405) { announce(error.message); return; }
      commit(normalize(graphOf)); // autosave writes it as the draft
    }
    setViewing(null);
    setVersionsKey((k) => k + 1);
    announce(`Version ${version.number} restored as the draft.`);
  }, [workflow.id, commit, announce]);

  // --- the view handed to the canvas --------------------------------------------------------
  const path = useMemo(() => new Set((test.result?.path || []).map((s) => s.node)), [test.result]);
  const pathEdges = useMemo(() => new Set((test.result?.path || []).filter((s) => s.port).map((s) => `${s.node}:${s.port}`)), [test.result]);
  const handlersRef = useRef({});
  handlersRef.current = { onSelect: select, onNodeKey, onOpenPicker: openPicker, onInsert: insert };
  const handlers = useMemo(() => ({
    onSelect: (...a) => handlersRef.current.onSelect(...a),
    onNodeKey: (...a) => handlersRef.current.onNodeKey(...a),
    onOpenPicker: (...a) => handlersRef.current.onOpenPicker(...a),
    onInsert: (...a) => handlersRef.current.onInsert(...a),
  }), []);
  // A step's summary is computed once per version of that step (edits replace the node
  // object) and per set of names it may mention (lookups).
  const summaryCache = useRef({ lookups: null, byNode: new WeakMap() });
  const summariesOf = (nodes) => {
    const cache = summaryCache.current;
    if (cache.lookups !== lookups) { cache.lookups = lookups; cache.byNode = new WeakMap(); }
    return new Map(nodes.map((n) => {
      if (!cache.byNode.has(n)) cache.byNode.set(n, summarize(n, lookups));
      return [n.id, cache.byNode.get(n)];
    }));
  };
  const overlayData = overlay === "stats" ? stats?.nodes : overlay === "preview" ? preview.result?.nodes : null;
  const view = useMemo(() => ({
    handlers,
    summaries: summariesOf(shown.nodes),
    problems: viewing ? new Map() : byNode,
    stats: overlayData, overlay, shares, path, pathEdges, selected, readOnly,
  }), [handlers, shown, lookups, viewing, byNode, overlayData, overlay, shares, path, pathEdges, selected, readOnly]);

  const node = selected ? nodeById(shown, selected) : null;
  const spec = node ? types[node.type] : null;
  const setConfig = (config) => {
    let next = updateConfig(graph, node.id, config);
    next = pruneDanglingPorts(next, node.id, types);
    commit(next, { coalesce: `config:${node.id}` });
  };
  const ctx = { lookups: { ...lookups, fields: fieldCatalog }, reloadLookups, urls: boot.urls, emailBoot: boot.emailEditor, loadEvents, loadProperties, fieldNames: [...STANDARD_FIELDS, ...attributes] };
  const errorsCount = problems.filter((p) => p.level === "error").length;

  return (
    <div className={`wb${readOnly ? " read-only" : ""}`} data-ready="true">
      <div className="wb-toolbar" role="toolbar" aria-label="Workflow builder">
        <strong className="wb-title">{workflow.name}</strong>
        <span className={`badge wb-status s-${workflow.status}`} data-testid="workflow-status">{workflow.status}</span>
        {!readOnly && (
          <span className={`wb-save s-${save.state}`} role="status" data-testid="save-state">
            {{ saved: "Saved", saving: "Saving…", dirty: "Unsaved changes", error: "Not saved", conflict: "Not saved: conflict" }[save.state]}
          </span>
        )}
        {!readOnly && (
          <>
            <button type="button" className="btn btn-sm" onClick={undo} disabled={!hist.past.length} aria-keyshortcuts="Control+Z">Undo</button>
            <button type="button" className="btn btn-sm" onClick={redo} disabled={!hist.future.length} aria-keyshortcuts="Control+Shift+Z">Redo</button>
          </>
        )}
        <span className="wb-spacer" />
        <button type="button" className={`btn btn-sm${overlay === "stats" ? " active" : ""}`} aria-pressed={overlay === "stats"} onClick={() => { if (overlay === "stats") setOverlay(null); else { setTab("stats"); loadStats(); } }}>Stats</button>
        {boot.canEdit && !viewing && workflow.status !== "archived" && (
          <>
            <button type="button" className="btn btn-sm btn-primary" onClick={startPublish} disabled={narrow}>Publish{errorsCount ? ` (${errorsCount} problem${errorsCount > 1 ? "s" : ""})` : ""}</button>
            {workflow.status === "active" && <button type="button" className="btn btn-sm" onClick={() => lifecycle("pause")}>Pause</button>}
            {workflow.status === "paused" && <button type="button" className="btn btn-sm" onClick={() => lifecycle("resume")}>Resume</button>}
            {workflow.status !== "draft" && <button type="button" className="btn btn-sm btn-danger" onClick={() => lifecycle("archive")}>Archive</button>}
          </>
        )}
        <a className="btn btn-sm" href={boot.urls.detail}>Runs &amp; details</a>
      </div>
      {(save.state === "conflict" || save.state === "error") && !readOnly && (
        <div className="callout flash-error wb-banner" role="alert" data-testid="save-problem">
          <strong>{save.state === "conflict" ? "This draft was changed in another tab or by someone else." : "The draft could not be saved."}</strong> {save.message} Your changes are still here.
          {save.state === "conflict" && (
            <span className="row-inline">
              <button type="button" className="btn btn-sm" onClick={() => resolveConflict(false)}>Load the saved draft (Undo brings mine back)</button>
              <button type="button" className="btn btn-sm" onClick={() => resolveConflict(true)}>Keep mine and overwrite</button>
            </span>
          )}
        </div>
      )}
      {viewing && (
        <div className="callout wb-banner" role="status">
          Viewing version {viewing.number} (read-only).
          {boot.canEdit && <button type="button" className="btn btn-sm" onClick={() => restore(viewing)}>Restore as draft</button>}
          <button type="button" className="btn btn-sm" onClick={() => setViewing(null)}>Back to the draft</button>
        </div>
      )}
      {narrow && <p className="muted small wb-banner">Read-only on a small screen: open the builder on a larger screen to edit.</p>}
      <div className="wb-body">
        {!readOnly && <Palette types={types} />}
        <div className="wb-canvas" aria-label="Workflow canvas" role="region">
          {shown.nodes.length === 0 ? (
            readOnly ? <p className="muted wb-empty">This workflow has no steps yet.</p> : (
              <div className="wb-empty">
                <h2>How do contacts enter this workflow?</h2>
                <p className="muted">Choose a trigger to start. Then add waits, branches and actions with <strong>+</strong>.</p>
                <button type="button" className="btn btn-primary" onClick={() => openPicker(null, DEFAULT)}>Choose a trigger</button>
              </div>
            )
          ) : (
            <ReactFlowProvider>
              <Canvas graph={shown} types={types} view={view} focus={focus} onInit={markReady} />
            </ReactFlowProvider>
          )}
        </div>
        <aside className="wb-side" aria-label="Side panel">
          <div className="tabs" role="tablist" aria-label="Panels">
            {TABS.filter(([k]) => boot.canEdit || !["settings", "test", "preview"].includes(k)).map(([k, label]) => (
              <button key={k} type="button" role="tab" id={`wb-tab-${k}`} aria-selected={tab === k} aria-controls="wb-tabpanel" className={`tab${tab === k ? " active" : ""}`} onClick={() => { setTab(k); if (k === "stats" && overlay !== "stats") loadStats(); }}>
                {label}{k === "problems" && problems.length ? ` (${problems.length})` : ""}
              </button>
            ))}
          </div>
          <div id="wb-tabpanel" role="tabpanel" aria-labelledby={`wb-tab-${tab}`} className="wb-tabpanel">
            {tab === "step" && !node && <p className="muted">Select a step to configure it. Keyboard: Tab to a step, Tab again to add after it, Enter to edit, Delete to delete (asks first), Ctrl+Z to undo.</p>}
            {tab === "step" && node && (
              <section aria-label={`Configure ${spec?.label || node.type}`} className="wb-step">
                <h2>{spec?.label || node.type} <code className="small">{node.id}</code></h2>
                <p className="muted small">{spec?.description}</p>
                {kindOf(node.type) === "trigger" && !readOnly && (
                  <label>Trigger kind
                    <select className="input" value={node.type} onChange={(e) => commit(changeType(graph, node.id, e.target.value, types))}>
                      {Object.values(types).filter((t) => t.kind === "trigger").map((t) => <option key={t.type} value={t.type}>{t.label}</option>)}
                    </select>
                  </label>
                )}
                {node.type === "branch.ab" && !viewing && <SplitDecision workflowId={workflow.id} nodeId={node.id} canEdit={boot.canEdit} announce={announce} />}
                <fieldset disabled={readOnly} className="wb-fieldset">
                  <SchemaForm node={node} spec={spec} onChange={setConfig} ctx={ctx} />
                </fieldset>
                {!viewing && <NodeProblems node={node} spec={spec} extra={byNode.get(node.id)} />}
                {!readOnly && (
                  <div className="row-inline wb-step-actions">
                    <button type="button" className="btn btn-sm" onClick={() => { const r = duplicateNode(graph, node.id, types); if (r.id) { commit(r.graph); select(r.id); announce(`Duplicated as ${r.id}.`); } }} disabled={kindOf(node.type) === "trigger"}>Duplicate</button>
                    <button type="button" className="btn btn-sm" onClick={() => { commit(moveUp(graph, node.id, types)); setFocus({ id: node.id, seq: Math.random() }); announce("Moved up."); }} disabled={!canMoveUp(graph, node.id, types)}>Move up</button>
                    <button type="button" className="btn btn-sm" onClick={() => { commit(moveDown(graph, node.id, types)); setFocus({ id: node.id, seq: Math.random() }); announce("Moved down."); }} disabled={!canMoveDown(graph, node.id, types)}>Move down</button>
                    <button type="button" className="btn btn-sm btn-danger" onClick={() => requestDelete(node.id)}>Delete…</button>
                  </div>
                )}
              </section>
            )}
            {tab === "problems" && <ProblemsPanel problems={problems} onFocusNode={focusNode} blocked={blocked} headingRef={problemsHeading} />}
            {tab === "settings" && <SettingsPanel workflow={workflow} onSave={saveSettings} busy={settings.busy} error={settings.error} timezone={boot.timezone} />}
            {tab === "versions" && <VersionsPanel workflowId={workflow.id} viewing={viewing} refreshKey={versionsKey} onOpen={(v) => { setViewing(v); setSelected(null); announce(`Viewing version ${v.number}, read-only.`); }} onRestore={restore} />}
            {tab === "stats" && <StatsPanel workflowId={workflow.id} stats={stats} onLoad={loadStats} nodeContacts={nodeContacts} selected={selected} urls={boot.urls} />}
            {tab === "test" && <TestPanel onRun={runTest} result={test.result} busy={test.busy} error={test.error} />}
            {tab === "preview" && <PreviewPanel onRun={runPreview} result={preview.result} busy={preview.busy} error={preview.error} />}
          </div>
        </aside>
      </div>
      <datalist id="tendril-events">{events.map((e) => <option key={e} value={e} />)}</datalist>
      <datalist id="tendril-tags">{tags.map((t) => <option key={t} value={t} />)}</datalist>
      <datalist id="tendril-fields">{[...STANDARD_FIELDS, ...attributes].map((f) => <option key={f} value={f} />)}</datalist>
      <datalist id="tendril-event-properties">{properties.map((p) => <option key={p} value={p} />)}</datalist>
      <div className="sr-only" aria-live="polite" data-testid="live-region">{announcement}</div>
      {picker && <Picker types={types} kinds={picker.kinds} title={picker.title} onPick={(type) => insert(picker.source, picker.port, type)} onClose={() => { const s = picker.source; setPicker(null); if (s) setFocus({ id: s, seq: Math.random() }); }} />}
      {confirm && <ConfirmDialog message={confirm.message} detail={confirm.detail} confirmLabel={confirm.confirmLabel} onAnswer={(yes) => { const c = confirm; setConfirm(null); if (yes) c.onYes(); }} />}
      {publishing && <PublishDialog summary={publishing.rows} warnings={publishing.warnings} removed={publishing.removed} nodes={graph.nodes} labels={typeLabels} busy={publishing.busy} error={publishing.error} onPublish={doPublish} onClose={() => setPublishing(null)} />}
    </div>
  );
}
