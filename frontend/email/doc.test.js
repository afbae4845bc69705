// Unit tests of the block document's pure operations: add / move / delete / undo, columns,
// merge-tag insertion and mapping the server's error paths to blocks.
import { describe, expect, it } from "vitest";
import { historyPush, historyRedo, historyStart, historyUndo } from "../builder/history.js";
import {
  addBlock, blockIdAtPath, countBlocks, duplicateBlock, emptyDocument, errorsByBlock, findBlock, insertAt, insertBlock, localProblems, locate,
  mergeTag, moveBlock, moveBlockTo, newBlock, removeBlock, setColumnCount, setCondition, starterDocument, tagFallback, updateBlock, updateStyle, withFreshIds,
} from "./doc.js";

const types = (doc) => doc.blocks.map((b) => b.type);

describe("adding, moving and deleting blocks", () => {
  it("adds new blocks above the footer, which stays last", () => {
    let doc = starterDocument();
    expect(types(doc)).toEqual(["heading", "text", "footer"]);
    let id;
    [doc, id] = addBlock(doc, "image");
    expect(types(doc)).toEqual(["heading", "text", "image", "footer"]);
    expect(findBlock(doc, id).alt).toBe("");
    [doc] = addBlock(doc, "button", { afterId: doc.blocks[0].id });
    expect(types(doc)).toEqual(["heading", "button", "text", "image", "footer"]);
  });

  it("moves a block up and down within its list and not past the ends", () => {
    const doc = starterDocument();
    const [h, t] = doc.blocks;
    const down = moveBlock(doc, h.id, 1);
    expect(down.blocks.map((b) => b.id).slice(0, 2)).toEqual([t.id, h.id]);
    expect(moveBlock(down, h.id, -1)).toEqual(doc);
    expect(moveBlock(doc, h.id, -1)).toBe(doc);
    expect(doc.blocks[0]).toBe(h); // the original is untouched
  });

  it("drags a block before another, into a column and back out", () => {
    let doc = starterDocument();
    let cols;
    [doc, cols] = addBlock(doc, "columns");
    const heading = doc.blocks[0].id;
    doc = moveBlockTo(doc, heading, { parentId: cols, column: 1 });
    expect(locate(doc, heading)).toMatchObject({ parentId: cols, column: 1, index: 0 });
    doc = moveBlockTo(doc, heading, { beforeId: doc.blocks[0].id });
    expect(doc.blocks[0].id).toBe(heading);
    // a footer or columns never go inside columns
    const footer = doc.blocks.find((b) => b.type === "footer").id;
    expect(moveBlockTo(doc, footer, { parentId: cols, column: 0 })).toBe(doc);
    expect(moveBlockTo(doc, cols, { parentId: cols, column: 0 })).toBe(doc);
  });

  it("deletes a block anywhere and undo brings it back", () => {
    let h = historyStart(starterDocument());
    const [withCols, cols] = addBlock(h.present, "columns");
    h = historyPush(h, withCols);
    const [withInner, inner] = addBlock(h.present, "button", { parentId: cols, column: 0 });
    h = historyPush(h, withInner);
    expect(countBlocks(h.present)).toBe(5);
    h = historyPush(h, removeBlock(h.present, inner));
    expect(findBlock(h.present, inner)).toBeNull();
    h = historyUndo(h);
    expect(findBlock(h.present, inner).type).toBe("button");
    h = historyRedo(h);
    expect(findBlock(h.present, inner)).toBeNull();
  });

  it("duplicates with fresh ids all the way down", () => {
    let doc = emptyDocument();
    let cols;
    [doc, cols] = addBlock(doc, "columns");
    [doc] = addBlock(doc, "text", { parentId: cols, column: 0 });
    let copy;
    [doc, copy] = duplicateBlock(doc, cols);
    expect(doc.blocks.length).toBe(2);
    expect(copy).not.toBe(cols);
    expect(doc.blocks[1].columns[0].blocks[0].id).not.toBe(doc.blocks[0].columns[0].blocks[0].id);
    const fresh = withFreshIds(doc.blocks[0]);
    expect(fresh.id).not.toBe(doc.blocks[0].id);
  });
});

describe("columns", () => {
  it("grows to three and shrinks to two, keeping the third column's blocks", () => {
    let doc = emptyDocument();
    let cols;
    [doc, cols] = addBlock(doc, "columns");
    doc = setColumnCount(doc, cols, 3);
    expect(findBlock(doc, cols).columns.length).toBe(3);
    let a;
    let b;
    [doc, a] = addBlock(doc, "text", { parentId: cols, column: 1 });
    [doc, b] = addBlock(doc, "image", { parentId: cols, column: 2 });
    doc = setColumnCount(doc, cols, 2);
    const columns = findBlock(doc, cols).columns;
    expect(columns.length).toBe(2);
    expect(columns[1].blocks.map((x) => x.id)).toEqual([a, b]);
    expect(setColumnCount(doc, cols, 4)).toBe(doc);
  });

  it("refuses a footer or columns inside a column", () => {
    let doc = emptyDocument();
    let cols;
    [doc, cols] = addBlock(doc, "columns");
    expect(() => insertBlock(doc, newBlock("footer"), { parentId: cols })).toThrow(/footer/);
    expect(() => insertBlock(doc, newBlock("columns"), { parentId: cols })).toThrow(/columns/);
  });
});

describe("style, conditions and problems", () => {
  it("sets and clears style keys", () => {
    let doc = starterDocument();
    const id = doc.blocks[0].id;
    doc = updateStyle(doc, id, { align: "center", padding: [8, 0, 8, 0] });
    expect(findBlock(doc, id).style).toEqual({ align: "center", padding: [8, 0, 8, 0] });
    doc = updateStyle(doc, id, { align: undefined });
    expect(findBlock(doc, id).style).toEqual({ padding: [8, 0, 8, 0] });
  });

  it("makes only top-level blocks dynamic, and removes the condition", () => {
    let doc = starterDocument();
    const id = doc.blocks[1].id;
    const cond = { all: [{ field: "company", op: "eq", value: "Acme" }] };
    doc = setCondition(doc, id, cond);
    expect(findBlock(doc, id).condition).toEqual(cond);
    doc = setCondition(doc, id, null);
    expect("condition" in findBlock(doc, id)).toBe(false);
    let cols;
    [doc, cols] = addBlock(doc, "columns");
    let inner;
    [doc, inner] = addBlock(doc, "text", { parentId: cols, column: 0 });
    expect(setCondition(doc, inner, cond)).toBe(doc);
  });

  it("asks for a footer and for alt text", () => {
    let doc = emptyDocument();
    expect(localProblems(doc).map((p) => p.message).join()).toMatch(/footer/);
    let img;
    [doc, img] = addBlock(doc, "image");
    [doc] = addBlock(doc, "footer");
    expect(localProblems(doc).filter((p) => p.id === img).map((p) => p.message)).toContain("An image needs alt text.");
    doc = updateBlock(doc, img, { alt: "Our team", src: "/media/x.png" });
    expect(localProblems(doc)).toEqual([]);
  });

  it("maps the server's error paths to the blocks they name", () => {
    let doc = starterDocument();
    let cols;
    [doc, cols] = addBlock(doc, "columns");
    let inner;
    [doc, inner] = addBlock(doc, "image", { parentId: cols, column: 1 });
    const at = doc.blocks.findIndex((b) => b.id === cols);
    expect(blockIdAtPath(doc, `blocks[${at}].columns[1].blocks[0].alt`)).toBe(inner);
    expect(blockIdAtPath(doc, "blocks[0].text")).toBe(doc.blocks[0].id);
    expect(blockIdAtPath(doc, "subject")).toBeNull();
    const grouped = errorsByBlock(doc, { "blocks[0].text": "blocks[0].text: too long", subject: ["required"] });
    expect(grouped[doc.blocks[0].id]).toEqual(["too long"]);
    expect(grouped[""]).toEqual(["subject: required"]);
  });
});

describe("merge tags", () => {
  it("writes the tag with its fallback", () => {
    expect(mergeTag("first_name", "there")).toBe('{{ first_name | default("there") }}');
    expect(mergeTag('{{ first_name | default("there") }}', "friend")).toBe('{{ first_name | default("friend") }}');
    expect(mergeTag("{{ attributes.plan | default(\"\") }}", "free")).toBe('{{ attributes.plan | default("free") }}');
    expect(mergeTag("{{ email }}", null)).toBe("{{ email }}");
    expect(mergeTag("company", 'A "quoted" {x}')).toBe('{{ company | default("A quoted x") }}');
  });

  it("reads a menu entry's suggested fallback", () => {
    expect(tagFallback('{{ first_name | default("there") }}')).toBe("there");
    expect(tagFallback("{{ email }}")).toBe("");
  });

  it("inserts at the caret, replacing a selection", () => {
    const tag = mergeTag("first_name", "there");
    expect(insertAt("Hello !", tag, 6)).toEqual({ value: `Hello ${tag}!`, caret: 6 + tag.length });
    expect(insertAt("Hello NAME!", tag, 6, 10).value).toBe(`Hello ${tag}!`);
    expect(insertAt("", tag).value).toBe(tag);
  });
});

describe("the recommended products block", () => {
  it("starts with a title, three products side by side and a button, and goes above the footer", () => {
    const [doc] = addBlock(starterDocument(), "products");
    const block = doc.blocks.find((b) => b.type === "products");
    expect([block.title, block.count, block.per_row, block.button_text]).toEqual(["Picked for you", 3, 3, "Shop now"]);
    expect(types(doc).at(-1)).toBe("footer");
  });
});
