// The one condition editor (the segments condition builder): used by the workflow canvas
// (branches, goals, trigger filters), the segments page and the email editor's dynamic blocks.
export { ConditionEditor, WhereEditor } from "../builder/Condition.jsx";
export { conditionProblems, leafProblems, OP_WORDS } from "../builder/conditions.js";
