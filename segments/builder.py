"""The htmx segment builder: a filter tree <-> flat form fields, edit actions, a view model.

Every node of the tree owns a form prefix: the root is `n`, its children `n.0`, `n.1`,
their children `n.0.0` … and an event's property conditions `n.2.w.0`. Each node posts
`<prefix>.kind` plus its own fields; the server rebuilds the tree from the form on every
request (no client state), applies the button's action, and renders the builder again.
Validation errors come back keyed by JSON path (`all[1].any[0].op`); `paths` maps those
to prefixes so each message shows next to its node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from contacts.models import EventDefinition
from workspaces.models import Membership, Workspace

from .filters.schema import (
    COUNT_OPERATORS,
    DAY_OPS,
    LIST_VALUE_OPS,
    NO_VALUE_OPS,
    OP_LABELS,
    PROPERTY_OPERATORS,
    FieldSpec,
    FieldType,
    Op,
    field_catalog,
)
from .filters.validation import join
from .models import Segment

ROOT = "n"
BUILDER_MODES = ("segment", "event_where")
PLATFORM_EVENTS = [
    "page",
    "email.sent",
    "email.delivered",
    "email.opened",
    "email.clicked",
    "email.bounced",
    "email.unsubscribed",
    "sms.sent",
    "sms.delivered",
    "sms.replied",
    "form.submitted",
    "segment.entered",
    "segment.exited",
    "score.changed",
    "lifecycle.changed",
    "workflow.entered",
    "workflow.exited",
]
COUNT_LABELS = {
    Op.GTE: "at least",
    Op.LTE: "at most",
    Op.EQ: "exactly",
    Op.GT: "more than",
    Op.LT: "fewer than",
}
NEW_NODES: dict[str, dict[str, Any]] = {
    "field": {"field": "email", "op": "contains", "value": ""},
    "event": {"event": "", "count": {"op": "gte", "value": 1}},
    "tag": {"tag": ""},
    "segment": {"segment": ""},
    "group": {"any": []},
}


# --- form -> tree ----------------------------------------------------------------------------


class FormTree:
    """Reads the builder's fields back into a (possibly invalid) filter tree."""

    def __init__(self, data: QueryDict, catalog: dict[str, FieldSpec]):
        self.data = data
        self.catalog = catalog
        self.paths: dict[str, str] = {}  # JSON path -> form prefix

    def read(self) -> dict[str, Any]:
        node = self.node(ROOT, "")
        return node if node is not None else {"all": []}

    def get(self, key: str) -> str:
        return (self.data.get(key) or "").strip()

    def indices(self, prefix: str, infix: str = "") -> list[int]:
        pattern = re.compile(rf"^{re.escape(prefix)}\.{infix}(\d+)\.(kind|property)$")
        return sorted({int(m.group(1)) for key in self.data if (m := pattern.match(key))})

    def node(self, prefix: str, path: str) -> dict[str, Any] | None:
        self.paths[path] = prefix
        kind = self.get(f"{prefix}.kind")
        if kind in ("all", "any"):
            children = []
            for index in self.indices(prefix):
                child = self.node(f"{prefix}.{index}", join(path, f"{kind}[{len(children)}]"))
                if child is not None:
                    children.append(child)
            return {kind: children}
        if kind == "not":
            child = self.node(f"{prefix}.0", join(path, "not"))
            return {"not": child if child is not None else {"all": []}}
        if kind == "field":
            return self.field_node(prefix)
        if kind == "tag":
            return {"tag": self.get(f"{prefix}.tag"), "op": self.get(f"{prefix}.op") or "exists"}
        if kind == "segment":
            ref = self.get(f"{prefix}.segment")
            return {
                "segment": int(ref) if ref.isdigit() else ref,
                "op": self.get(f"{prefix}.op") or "exists",
            }
        if kind == "event":
            return self.event_node(prefix, path)
        return None

    def field_node(self, prefix: str) -> dict[str, Any]:
        name = self.get(f"{prefix}.field")
        spec = self.catalog.get(name)
        op = self.get(f"{prefix}.op")
        if spec is not None and op not in spec.operators:
            op = str(spec.operators[0])  # the field changed type: start from its first operator
        node: dict[str, Any] = {"field": name, "op": op}
        if spec is None or op in NO_VALUE_OPS:
            return node
        if op in LIST_VALUE_OPS and spec.type in (FieldType.CHOICE, FieldType.OWNER):
            chosen = [v.strip() for v in self.data.getlist(f"{prefix}.value") if v.strip()]
            node["value"] = [_scalar(spec, v) for v in chosen]
            return node
        raw, raw2 = self.get(f"{prefix}.value"), self.get(f"{prefix}.value2")
        node["value"] = form_value(spec, Op(op), raw, raw2)
        return node

    def event_node(self, prefix: str, path: str) -> dict[str, Any]:
        node: dict[str, Any] = {"event": self.get(f"{prefix}.event")}
        where = []
        for index in self.indices(prefix, r"w\."):
            row = f"{prefix}.w.{index}"
            self.paths[f"{path}.where[{len(where)}]"] = row
            where.append(self.property_node(row))
        if where:
            node["where"] = where
        count_op, count_value = self.get(f"{prefix}.count_op"), self.get(f"{prefix}.count_value")
        if count_op and (count_op, count_value) != ("gte", "1"):
            node["count"] = {"op": count_op, "value": _int(count_value)}
        window = self.get(f"{prefix}.window")
        if window == "within":
            node["within_days"] = _int(self.get(f"{prefix}.within_days") or "30")
        elif window == "between":
            node["between"] = [self.get(f"{prefix}.from"), self.get(f"{prefix}.to")]
        return node

    def property_node(self, row: str) -> dict[str, Any]:
        op = self.get(f"{row}.op") or "eq"
        node: dict[str, Any] = {"property": self.get(f"{row}.property"), "op": op}
        raw, raw2 = self.get(f"{row}.value"), self.get(f"{row}.value2")
        if op in NO_VALUE_OPS:
            return node
        if op in LIST_VALUE_OPS:
            node["value"] = [item.strip() for item in raw.split(",") if item.strip()]
        elif op == Op.BETWEEN:
            node["value"] = [_number(raw), _number(raw2)]
        elif op in (Op.GT, Op.GTE, Op.LT, Op.LTE):
            node["value"] = _number(raw)
        elif op in (Op.EQ, Op.NEQ) and raw in ("true", "false"):
            node["value"] = raw == "true"
        else:
            node["value"] = raw
        return node


def form_value(spec: FieldSpec, op: Op, raw: str, raw2: str) -> Any:
    if op in DAY_OPS:
        return _int(raw)
    if op in LIST_VALUE_OPS:
        return [_scalar(spec, item.strip()) for item in raw.split(",") if item.strip()]
    if op == Op.BETWEEN:
        return [_scalar(spec, raw), _scalar(spec, raw2)]
    return _scalar(spec, raw)


def _scalar(spec: FieldSpec, raw: str) -> Any:
    if spec.type == FieldType.NUMBER:
        return _number(raw)
    if spec.type == FieldType.OWNER:
        return _int(raw)
    if spec.type == FieldType.BOOLEAN:
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def _int(raw: str) -> Any:
    return int(raw) if re.fullmatch(r"-?\d{1,9}", raw or "") else raw


def _number(raw: str) -> Any:
    if re.fullmatch(r"-?\d{1,15}", raw or ""):
        return int(raw)
    try:
        return float(raw) if raw else raw
    except ValueError:
        return raw


# --- actions -----------------------------------------------------------------------------------


def _locate(tree: dict[str, Any], prefix: str) -> tuple[Any, Any, Any]:
    """(parent container, key in it, node) for a prefix; the root has no parent."""
    parts = prefix.split(".")[1:]
    parent: Any = None
    key: Any = None
    node: Any = tree
    while parts:
        part = parts.pop(0)
        if part == "w":
            index = int(parts.pop(0))
            parent, key, node = node.setdefault("where", []), index, node["where"][index]
            continue
        index = int(part)
        if "not" in node:
            parent, key, node = node, "not", node["not"]
        else:
            group = node["all"] if "all" in node else node["any"]
            parent, key, node = group, index, group[index]
    return parent, key, node


def apply_action(tree: dict[str, Any], action: str) -> dict[str, Any]:
    """Apply a builder button ("add:n.1:event", "remove:n.0", "negate:n.2" …) to the tree."""
    verb, _, rest = action.partition(":")
    prefix, _, what = rest.partition(":")
    if not prefix.startswith(ROOT):
        return tree
    try:
        parent, key, node = _locate(tree, prefix)
    except (KeyError, IndexError, ValueError, TypeError):
        return tree  # a stale button (the form changed under it): ignore
    if verb == "add" and isinstance(node, dict) and what in NEW_NODES:
        group = node.get("all", node.get("any"))
        if isinstance(group, list):
            group.append(_copy(NEW_NODES[what]))
    elif verb == "remove" and parent is not None:
        del parent[key]
    elif verb == "toggle" and isinstance(node, dict) and ("all" in node or "any" in node):
        kind = "all" if "all" in node else "any"
        node[("any" if kind == "all" else "all")] = node.pop(kind)
    elif verb == "negate":
        replacement = node["not"] if isinstance(node, dict) and "not" in node else {"not": node}
        if parent is None:
            return (
                replacement
                if "all" in replacement or "any" in replacement
                else {"all": [replacement]}
            )
        parent[key] = replacement
    elif verb == "addwhere" and isinstance(node, dict) and "event" in node:
        node.setdefault("where", []).append({"property": "", "op": "eq", "value": ""})
    return tree


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


# --- view model -------------------------------------------------------------------------------


@dataclass
class NodeView:
    prefix: str
    kind: str
    data: dict[str, Any]
    path: str
    children: list[NodeView] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    spec: FieldSpec | None = None
    where: list[NodeView] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return self.prefix.replace(".", "-")

    @property
    def op(self) -> str:
        op = self.data.get("op") or ""
        if self.spec is not None and op not in self.spec.operators:
            return str(self.spec.operators[0])
        return str(op)

    @property
    def operators(self) -> list[tuple[str, str]]:
        if self.kind == "where":
            return [(str(op), OP_LABELS[op]) for op in PROPERTY_OPERATORS]
        if self.spec is None:
            return []
        return [(str(op), OP_LABELS[op]) for op in self.spec.operators]

    @property
    def widget(self) -> str:
        """How the value is typed in: none, days, list, between, bool, choice, owner, number,
        date, text."""
        op = self.op
        if self.kind == "where":
            if op in NO_VALUE_OPS:
                return "none"
            if op == Op.BETWEEN:
                return "between"
            return "text"
        if self.spec is None or op in NO_VALUE_OPS:
            return "none"
        if op in DAY_OPS:
            return "days"
        if op in LIST_VALUE_OPS and self.spec.type not in (FieldType.CHOICE, FieldType.OWNER):
            return "list"
        if op == Op.BETWEEN:
            return "between"
        return {
            FieldType.BOOLEAN: "bool",
            FieldType.CHOICE: "choice",
            FieldType.OWNER: "owner",
            FieldType.NUMBER: "number",
            FieldType.DATE: "date",
            FieldType.DATETIME: "date",
        }.get(self.spec.type, "text")

    @property
    def input_type(self) -> str:
        return {"number": "number", "date": "date"}.get(self.widget, "text")

    @property
    def between_type(self) -> str:
        if self.spec is None:
            return "number"
        return {FieldType.DATE: "date", FieldType.DATETIME: "date"}.get(self.spec.type, "number")

    @property
    def value(self) -> Any:
        value = self.data.get("value")
        if isinstance(value, list):
            return value[0] if self.widget == "between" and value else ", ".join(map(str, value))
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else value

    @property
    def value2(self) -> Any:
        value = self.data.get("value")
        return value[1] if isinstance(value, list) and len(value) > 1 else ""

    @property
    def selected(self) -> list[str]:
        value = self.data.get("value")
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    @property
    def count_op(self) -> str:
        return str((self.data.get("count") or {}).get("op", "gte"))

    @property
    def count_value(self) -> Any:
        return (self.data.get("count") or {}).get("value", 1)

    @property
    def window(self) -> str:
        if "within_days" in self.data:
            return "within"
        return "between" if "between" in self.data else "ever"

    @property
    def between_dates(self) -> list[Any]:
        value = self.data.get("between")
        return list(value) + ["", ""] if isinstance(value, list) else ["", ""]


@dataclass
class Builder:
    root: NodeView
    catalog: dict[str, FieldSpec]
    event_names: list[str]
    property_keys: dict[str, list[str]]
    segments: list[Segment]
    members: list[tuple[int, str]]
    general_errors: list[str]
    count_labels: list[tuple[str, str]]
    # "segment": the whole filter language. "event_where": one event and its property
    # conditions only (a scoring rule's behaviour: no groups, counts or time windows).
    mode: str = "segment"
    add_choices: tuple[tuple[str, str], ...] = (
        ("field", "Field"),
        ("event", "Event"),
        ("tag", "Tag"),
        ("segment", "Segment"),
        ("group", "Group"),
    )

    @property
    def all_nodes(self) -> list[NodeView]:
        found: list[NodeView] = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(node.children + node.where)
        return found

    @property
    def contact_fields(self) -> list[FieldSpec]:
        return [spec for spec in self.catalog.values() if not spec.is_attribute]

    @property
    def attributes(self) -> list[FieldSpec]:
        return [spec for spec in self.catalog.values() if spec.is_attribute]


def _node_view(raw: Any, prefix: str, path: str, catalog: dict[str, FieldSpec]) -> NodeView:
    if not isinstance(raw, dict):
        raw = {"all": []}
    for kind in ("all", "any"):
        if isinstance(raw.get(kind), list):
            view = NodeView(prefix, kind, raw, path)
            view.children = [
                _node_view(child, f"{prefix}.{index}", join(path, f"{kind}[{index}]"), catalog)
                for index, child in enumerate(raw[kind])
            ]
            return view
    if "not" in raw:
        view = NodeView(prefix, "not", raw, path)
        view.children = [_node_view(raw["not"], f"{prefix}.0", join(path, "not"), catalog)]
        return view
    for kind in ("field", "tag", "segment", "event"):
        if kind in raw:
            view = NodeView(prefix, kind, raw, path)
            if kind == "field":
                view.spec = catalog.get(str(raw.get("field")))
            if kind == "event":
                view.where = [
                    NodeView(
                        f"{prefix}.w.{index}",
                        "where",
                        item if isinstance(item, dict) else {},
                        f"{path}.where[{index}]",
                    )
                    for index, item in enumerate(raw.get("where") or [])
                ]
            return view
    return NodeView(prefix, "all", {"all": []}, path)


def _attach_errors(root: NodeView, errors: dict[str, str]) -> list[str]:
    """Put each error on the deepest node whose path starts it; return the rest."""
    nodes: dict[str, NodeView] = {}

    def collect(view: NodeView) -> None:
        nodes[view.path] = view
        for child in view.children + view.where:
            collect(child)

    collect(root)
    unplaced = []
    for key, message in errors.items():
        owner = None
        for path in sorted(nodes, key=len, reverse=True):
            if key == path or not path or key.startswith(path + ".") or key.startswith(path + "["):
                owner = nodes[path]
                break
        if owner is None:
            unplaced.append(f"{key}: {message}" if key else message)
        else:
            owner.errors.append(in_words(owner, key, message))
    return unplaced


# What the filter language says at a path, said the way the builder's controls are labelled.
_EMPTY_IN_WORDS = {
    ("event", "event"): "Choose an event.",
    ("tag", "tag"): "Type a tag.",
    ("segment", "segment"): "Choose a segment.",
    ("field", "field"): "Choose a field.",
    ("where", "property"): "Type a property name.",
}
_CONTROL_LABELS = {
    "count.value": "Times",
    "count": "Times",
    "within_days": "Days",
    "between": "Dates",
    "op": "Operator",
}


def in_words(node: NodeView, key: str, message: str) -> str:
    """An error placed on `node`, without the JSON path the API needs to name it."""
    relative = key[len(node.path) :].lstrip(".") if key.startswith(node.path) else key
    empty = _EMPTY_IN_WORDS.get((node.kind, relative))
    if empty is not None and _blank(node.data.get(relative)):
        return empty
    if relative == "value" and _blank(node.data.get("value")):
        return "Type a value." if node.widget != "choice" else "Choose a value."
    if node.kind == "segment" and relative == "segment":
        return "That segment is not in this workspace any more: choose another."
    label = _CONTROL_LABELS.get(relative)
    text = message[:1].upper() + message[1:]
    return f"{label}: {message}" if label else text


def builder_view(
    *,
    workspace: Workspace,
    tree: Any,
    errors: dict[str, str] | None = None,
    exclude_segment_id: int | None = None,
    mode: str = "segment",
) -> Builder:
    catalog = field_catalog(workspace=workspace)
    if not (isinstance(tree, dict) and ("all" in tree or "any" in tree)):
        tree = {"all": [tree]} if tree else {"all": []}
    root = _node_view(tree, ROOT, "", catalog)
    definitions = list(
        EventDefinition.objects.for_workspace(workspace)
        .order_by("-last_seen_at")
        .values_list("name", "property_keys")[:500]
    )
    names = [name for name, _ in definitions]
    segments = Segment.objects.for_workspace(workspace).order_by("name")
    if exclude_segment_id:
        segments = segments.exclude(pk=exclude_segment_id)
    members = [
        (user_id, email)
        for user_id, email in Membership.objects.for_workspace(workspace)
        .order_by("user__email")
        .values_list("user_id", "user__email")
    ]
    return Builder(
        root=root,
        catalog=catalog,
        event_names=names + [name for name in PLATFORM_EVENTS if name not in names],
        property_keys={name: sorted(keys or []) for name, keys in definitions},
        segments=list(segments.only("id", "name", "kind")),
        members=members,
        general_errors=_attach_errors(root, errors or {}),
        count_labels=[(str(op), COUNT_LABELS[op]) for op in COUNT_OPERATORS],
        mode=mode if mode in BUILDER_MODES else "segment",
    )


def tree_from_form(
    *, workspace: Workspace, data: QueryDict, with_action: bool = True
) -> tuple[dict[str, Any], FormTree]:
    """The tree the form describes, with its button's action applied when `with_action`.

    The live preview passes with_action=False: htmx sends the last focused button's name and
    value with every later request of the form, so tabbing onto "+ where" would otherwise
    make the count evaluate a condition that was never added.
    """
    reader = FormTree(data, field_catalog(workspace=workspace))
    tree = reader.read()
    action = (data.get("action") or "") if with_action else ""
    if action:
        tree = apply_action(tree, action)
    return tree, reader


# --- unfinished conditions ------------------------------------------------------------------


def _blank(value: Any) -> bool:
    if isinstance(value, list):
        return all(_blank(item) for item in value)
    return value is None or (isinstance(value, str) and not value.strip())


def _leaf_unfinished(node: dict[str, Any]) -> bool:
    """A condition just added and not filled in yet: nothing is wrong with it, it is empty."""
    if "event" in node:
        return _blank(node.get("event"))
    if "tag" in node:
        return _blank(node.get("tag"))
    if "segment" in node:
        return _blank(node.get("segment"))
    if "field" in node:
        if _blank(node.get("field")):
            return True
        return node.get("op") not in NO_VALUE_OPS and _blank(node.get("value"))
    if "property" in node:
        if _blank(node.get("property")):
            return True
        return node.get("op") not in NO_VALUE_OPS and _blank(node.get("value"))
    return False


def unfinished_prune(tree: Any, path: str = "") -> tuple[Any, list[str]]:
    """(the tree without its unfinished conditions, the JSON paths of those conditions).

    A group whose every condition is unfinished is unfinished itself; the pruned root is
    `{"all": []}` when nothing is left. The live count uses the pruned tree, so adding a
    condition never turns the count into an error before the marketer has typed anything.
    """
    if not isinstance(tree, dict):
        return tree, []
    for kind in ("all", "any"):
        children = tree.get(kind)
        if isinstance(children, list):
            kept, skipped = [], []
            for index, child in enumerate(children):
                pruned, unfinished = unfinished_prune(child, join(path, f"{kind}[{index}]"))
                skipped += unfinished
                if pruned is not None:
                    kept.append(pruned)
            if children and not kept and path:
                return None, skipped
            return {**tree, kind: kept}, skipped
    if "not" in tree:
        pruned, unfinished = unfinished_prune(tree["not"], join(path, "not"))
        return (None if pruned is None else {"not": pruned}), unfinished
    if _leaf_unfinished(tree):
        return None, [path]
    if "event" in tree and isinstance(tree.get("where"), list):
        where, skipped = [], []
        for index, row in enumerate(tree["where"]):
            if isinstance(row, dict) and _leaf_unfinished(row):
                skipped.append(f"{path}.where[{index}]")
            else:
                where.append(row)
        pruned = {key: value for key, value in tree.items() if key != "where"}
        if where:
            pruned["where"] = where
        return pruned, skipped
    return tree, []


def errors_outside(errors: dict[str, str], paths: list[str]) -> dict[str, str]:
    """The errors that are not about one of these (unfinished) conditions."""
    return {
        key: message
        for key, message in errors.items()
        if not any(key == p or key.startswith(p + ".") or key.startswith(p + "[") for p in paths)
    }
