// Where a server error belongs in a filter tree. The server names each mistake by its JSON
// path (segments/filters/validation.py: `all[1].any[0].op`, `all[2].where[0].value`,
// `all[3].not.segment`); the editor shows it next to the condition that path points into.

export function joinPath(path, key) {
  if (!key) return path;
  if (key.startsWith("[")) return `${path}${key}`;
  return path ? `${path}.${key}` : key;
}

const isGroup = (c) => !!c && typeof c === "object" && (Array.isArray(c.all) || Array.isArray(c.any));

// Every node of the tree with its path: groups and `not`s own only their exact path (and the
// group's list key); a leaf owns everything below it (`.op`, `.where[0].value`, …).
export function nodePaths(tree, path = "") {
  if (isGroup(tree)) {
    const mode = tree.any ? "any" : "all";
    return [
      { path, leaf: false, own: [path, joinPath(path, mode)] },
      ...tree[mode].flatMap((c, i) => nodePaths(c, joinPath(path, `${mode}[${i}]`))),
    ];
  }
  if (tree && typeof tree === "object" && tree.not !== undefined) {
    return [{ path, leaf: false, own: [path] }, ...nodePaths(tree.not, joinPath(path, "not"))];
  }
  return [{ path, leaf: true, own: [path] }];
}

function owns(node, key) {
  if (node.own.includes(key)) return true;
  if (!node.leaf) return false;
  return node.path === "" || key.startsWith(`${node.path}.`) || key.startsWith(`${node.path}[`);
}

// The messages for the node at `path` (of `tree`), in the order the server gave them.
export function errorsAt(errors, tree, path) {
  const node = nodePaths(tree).find((n) => n.path === path);
  if (!node || !errors) return [];
  return Object.entries(errors).filter(([key]) => owns(node, key)).map(([key, message]) => describeError(node.path, key, message));
}

// Errors whose path names no node of the tree (the tree changed since, or a form-level key):
// shown above the editor so nothing the server said is lost.
export function unplacedErrors(errors, tree) {
  const nodes = nodePaths(tree);
  return Object.entries(errors || {})
    .filter(([key]) => !nodes.some((n) => owns(n, key)))
    .map(([key, message]) => (key ? `${key}: ${message}` : String(message)));
}

// "where[0].value: must be a number" reads better as "property 1 value: must be a number".
function describeError(nodePath, key, message) {
  const rest = key === nodePath ? "" : key.slice(nodePath.length).replace(/^\./, "");
  const text = Array.isArray(message) ? message.join(" ") : String(message);
  if (!rest || rest === "all" || rest === "any") return text;
  const where = rest.match(/^where\[(\d+)\]\.?(.*)$/);
  if (where) return `property ${Number(where[1]) + 1}${where[2] ? ` ${where[2]}` : ""}: ${text}`;
  return `${rest.replace(/_/g, " ")}: ${text}`;
}

// The tree without the conditions not filled in yet (the live count leaves them out and says
// how many), so a half-typed condition is not reported as a mistake while it is typed.
export function pruneUnfinished(tree, problemsOf) {
  let unfinished = 0;
  const walk = (c) => {
    if (isGroup(c)) {
      const mode = c.any ? "any" : "all";
      const kept = c[mode].map(walk).filter((x) => x !== null);
      return kept.length || c === tree ? { [mode]: kept } : null;
    }
    if (c && typeof c === "object" && c.not !== undefined) {
      const inner = walk(c.not);
      return inner === null ? null : { not: inner };
    }
    if (problemsOf(c).length) {
      unfinished += 1;
      return null;
    }
    return c;
  };
  const pruned = walk(isGroup(tree) ? tree : { all: tree ? [tree] : [] });
  return { tree: pruned, unfinished };
}
