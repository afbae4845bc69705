// The canvas: one card per block, edited in place (text, links, images), with move / duplicate /
// delete controls and HTML5 drag to reorder. Columns hold their own lists of blocks.
import { useEffect, useRef, useState } from "react";
import { INNER_TYPES, NETWORKS, TYPE_LABELS } from "./doc.js";
import { uploadMedia, errorText } from "./api.js";

// Text inputs register themselves as the merge-tag picker's target when focused.
function TagInput({ value, onChange, label, ctx, multiline = false, className = "input", ...rest }) {
  const ref = useRef(null);
  const onFocus = () => {
    ctx.setTarget({
      label,
      insert: (text) => {
        const el = ref.current; // the field as it is now (this closure outlives renders)
        const v = el?.value ?? "";
        const start = el?.selectionStart ?? v.length;
        const end = el?.selectionEnd ?? start;
        const next = v.slice(0, start) + text + v.slice(end);
        onChange(next);
        requestAnimationFrame(() => { if (el) { el.focus(); el.setSelectionRange(start + text.length, start + text.length); } });
      },
    });
  };
  const Tag = multiline ? "textarea" : "input";
  return <Tag ref={ref} className={className} aria-label={label} value={value || ""} onFocus={onFocus} onChange={(e) => onChange(e.target.value)} {...rest} />;
}

// Rich text: a contentEditable with a small toolbar (bold, italic, link, lists). The document
// keeps its HTML; the server sanitises it to the allowed tags.
function RichText({ html, onChange, label, ctx, id }) {
  const ref = useRef(null);
  const range = useRef(null);
  useEffect(() => {
    if (ref.current && ref.current.innerHTML !== html) ref.current.innerHTML = html || "";
  }, [html]);
  const save = () => {
    const sel = window.getSelection();
    if (sel && sel.rangeCount && ref.current?.contains(sel.anchorNode)) range.current = sel.getRangeAt(0).cloneRange();
  };
  const restore = () => {
    const el = ref.current;
    el.focus();
    const sel = window.getSelection();
    if (range.current) { sel.removeAllRanges(); sel.addRange(range.current); }
  };
  const emit = () => onChange(ref.current.innerHTML);
  const cmd = (name, arg) => { restore(); document.execCommand(name, false, arg); emit(); save(); };
  const link = () => {
    const url = window.prompt("Link address (https://…)", "https://");
    if (url) cmd("createLink", url);
  };
  const onFocus = () => ctx.setTarget({ label, insert: (text) => { restore(); document.execCommand("insertText", false, text); emit(); save(); } });
  return (
    <div className="ee-rich">
      <div className="ee-rich-bar" role="toolbar" aria-label={`${label} formatting`}>
        <button type="button" className="btn btn-sm" aria-label="Bold" onMouseDown={(e) => e.preventDefault()} onClick={() => cmd("bold")}><strong>B</strong></button>
        <button type="button" className="btn btn-sm" aria-label="Italic" onMouseDown={(e) => e.preventDefault()} onClick={() => cmd("italic")}><em>I</em></button>
        <button type="button" className="btn btn-sm" aria-label="Link" onMouseDown={(e) => e.preventDefault()} onClick={link}>Link</button>
        <button type="button" className="btn btn-sm" onMouseDown={(e) => e.preventDefault()} onClick={() => cmd("insertUnorderedList")}>Bulleted list</button>
        <button type="button" className="btn btn-sm" onMouseDown={(e) => e.preventDefault()} onClick={() => cmd("insertOrderedList")}>Numbered list</button>
      </div>
      <div ref={ref} id={id} className="ee-rich-area" contentEditable suppressContentEditableWarning role="textbox" aria-multiline="true" aria-label={label}
        tabIndex={0} onInput={() => { emit(); save(); }} onKeyUp={save} onMouseUp={save} onFocus={onFocus} onBlur={save} />
    </div>
  );
}

function ImageBody({ block, ctx }) {
  const [state, setState] = useState({ busy: false, error: "" });
  const altId = `alt-${block.id}`;
  const upload = async (file) => {
    if (!file) return;
    if (!String(block.alt || "").trim()) {
      setState({ busy: false, error: "Write the alt text first: what the image shows." });
      return;
    }
    setState({ busy: true, error: "" });
    try {
      const media = await uploadMedia(file, block.alt);
      const patch = { src: media.url, asset_id: media.id };
      if (!block.alt && media.alt) patch.alt = media.alt;
      if (media.width && media.width < 600) patch.width = media.width;
      ctx.update(block.id, patch);
      setState({ busy: false, error: "" });
    } catch (error) {
      setState({ busy: false, error: errorText(error) });
    }
  };
  const missingAlt = !String(block.alt || "").trim();
  return (
    <div className="ee-image">
      {block.src ? <img src={block.src} alt={block.alt || ""} style={{ maxWidth: "100%", width: block.width ? `${block.width}px` : undefined }} /> : <p className="muted small">No image yet.</p>}
      <div className="ee-row">
        <label htmlFor={altId}>Alt text <span className="muted small">(required: what the image shows)</span></label>
        <input id={altId} className="input" value={block.alt || ""} aria-invalid={missingAlt} aria-describedby={missingAlt ? `${altId}-err` : undefined}
          onChange={(e) => ctx.update(block.id, { alt: e.target.value }, `alt-${block.id}`)} />
        {missingAlt && <small id={`${altId}-err`} className="ee-error">An image needs alt text.</small>}
      </div>
      <label className="ee-row">{block.src ? "Replace image" : "Upload an image"} <span className="muted small">(PNG, JPEG, GIF; resized for email)</span>
        <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange={(e) => upload(e.target.files[0])} disabled={state.busy} />
      </label>
      {state.busy && <p className="small" role="status">Uploading…</p>}
      {state.error && <p className="ee-error" role="alert">{state.error}</p>}
    </div>
  );
}

function SocialBody({ block, ctx }) {
  const links = block.links || [];
  const set = (next) => ctx.update(block.id, { links: next });
  return (
    <div>
      {links.map((l, i) => (
        <div className="ee-inline" key={i}>
          <select className="input" aria-label={`Network ${i + 1}`} value={l.network} onChange={(e) => set(links.map((x, j) => (j === i ? { ...x, network: e.target.value } : x)))}>
            {NETWORKS.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
          <input className="input" aria-label={`Link ${i + 1} address`} value={l.href || ""} onChange={(e) => set(links.map((x, j) => (j === i ? { ...x, href: e.target.value } : x)))} />
          <button type="button" className="btn btn-sm" aria-label={`Remove link ${i + 1}`} onClick={() => set(links.filter((_, j) => j !== i))}>Remove</button>
        </div>
      ))}
      <button type="button" className="btn btn-sm" onClick={() => set([...links, { network: "website", href: "https://" }])}>+ Add link</button>
    </div>
  );
}

function BlockBody({ block, ctx }) {
  const up = (patch, key) => ctx.update(block.id, patch, key);
  switch (block.type) {
    case "heading":
      return <TagInput className={`input ee-heading ee-h${block.level || 1}`} label="Heading text" ctx={ctx} value={block.text} onChange={(v) => up({ text: v }, `text-${block.id}`)} />;
    case "text":
      return <RichText id={`rt-${block.id}`} label="Text" ctx={ctx} html={block.html} onChange={(v) => up({ html: v }, `html-${block.id}`)} />;
    case "image":
      return <ImageBody block={block} ctx={ctx} />;
    case "button":
      return (
        <div className="ee-inline">
          <TagInput label="Button text" ctx={ctx} value={block.text} onChange={(v) => up({ text: v }, `text-${block.id}`)} />
          <TagInput label="Button link" ctx={ctx} type="url" value={block.href} onChange={(v) => up({ href: v }, `href-${block.id}`)} />
        </div>
      );
    case "columns":
      return (
        <div className={`ee-columns ee-cols-${block.columns.length}`}>
          {block.columns.map((col, c) => (
            <div key={c} className="ee-column" aria-label={`Column ${c + 1}`} role="group">
              <BlockList blocks={col.blocks} parentId={block.id} column={c} ctx={ctx} />
              <AddSelect label={`Add a block to column ${c + 1}`} types={INNER_TYPES} onAdd={(t) => ctx.add(t, { parentId: block.id, column: c })} />
            </div>
          ))}
        </div>
      );
    case "divider":
      return <hr style={{ borderTop: `${block.thickness || 1}px solid ${block.color || "#d0d5dd"}` }} />;
    case "spacer":
      return <div className="ee-spacer" style={{ height: `${block.height || 24}px` }}><span className="muted small">{block.height || 24} px of space</span></div>;
    case "social":
      return <SocialBody block={block} ctx={ctx} />;
    case "html":
      return <TagInput multiline className="input code" rows={5} label="HTML" ctx={ctx} value={block.html} onChange={(v) => up({ html: v }, `html-${block.id}`)} />;
    case "products":
      return (
        <div className="ee-products">
          <TagInput label="Title (optional)" ctx={ctx} value={block.title || ""} placeholder="e.g. Picked for you" onChange={(v) => up({ title: v || undefined }, `title-${block.id}`)} />
          <div className="ee-product-grid" aria-hidden="true" style={{ gridTemplateColumns: `repeat(${block.per_row || 3}, 1fr)` }}>
            {Array.from({ length: block.count || 3 }, (_, i) => (
              <div key={i} className="ee-product-slot"><span className="ee-product-img" /><span>Product {i + 1}</span><span className="muted small">price</span></div>
            ))}
          </div>
          <p className="muted small">Each contact sees their own recommendations (bought together, popular in their categories, then popular), filled in when the email is sent: image, name, price and link. The preview shows them for the chosen contact.</p>
        </div>
      );
    case "footer":
      return (
        <div>
          <TagInput label="Footer note (optional)" ctx={ctx} value={block.text} placeholder="e.g. You get this because you signed up at …" onChange={(v) => up({ text: v }, `text-${block.id}`)} />
          <p className="muted small">Your postal address and the unsubscribe and preferences links are added here on every email.</p>
        </div>
      );
    default:
      return <p className="ee-error">Unknown block “{block.type}”.</p>;
  }
}

export function AddSelect({ label, types, onAdd }) {
  return (
    <label className="ee-add">
      <span className="sr-only">{label}</span>
      <select className="input" aria-label={label} value="" onChange={(e) => { if (e.target.value) onAdd(e.target.value); }}>
        <option value="">+ Add block…</option>
        {types.map((t) => <option key={t} value={t}>{TYPE_LABELS[t]}</option>)}
      </select>
    </label>
  );
}

function BlockCard({ block, index, count, parentId, ctx }) {
  const selected = ctx.selected === block.id;
  const label = `${TYPE_LABELS[block.type] || block.type} block ${index + 1}`;
  const problems = ctx.problems[block.id] || [];
  const [over, setOver] = useState(false);
  return (
    <li
      className={`ee-block${selected ? " is-selected" : ""}${over ? " is-drop" : ""}${block.condition ? " is-dynamic" : ""}`}
      data-block-id={block.id} data-block-type={block.type}
      onDragOver={(e) => { if (ctx.dragging.current && ctx.dragging.current !== block.id) { e.preventDefault(); setOver(true); } }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => { e.preventDefault(); setOver(false); if (!e.nativeEvent.tendrilDropped) { e.nativeEvent.tendrilDropped = true; ctx.dropBefore(block.id); } }}
      onFocusCapture={() => ctx.select(block.id)}
      onClick={() => ctx.select(block.id)}
    >
      <div className="ee-block-head">
        <span className="ee-handle" draggable title="Drag to move" aria-hidden="true"
          onDragStart={(e) => { ctx.dragging.current = block.id; e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", block.id); }}
          onDragEnd={() => { ctx.dragging.current = null; }}>⠿</span>
        <button type="button" className="ee-block-name" aria-pressed={selected} onClick={() => ctx.select(block.id)}>{label}</button>
        {block.condition && <span className="badge">Dynamic</span>}
        <span className="ee-block-tools">
          <button type="button" className="btn btn-sm" aria-label={`Move ${label} up`} disabled={index === 0} onClick={() => ctx.move(block.id, -1)}>↑</button>
          <button type="button" className="btn btn-sm" aria-label={`Move ${label} down`} disabled={index === count - 1} onClick={() => ctx.move(block.id, 1)}>↓</button>
          {block.type !== "footer" && <button type="button" className="btn btn-sm" aria-label={`Copy ${label}`} onClick={() => ctx.duplicate(block.id)}>Copy</button>}
          <button type="button" className="btn btn-sm btn-danger" aria-label={`Delete ${label}`} onClick={() => ctx.remove(block.id)}>Delete</button>
        </span>
      </div>
      <div className="ee-block-body" style={ctx.bodyStyle(block)}>
        <BlockBody block={block} ctx={ctx} />
      </div>
      {problems.map((p) => <p key={p} className="ee-error" role="alert">{p}</p>)}
    </li>
  );
}

export function BlockList({ blocks, parentId = null, column = 0, ctx }) {
  const [over, setOver] = useState(false);
  return (
    <ol className={`ee-list${over ? " is-drop" : ""}`} aria-label={parentId ? `Blocks in column ${column + 1}` : "Email blocks"}
      onDragOver={(e) => { if (ctx.dragging.current) { e.preventDefault(); setOver(true); } }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => { e.preventDefault(); setOver(false); if (!e.nativeEvent.tendrilDropped) { e.nativeEvent.tendrilDropped = true; ctx.dropAtEnd(parentId, column); } }}>
      {blocks.map((b, i) => <BlockCard key={b.id} block={b} index={i} count={blocks.length} parentId={parentId} ctx={ctx} />)}
      {blocks.length === 0 && <li className="ee-empty muted small">{parentId ? "Empty column: add a block or drag one here." : "No blocks yet: add one from the list."}</li>}
    </ol>
  );
}
