// An A/B split's results in its step panel: per variant who entered and succeeded, the chance
// to be best ("Best"), and the call ("B wins" or "no winner yet — need N more"); with a winner, the
// marketer may send all future traffic to it (asked first; never done without them).
import { useCallback, useEffect, useState } from "react";
import { api } from "./api.js";
import { ConfirmDialog } from "./Panels.jsx";

const pct = (x, digits = 1) => (x == null ? "—" : `${(100 * x).toFixed(digits).replace(/\.0+$/, "")}%`);

export function SplitDecision({ workflowId, nodeId, canEdit, announce }) {
  const [state, setState] = useState({ loading: true });
  const [asking, setAsking] = useState(null);
  const load = useCallback(async (signal) => {
    try {
      setState({ data: await api(`workflows/${workflowId}/nodes/${encodeURIComponent(nodeId)}/decision/`, { signal }) });
    } catch (error) {
      if (error.name === "AbortError") return;
      setState({ error: error.status === 404 ? "Save the workflow to see this split's results." : error.message });
    }
  }, [workflowId, nodeId]);
  useEffect(() => {
    const c = new AbortController();
    setState({ loading: true });
    load(c.signal);
    return () => c.abort();
  }, [load]);
  const choose = async (variant) => {
    try {
      const data = await api(`workflows/${workflowId}/nodes/${encodeURIComponent(nodeId)}/winner/`, { method: "POST", body: { variant } });
      setState({ data });
      announce?.(variant ? `All future traffic goes to ${variant.toUpperCase()}.` : "The split is resumed.");
    } catch (error) { setState((s) => ({ ...s, actionError: error.message })); }
  };
  const d = state.data;
  return (
    <section className="wb-split" aria-label="Split results" data-testid="split-decision">
      <h3>Results</h3>
      {state.loading && <p className="muted small">Loading…</p>}
      {state.error && <p className="muted small">{state.error}</p>}
      {d && (
        <>
          <p className="muted small">Decided on contacts who {d.metric_label}{d.smart ? "; smart split: the shares follow the results" : ""}.</p>
          <div className="table-wrap"><table className="table">
            <thead><tr><th>Variant <span className="muted">({d.smart ? "share" : "weight"})</span></th><th>Entered</th><th>{d.metric === "clicks" ? "Clicked" : "Conv."}</th><th><abbr title="Chance to be best">Best</abbr></th></tr></thead>
            <tbody>
              {d.arms.map((a) => (
                <tr key={a.port} data-variant={a.port}>
                  <th scope="row">{a.key} <span className="muted small">{d.smart ? pct(a.share, 0) : `${a.weight}%`}</span>{a.port === d.winner && <> <span className="badge badge-ok">winner</span></>}{a.port === d.chosen && <> <span className="badge">all traffic</span></>}</th>
                  <td>{a.entered.toLocaleString()}</td>
                  <td>{a.successes.toLocaleString()}<br /><span className="muted small">{pct(a.rate)}</span></td>
                  <td>{pct(a.prob_best, 0)}</td>
                </tr>
              ))}
            </tbody>
          </table></div>
          <p className="small" data-testid="split-call"><strong>{d.headline}</strong>{!d.winner && d.reason && <span className="muted"> {d.reason}.</span>}</p>
          {d.sample_ratio_mismatch && <p className="small"><span className="badge badge-danger">Sample ratio mismatch</span> the variants' sizes do not match the weights.</p>}
          {d.regret && <p className="small" data-testid="split-regret">Smart allocation: {d.regret.expected >= 0 ? "+" : ""}{d.regret.expected.toFixed(1)} successes vs an even split (95 % interval {d.regret.low.toFixed(1)} to {d.regret.high.toFixed(1)}).</p>}
          {canEdit && d.winner && !d.chosen && (
            <button type="button" className="btn btn-sm btn-primary" onClick={() => setAsking(d.winner)}>Send all future traffic to {d.winner.toUpperCase()}</button>
          )}
          {canEdit && d.chosen && <button type="button" className="btn btn-sm" onClick={() => choose(null)}>Resume the split</button>}
          {state.actionError && <p className="error small" role="alert">{state.actionError}</p>}
        </>
      )}
      {asking && (
        <ConfirmDialog
          message={`Send all future traffic to ${asking.toUpperCase()}?`}
          detail="Every contact who reaches this split from now on takes this variant, in every version, until you resume the split. Contacts already past it are not moved."
          confirmLabel={`Send all to ${asking.toUpperCase()}`}
          onAnswer={(yes) => { const v = asking; setAsking(null); if (yes) choose(v); }}
        />
      )}
    </section>
  );
}
