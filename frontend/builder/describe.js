// What a node says about itself on the canvas: a one-line summary of its configuration
// and, when it is not configured, what is missing — checked against the node type's JSON
// Schema (the subset the registry uses) plus the rules the schema cannot say.
import { conditionProblems, COUNT_WORDS, OP_WORDS, usesSinceEntry } from "../conditions/conditions.js";

// Steps evaluated inside a run: their event conditions may look "since entering the
// workflow" (the server's workflows/conditions.py resolves it against the run's entry).
export const IN_RUN = new Set(["branch.condition", "branch.multi", "goal", "wait.until_condition"]);
import { kindOf } from "./model.js";

// The editor's operator words (conditions.js), read as a sentence: "… days" takes the number.
export const OPS = {
  ...OP_WORDS, in: "is one of", not_in: "is not one of",
  within_last_days: "within the last … days", more_than_days_ago: "more than … days ago",
  within_next_days: "within the next … days", anniversary_within_days: "anniversary within … days",
  anniversary_this_month: "has an anniversary this month",
};

const UNITS = ["days", "hours", "minutes", "seconds"];

export function durationWords(config) {
  const parts = UNITS.filter((u) => Number(config?.[u]) > 0).map((u) => {
    const n = Number(config[u]);
    return `${n} ${n === 1 ? u.slice(0, -1) : u}`;
  });
  return parts.join(" ");
}

function valueWords(value) {
  if (Array.isArray(value)) return value.join(", ");
  if (value === undefined || value === null) return "";
  return String(value);
}

function opPhrase(op, value) {
  const words = OPS[op] || op;
  if (words.includes("…")) return words.replace("…", valueWords(value));
  if (op === "exists" || op === "not_exists" || op === "anniversary_this_month") return words;
  if (op === "between" && Array.isArray(value)) return `${words} ${valueWords(value[0])} and ${valueWords(value[1])}`;
  return `${words} ${valueWords(value)}`.trim();
}

export function conditionWords(cond, lookups = {}) {
  if (!cond || typeof cond !== "object") return "";
  if (Array.isArray(cond.all)) return groupWords(cond.all, " and ", lookups);
  if (Array.isArray(cond.any)) return groupWords(cond.any, " or ", lookups);
  if (cond.not) return `not (${conditionWords(cond.not, lookups)})`;
  const without = cond.op === "not_exists";
  if (cond.tag !== undefined) return `${without ? "does not have" : "has"} tag ${cond.tag}`;
  if (cond.segment !== undefined) return `${without ? "not in" : "in"} segment ${lookups.segments?.[cond.segment] || `#${cond.segment}`}`;
  if (cond.field !== undefined) return `${cond.field} ${opPhrase(cond.op, cond.value)}`;
  if (cond.event !== undefined) {
    let text = `did ${cond.event}`;
    const where = (cond.where || []).map((w) => `${w.property} ${opPhrase(w.op, w.value)}`);
    if (where.length) text += ` (${where.join(", ")})`;
    if (cond.count) text += ` ${COUNT_WORDS[cond.count.op] || cond.count.op} ${cond.count.value} times`;
    if (cond.since_entry) text += " since entering";
    if (cond.within_days) text += ` in the last ${cond.within_days} days`;
    if (Array.isArray(cond.between)) text += ` between ${cond.between[0]} and ${cond.between[1]}`;
    return text;
  }
  return "";
}

function groupWords(items, joiner, lookups) {
  const parts = items.map((c) => conditionWords(c, lookups)).filter(Boolean);
  if (!parts.length) return "";
  return parts.length > 1 && items.length > 1 ? parts.map((p, i) => (items[i].all || items[i].any ? `(${p})` : p)).join(joiner) : parts[0];
}

export function countConditions(filter) {
  if (!filter || typeof filter !== "object") return 0;
  if (Array.isArray(filter.all)) return filter.all.reduce((s, c) => s + countConditions(c), 0);
  if (Array.isArray(filter.any)) return filter.any.reduce((s, c) => s + countConditions(c), 0);
  if (filter.not) return countConditions(filter.not);
  return 1;
}

function name(lookup, id) {
  if (id === undefined || id === null || id === "") return "";
  return lookup?.[id] || `#${id}`;
}

export function summary(node, lookups = {}) {
  const c = node.config || {};
  switch (node.type) {
    case "trigger.event": return c.event ? `when ${c.event}` : "";
    case "trigger.segment_entered": return c.segment ? `enters ${name(lookups.segments, c.segment)}` : "";
    case "trigger.segment_exited": return c.segment ? `leaves ${name(lookups.segments, c.segment)}` : "";
    case "trigger.segment_snapshot": return c.segment ? `everyone in ${name(lookups.segments, c.segment)}` : "";
    case "trigger.score_threshold": return c.threshold !== undefined ? `score ${c.direction === "down" ? "<" : "≥"} ${c.threshold}` : "";
    case "trigger.field_changed": return c.field ? `${c.field} changes${c.to !== undefined ? ` to ${c.to}` : ""}` : "";
    case "trigger.lifecycle_changed": return [c.from && `from ${c.from}`, c.to && `to ${c.to}`].filter(Boolean).join(" ") || "any change";
    case "trigger.date_anniversary": return c.attribute ? `${c.attribute} at ${c.at || "09:00"}` : "";
    case "trigger.form_submitted": return c.form ? `form ${name(lookups.forms, c.form)}` : "any form";
    case "trigger.api": return "enrolled by the API";
    case "trigger.browse_abandoned": return c.category ? `browsed ${c.category}, did not buy` : "browsed, did not buy";
    case "trigger.back_in_stock": return c.product ? `${c.product} back in stock` : "a viewed product is back";
    case "trigger.price_drop": return `price −${c.min_percent ?? 10}% or more${c.product ? ` on ${c.product}` : ""}`;
    case "wait.duration": return durationWords(c) ? `wait ${durationWords(c)}` : "";
    case "wait.until_event": return c.event ? `until ${c.event}${c.timeout ? `, at most ${durationWords(c.timeout)}` : ""}` : "";
    case "wait.until_condition": return countConditions(c.filter) ? `until ${conditionWords(c.filter, lookups)}` : "";
    case "wait.until_datetime": return c.at ? `until ${c.at}` : "";
    case "wait.until_reorder": return `${c.days_before ?? 3} days before the reorder${c.product ? ` of ${c.product}` : ""}`;
    case "wait.weekday_window": return (c.days || []).length ? `${(c.days || []).map((d) => "Mon Tue Wed Thu Fri Sat Sun".split(" ")[d]).join(" ")} ${c.start || ""}–${c.end || ""}` : "";
    case "branch.condition": return countConditions(c.filter) ? `if ${conditionWords(c.filter, lookups)}` : "";
    case "branch.ab": return c.mode === "smart"
      ? `smart: ${(c.variants || []).map((v) => v.name.toUpperCase()).join(" / ")}, at least ${c.floor ?? 10}% each`
      : (c.variants || []).map((v) => `${v.name.toUpperCase()} ${v.weight}%`).join(" / ");
    case "branch.multi": return (c.branches || []).map((b) => b.name).join(" / ");
    case "action.email": return c.template ? name(lookups.emailTemplates, c.template) : "";
    case "action.sms": return c.template ? name(lookups.smsTemplates, c.template) : "";
    case "action.tag_add": return (c.tags || []).length ? `+ ${(c.tags || []).join(", ")}` : "";
    case "action.tag_remove": return (c.tags || []).length ? `− ${(c.tags || []).join(", ")}` : "";
    case "action.update_field": return c.field ? `${c.field} ${c.op || "set"}${c.op === "unset" ? "" : ` ${valueWords(c.value)}`}` : "";
    case "action.score_change": return c.points ? `${c.points > 0 ? "+" : ""}${c.points} points` : "";
    case "action.lifecycle_set": return c.stage ? `→ ${c.stage}` : "";
    case "action.webhook": return c.url ? String(c.url).slice(0, 40) : "";
    case "action.list_add": return c.list ? `to ${name(lookups.lists, c.list)}` : "";
    case "action.list_remove": return c.list ? `from ${name(lookups.lists, c.list)}` : "";
    case "action.enroll_workflow": return c.workflow ? name(lookups.workflows, c.workflow) : "";
    case "action.sales_task": return c.title ? `${c.title}${c.assignee ? ` → ${name(lookups.members, c.assignee)}` : ""}` : "";
    case "action.assign_owner": return c.owner ? `to ${name(lookups.members, c.owner)}` : "next rep in rotation";
    case "action.exit": return c.reason || "end of the run";
    case "goal": return countConditions(c.filter) ? conditionWords(c.filter, lookups) : "when reached";
    default: return "";
  }
}

// --- configuration problems: the schema subset the registry uses, plus the extra rules ---

function typeOk(value, type) {
  const types = Array.isArray(type) ? type : [type];
  return types.some((t) => {
    if (t === "integer") return Number.isInteger(value);
    if (t === "number") return typeof value === "number" && Number.isFinite(value);
    if (t === "string") return typeof value === "string";
    if (t === "array") return Array.isArray(value);
    if (t === "object") return value !== null && typeof value === "object" && !Array.isArray(value);
    if (t === "null") return value === null;
    if (t === "boolean") return typeof value === "boolean";
    return true;
  });
}

export function schemaProblems(schema, value, path = "") {
  const problems = [];
  const at = path || "config";
  if (!schema || typeof schema !== "object") return problems;
  if (schema.type && !typeOk(value, schema.type)) return [`${at}: expected ${[].concat(schema.type).join(" or ")}`];
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${at}: choose one of ${schema.enum.join(", ")}`);
  if (typeof value === "string") {
    if (schema.minLength && value.trim().length < schema.minLength) problems.push(`${at}: required`);
    if (schema.maxLength && value.length > schema.maxLength) problems.push(`${at}: at most ${schema.maxLength} characters`);
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${at}: not in the expected format`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at}: at most ${schema.maximum}`);
    if (schema.not?.const !== undefined && value === schema.not.const) problems.push(`${at}: cannot be ${schema.not.const}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems && value.length < schema.minItems) problems.push(`${at}: at least ${schema.minItems}`);
    if (schema.maxItems && value.length > schema.maxItems) problems.push(`${at}: at most ${schema.maxItems}`);
    if (schema.items) value.forEach((item, i) => problems.push(...schemaProblems(schema.items, item, `${at}[${i}]`)));
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const key of schema.required || []) {
      const v = value[key];
      if (v === undefined || v === null || v === "") problems.push(`${path ? `${path}.` : ""}${key}: required`);
    }
    if (schema.minProperties && Object.keys(value).length < schema.minProperties) problems.push(`${at}: required`);
    for (const [key, sub] of Object.entries(schema.properties || {})) {
      if (value[key] !== undefined && value[key] !== null && value[key] !== "") problems.push(...schemaProblems(sub, value[key], path ? `${path}.${key}` : key));
    }
  }
  return problems;
}

export function configProblems(node, spec) {
  if (!spec) return [`unknown node type ${node.type}`];
  const c = node.config || {};
  const problems = schemaProblems(spec.schema, c);
  if (node.type === "wait.duration" && !durationWords(c)) problems.push("length: give a wait longer than 0");
  if ((node.type === "wait.until_event" || node.type === "wait.until_condition") && c.timeout && !durationWords(c.timeout)) problems.push("timeout: give a length longer than 0");
  if (node.type === "branch.condition" && !countConditions(c.filter)) problems.push("filter: add at least one condition");
  for (const key of ["filter"]) if (c[key]) problems.push(...conditionProblems(c[key]));
  if (!IN_RUN.has(node.type) && usesSinceEntry(c.filter)) problems.push("filter: “since entering the workflow” applies only to branches, goals and waits");
  (c.branches || []).forEach((b) => problems.push(...conditionProblems(b.filter).map((m) => `${b.name}: ${m}`)));
  if (node.type === "wait.until_condition" && c.filter && !countConditions(c.filter)) problems.push("filter: add at least one condition");
  if (node.type === "branch.ab") {
    const total = (c.variants || []).reduce((s, v) => s + (Number(v.weight) || 0), 0);
    if (total !== 100) problems.push(`weights: must add up to 100 (now ${total})`);
    const names = (c.variants || []).map((v) => v.name);
    if (new Set(names).size !== names.length) problems.push("variants: each needs its own name");
    const floor = c.floor ?? 10;
    if (c.mode === "smart" && floor * names.length > 100) problems.push(`floor: at most ${Math.floor(100 / names.length)}% for ${names.length} variants`);
  }
  if (node.type === "branch.multi") {
    (c.branches || []).forEach((b, i) => {
      if (!countConditions(b.filter)) problems.push(`branches[${i}].filter: add at least one condition`);
    });
  }
  return [...new Set(problems)];
}

export function kindLabel(type) {
  return { trigger: "Trigger", wait: "Wait", branch: "Branch", action: "Action", goal: "Goal" }[kindOf(type)];
}
