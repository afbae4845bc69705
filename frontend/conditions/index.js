// The one condition editor (the segments condition builder): used by the workflow canvas
// (branches, goals, trigger filters), the segments page, scoring rules and the email editor's
// dynamic blocks. This is the stable import path; the files behind it may move.
export { ConditionEditor, EventEditor, WhereEditor } from "./Condition.jsx";
export { conditionProblems, leafProblems, OP_WORDS } from "./conditions.js";
export { errorsAt, pruneUnfinished, unplacedErrors } from "./paths.js";
