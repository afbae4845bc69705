// The segment filter format's rules for the canvas' condition editor (Condition.jsx): which
// operators each kind of condition takes, how a typed value becomes JSON, and what is wrong
// with a condition, said in words. The operators per field type come from the server's
// field catalog (GET workflows/autocomplete/fields/ → segments/filters/schema.py), so the
// canvas offers exactly what the segments builder offers; the fixed lists below mirror the
// same module (PROPERTY_OPERATORS, COUNT_OPERATORS, NO_VALUE_OPS, DAY_OPS).

export const OP_WORDS = {
  eq: "is", neq: "is not", contains: "contains", not_contains: "does not contain",
  starts_with: "starts with", ends_with: "ends with", in: "is any of", not_in: "is none of",
  exists: "is set", not_exists: "is not set", gt: ">", gte: "≥", lt: "<", lte: "≤",
  between: "is between", before: "is before", after: "is after",
  within_last_days: "in the last N days", more_than_days_ago: "more than N days ago",
  within_next_days: "in the next N days", anniversary_within_days: "anniversary in the next N days",
  anniversary_this_month: "anniversary this month",
};

const TEXT_OPS = ["eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", "exists", "not_exists"];
export const FIELD_OPS = [...TEXT_OPS, "gt", "gte", "lt", "lte", "between", "before", "after", "within_last_days", "more_than_days_ago", "within_next_days", "anniversary_within_days", "anniversary_this_month"];
export const PROPERTY_OPS = [...TEXT_OPS, "gt", "gte", "lt", "lte", "between"];
export const COUNT_OPS = ["gte", "lte", "eq", "gt", "lt"];
export const COUNT_WORDS = { gte: "at least", lte: "at most", eq: "exactly", gt: "more than", lt: "fewer than" };
export const PRESENCE_OPS = ["exists", "not_exists"]; // tag / segment: has it or not
export const NO_VALUE = new Set(["exists", "not_exists", "anniversary_this_month"]);
export const DAY_OPS = new Set(["within_last_days", "more_than_days_ago", "within_next_days", "anniversary_within_days"]);
export const LIST_OPS = new Set(["in", "not_in"]);
const NUMBER_OPS = new Set(["gt", "gte", "lt", "lte"]);

export function fieldSpec(catalog, name) {
  return (catalog || []).find((f) => f.name === name) || null;
}

// The operators a field takes: its type's, from the catalog; every operator while the field
// is not (yet) one the catalog knows.
export function opsForField(catalog, name) {
  const spec = fieldSpec(catalog, name);
  return spec?.operators?.length ? spec.operators : FIELD_OPS;
}

// How the value is typed in: none, days, list, between, date, number or text.
export function valueKind(op, type) {
  if (NO_VALUE.has(op)) return "none";
  if (DAY_OPS.has(op)) return "days";
  if (LIST_OPS.has(op)) return "list";
  if (op === "between") return type === "date" || type === "datetime" ? "between-dates" : "between";
  if (op === "before" || op === "after" || ((type === "date" || type === "datetime") && (op === "eq" || op === "neq"))) return "date";
  if (type === "number" || NUMBER_OPS.has(op)) return "number";
  return "text";
}

function scalar(text, type) {
  const t = String(text ?? "").trim();
  if (type === "number" || (type === undefined && /^-?\d+(\.\d+)?$/.test(t))) return t !== "" && !Number.isNaN(Number(t)) ? Number(t) : t;
  if (type === "boolean" && (t === "true" || t === "false")) return t === "true";
  if (type === "owner" && /^\d+$/.test(t)) return Number(t);
  return String(text ?? "");
}

// Text typed in → the JSON value for `op` (type: the field's type; undefined for event
// properties, whose numbers are numbers).
export function parseValue(text, op, type) {
  const kind = valueKind(op, type);
  if (kind === "days") return /^\d+$/.test(String(text).trim()) ? Number(text) : text;
  if (kind === "list") return String(text).split(",").map((s) => s.trim()).filter(Boolean).map((s) => scalar(s, type));
  return scalar(text, type);
}

export function showValue(v) {
  return Array.isArray(v) ? v.join(", ") : v ?? "";
}

// A condition changed operator: keep what still fits, drop what does not.
export function withOp(cond, op, type) {
  const next = { ...cond, op };
  const kind = valueKind(op, type);
  if (kind === "none") delete next.value;
  else if (kind.startsWith("between")) next.value = Array.isArray(cond.value) && cond.value.length === 2 ? cond.value : ["", ""];
  else if (Array.isArray(cond.value) && kind !== "list") next.value = cond.value[0] ?? "";
  else if (kind === "list" && !Array.isArray(cond.value)) next.value = cond.value === "" || cond.value === undefined ? [] : [cond.value];
  return next;
}

const blank = (v) => v === undefined || v === null || String(v).trim() === "";
const wholeDays = (v) => Number.isInteger(v) && v >= 0;

function valueProblems(subject, op, value, type) {
  const kind = valueKind(op, type);
  if (kind === "none") return [];
  if (kind === "days") return wholeDays(value) ? [] : [`${subject}: give a whole number of days`];
  if (kind === "list") return Array.isArray(value) && value.length ? [] : [`${subject}: give at least one value (separate them with commas)`];
  if (kind.startsWith("between")) {
    if (!Array.isArray(value) || value.length !== 2 || value.some(blank)) return [`${subject}: give both ends of the range`];
    if (kind === "between" && value.some((v) => typeof v !== "number")) return [`${subject}: both ends must be numbers`];
    if (value[0] > value[1]) return [`${subject}: the range starts after it ends`];
    return [];
  }
  if (blank(value)) return [`${subject}: give a value`];
  if (kind === "number" && typeof value !== "number") return [`${subject}: “${value}” is not a number`];
  return [];
}

// What is wrong with one condition (not its children), in words.
export function leafProblems(cond, catalog) {
  if (!cond || typeof cond !== "object") return ["this condition is empty"];
  if (cond.tag !== undefined) return String(cond.tag).trim() ? [] : ["name the tag"];
  if (cond.segment !== undefined) return blank(cond.segment) ? ["choose a segment"] : [];
  if (cond.event !== undefined) {
    const out = [];
    if (!String(cond.event).trim()) out.push("name the event");
    if (cond.within_days !== undefined && !(Number.isInteger(cond.within_days) && cond.within_days > 0)) out.push("the number of days must be a whole number above 0");
    if (cond.since_entry !== undefined && (cond.within_days !== undefined || cond.between !== undefined)) out.push("choose one period: since entering the workflow, the last N days or two dates");
    if (cond.between !== undefined) {
      const [from, to] = cond.between || [];
      if (blank(from) || blank(to)) out.push("give both dates of the period");
      else if (from > to) out.push("the period starts after it ends");
    }
    if (cond.count && !wholeDays(cond.count.value)) out.push("the number of times must be a whole number");
    (cond.where || []).forEach((w, i) => {
      const subject = `property ${i + 1}${w.property ? ` (${w.property})` : ""}`;
      if (!String(w.property || "").trim()) out.push(`${subject}: name the property`);
      else out.push(...valueProblems(subject, w.op || "eq", w.value, undefined));
    });
    return out;
  }
  if (cond.field !== undefined) {
    if (!String(cond.field).trim()) return ["choose a field"];
    const spec = fieldSpec(catalog, cond.field);
    if (catalog?.length && !spec) return [`“${cond.field}” is not a contact field or attribute of this workspace`];
    if (spec?.operators?.length && !spec.operators.includes(cond.op)) return [`${spec.label || cond.field} cannot use “${OP_WORDS[cond.op] || cond.op}”: choose another operator`];
    return valueProblems(spec?.label || cond.field, cond.op, cond.value, spec?.type);
  }
  return [];
}

// Every problem of a filter tree, each naming its condition by position ("Condition 2.1").
export function conditionProblems(tree, catalog, label = "") {
  if (!tree || typeof tree !== "object") return [];
  const items = tree.all || tree.any;
  if (items) {
    if (label && !items.length) return [`Condition ${label}: the group has no conditions`];
    return items.flatMap((c, i) => conditionProblems(c, catalog, label ? `${label}.${i + 1}` : String(i + 1)));
  }
  if (tree.not) return conditionProblems(tree.not, catalog, label);
  return leafProblems(tree, catalog).map((m) => `Condition ${label || 1}: ${m}`);
}

// Does the tree have an event condition "since entering the workflow" (workflow steps only)?
export function usesSinceEntry(tree) {
  if (!tree || typeof tree !== "object") return false;
  if (tree.event !== undefined && tree.since_entry !== undefined) return true;
  return [...(tree.all || []), ...(tree.any || []), ...(tree.not ? [tree.not] : [])].some(usesSinceEntry);
}
