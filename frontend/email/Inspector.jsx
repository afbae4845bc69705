// The selected block's settings: its type's options, its style (defaulting to the brand),
// the dynamic-block condition and "save for reuse".
import { useState } from "react";
import { ConditionEditor } from "../conditions/index.js";
import { TYPE_LABELS } from "./doc.js";

const SIDES = ["top", "right", "bottom", "left"];

function Num({ label, value, onChange, min, max, placeholder }) {
  return (
    <label className="ee-field">{label}
      <input className="input num" type="number" min={min} max={max} value={value ?? ""} placeholder={placeholder}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Math.max(min, Math.min(max, Number(e.target.value))))} />
    </label>
  );
}

function Colour({ label, value, fallback, onChange }) {
  return (
    <div className="ee-field ee-colour">
      <label>{label}
        <input type="color" value={value || fallback || "#000000"} onChange={(e) => onChange(e.target.value)} />
      </label>
      {value ? <button type="button" className="btn btn-sm" aria-label={`${label}: use the brand's`} onClick={() => onChange(undefined)}>Brand</button> : <span className="muted small">brand</span>}
    </div>
  );
}

function TypeSettings({ block, ctx }) {
  const up = (patch, key) => ctx.update(block.id, patch, key);
  switch (block.type) {
    case "heading":
      return (
        <label className="ee-field">Level
          <select className="input" aria-label="Level" value={block.level || 1} onChange={(e) => up({ level: Number(e.target.value) })}>
            <option value={1}>Heading 1</option><option value={2}>Heading 2</option><option value={3}>Heading 3</option>
          </select>
        </label>
      );
    case "image":
      return (
        <>
          <label className="ee-field">Link (optional)<input className="input" type="url" value={block.href || ""} onChange={(e) => up({ href: e.target.value || undefined }, `href-${block.id}`)} /></label>
          <Num label="Width (px)" min={20} max={600} value={block.width} placeholder="full" onChange={(v) => up({ width: v })} />
        </>
      );
    case "button":
      return (
        <>
          <Colour label="Button colour" value={block.button_color} fallback={ctx.brand.primary_color} onChange={(v) => up({ button_color: v })} />
          <Colour label="Button text colour" value={block.text_color} fallback="#ffffff" onChange={(v) => up({ text_color: v })} />
        </>
      );
    case "columns":
      return (
        <label className="ee-field">Columns
          <select className="input" aria-label="Columns" value={block.columns.length} onChange={(e) => ctx.setColumns(block.id, Number(e.target.value))}>
            <option value={2}>2 columns</option><option value={3}>3 columns</option>
          </select>
        </label>
      );
    case "divider":
      return (
        <>
          <Colour label="Line colour" value={block.color} fallback="#d0d5dd" onChange={(v) => up({ color: v })} />
          <Num label="Thickness (px)" min={1} max={8} value={block.thickness} onChange={(v) => up({ thickness: v })} />
        </>
      );
    case "products":
      return (
        <>
          <Num label="Products shown" min={1} max={12} value={block.count} placeholder="3" onChange={(v) => up({ count: v })} />
          <Num label="Products per row" min={1} max={4} value={block.per_row} placeholder="3" onChange={(v) => up({ per_row: v })} />
          <label className="ee-field">Button label (optional)<input className="input" value={block.button_text || ""} placeholder="no button" onChange={(e) => up({ button_text: e.target.value || undefined }, `button-${block.id}`)} /></label>
        </>
      );
    case "spacer":
      return <Num label="Height (px)" min={4} max={120} value={block.height} onChange={(v) => up({ height: v ?? 24 })} />;
    default:
      return null;
  }
}

export function Inspector({ block, topLevel, ctx }) {
  const [saveName, setSaveName] = useState("");
  const [saveState, setSaveState] = useState("");
  if (!block) return <p className="muted small">Choose a block to set its style, or make it dynamic.</p>;
  const style = block.style || {};
  const padding = style.padding || [];
  const setPad = (i, v) => {
    const next = [0, 1, 2, 3].map((j) => (j === i ? v : padding[j]));
    ctx.style(block.id, { padding: next.every((x) => x === undefined) ? undefined : next.map((x) => x ?? 0) });
  };
  const dynamic = !!block.condition;
  return (
    <div className="ee-inspector" aria-label={`Settings of the ${TYPE_LABELS[block.type]} block`} role="region">
      <h3>{TYPE_LABELS[block.type]} block</h3>
      <TypeSettings block={block} ctx={ctx} />
      <fieldset className="ee-fieldset">
        <legend>Style</legend>
        <div className="ee-pad">
          {SIDES.map((side, i) => <Num key={side} label={`Padding ${side}`} min={0} max={80} value={padding[i]} placeholder="auto" onChange={(v) => setPad(i, v)} />)}
        </div>
        <label className="ee-field">Alignment
          <select className="input" aria-label="Alignment" value={style.align || ""} onChange={(e) => ctx.style(block.id, { align: e.target.value || undefined })}>
            <option value="">Default</option><option value="left">Left</option><option value="center">Centre</option><option value="right">Right</option>
          </select>
        </label>
        <Colour label="Background" value={style.background} fallback={ctx.brand.content_color || "#ffffff"} onChange={(v) => ctx.style(block.id, { background: v })} />
        <Colour label="Text colour" value={style.color} fallback={ctx.brand.text_color || "#1c2330"} onChange={(v) => ctx.style(block.id, { color: v })} />
        <Num label="Font size (px)" min={10} max={48} value={style.font_size} placeholder="brand" onChange={(v) => ctx.style(block.id, { font_size: v })} />
      </fieldset>
      {topLevel && block.type !== "footer" && (
        <fieldset className="ee-fieldset">
          <legend>Dynamic block</legend>
          <label className="ee-check">
            <input type="checkbox" checked={dynamic} onChange={(e) => ctx.condition(block.id, e.target.checked ? { all: [] } : null)} />
            Show only to contacts who…
          </label>
          {dynamic && (
            <ConditionEditor value={block.condition} idPrefix={`cond-${block.id}`} label="Show this block to contacts who match"
              lookups={ctx.lookups} onChange={(v) => ctx.condition(block.id, v)} />
          )}
        </fieldset>
      )}
      {block.type !== "footer" && (
        <form className="ee-fieldset ee-inline" onSubmit={async (e) => {
          e.preventDefault();
          setSaveState("Saving…");
          setSaveState(await ctx.saveBlock(block, saveName));
        }}>
          <label className="ee-field">Save this block for reuse
            <input className="input" value={saveName} placeholder="e.g. Spring promo" onChange={(e) => setSaveName(e.target.value)} required />
          </label>
          <button className="btn btn-sm" type="submit">Save block</button>
          {saveState && <span className="small" role="status">{saveState}</span>}
        </form>
      )}
    </div>
  );
}
