"""A workflow in words: one line per node ("Wait 2 days", "Send email “Welcome”",
"If Lead score ≥ 80 and has tag “vip”"), the trigger and re-entry rule for the publish
summary. The names of templates, segments, lists, workflows and users a graph refers to are
looked up once per graph (`Names.for_graph`), not once per node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from workspaces.models import Workspace

from .. import integrations
from ..nodes import node_type
from .graph import Graph

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
UNITS = (("days", "day"), ("hours", "hour"), ("minutes", "minute"), ("seconds", "second"))
MAX_WORDS = 160  # a summary is one line on a canvas node


@dataclass
class Names:
    """What ids in a graph stand for, in this workspace."""

    templates: dict[tuple[str, str], str] = field(default_factory=dict)
    segments: dict[str, str] = field(default_factory=dict)
    workflows: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    ops: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_graph(cls, workspace: Workspace | None, graph: Graph) -> Names:
        names = cls()
        if workspace is None:
            return names
        wanted: dict[str, set[str]] = {"email": set(), "sms": set(), "segment": set()}
        workflows: set[str] = set()
        users: set[str] = set()
        for node in graph.nodes.values():
            config = node.config
            if node.type in ("action.email", "action.sms") and config.get("template"):
                wanted[node.type.split(".")[1]].add(str(config["template"]))
            for key in ("segment", "list"):
                if config.get(key) is not None:
                    wanted["segment"].add(str(config[key]))
            wanted["segment"] |= set(_segment_ids(config.get("filter")))
            if node.type == "action.enroll_workflow" and config.get("workflow") is not None:
                workflows.add(str(config["workflow"]))
            for key in ("owner", "assignee"):
                if config.get(key):
                    users.add(str(config[key]))
        for channel in ("email", "sms"):
            for pk, name in integrations.template_names(
                workspace=workspace, channel=channel, ids=wanted[channel]
            ).items():
                names.templates[(channel, str(pk))] = name
        names.segments = {
            str(pk): name
            for pk, name in integrations.segment_names(
                workspace=workspace, ids=wanted["segment"]
            ).items()
        }
        names.workflows = _workflow_names(workspace, workflows)
        names.users = _user_names(workspace, users)
        names.fields, names.ops = integrations.filter_vocabulary(workspace=workspace)
        return names


def _ints(ids: set[str]) -> list[int]:
    return [int(i) for i in ids if str(i).isdigit()]


def _workflow_names(workspace: Workspace, ids: set[str]) -> dict[str, str]:
    from ..models import Workflow

    if not ids:
        return {}
    rows = Workflow.objects.for_workspace(workspace).filter(pk__in=_ints(ids))
    return {str(pk): name for pk, name in rows.values_list("pk", "name")}


def _user_names(workspace: Workspace, ids: set[str]) -> dict[str, str]:
    from workspaces.models import Membership

    if not ids:
        return {}
    rows = Membership.objects.for_workspace(workspace).filter(user_id__in=_ints(ids))
    return {str(pk): email for pk, email in rows.values_list("user_id", "user__email")}


def _segment_ids(tree: Any) -> list[str]:
    found: list[str] = []
    if isinstance(tree, Mapping):
        if "segment" in tree and not isinstance(tree["segment"], (dict, list)):
            found.append(str(tree["segment"]))
        for value in tree.values():
            if isinstance(value, (dict, list)):
                found += _segment_ids(value)
    elif isinstance(tree, list):
        for item in tree:
            found += _segment_ids(item)
    return found


def quoted(value: Any) -> str:
    return f"“{value}”"


def duration_words(config: Mapping[str, Any]) -> str:
    parts = []
    for key, unit in UNITS:
        amount = config.get(key)
        if isinstance(amount, (int, float)) and not isinstance(amount, bool) and amount > 0:
            shown = int(amount) if float(amount).is_integer() else amount
            parts.append(f"{shown} {unit}{'' if shown == 1 else 's'}")
    return " ".join(parts) or "no time"


def _value_words(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value_words(v) for v in value[:5]) + (" …" if len(value) > 5 else "")
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _condition_words(cond: Mapping[str, Any], names: Names) -> str:
    op, value = str(cond.get("op", "eq")), cond.get("value")
    label = names.ops.get(op, op.replace("_", " "))
    if op in ("exists", "not_exists", "anniversary_this_month"):
        return label
    if op in ("within_last_days", "more_than_days_ago", "within_next_days"):
        return {
            "within_last_days": f"in the last {value} days",
            "more_than_days_ago": f"more than {value} days ago",
            "within_next_days": f"in the next {value} days",
        }[op]
    if op == "anniversary_within_days":
        return f"anniversary in the next {value} days"
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return f"is between {_value_words(value[0])} and {_value_words(value[1])}"
    return f"{label} {_value_words(value)}"


def filter_words(tree: Any, names: Names | None = None, *, top: bool = True) -> str:
    """A segment filter as a sentence ("Lead score ≥ 80 and has tag “vip”")."""
    names = names or Names()
    if not isinstance(tree, Mapping) or not tree:
        return "everyone"
    for group, joiner in (("all", " and "), ("any", " or ")):
        if group in tree:
            items = [filter_words(c, names, top=False) for c in tree.get(group) or []]
            if not items:
                return "everyone"
            text = joiner.join(items)
            return text if top or len(items) == 1 else f"({text})"
    if "not" in tree:
        return f"not {filter_words(tree['not'], names, top=False)}"
    if "field" in tree:
        field_name = str(tree["field"])
        return f"{names.fields.get(field_name, field_name)} {_condition_words(tree, names)}"
    if "tag" in tree:
        return f"has tag {quoted(tree['tag'])}"
    if "segment" in tree:
        return f"in segment {quoted(names.segments.get(str(tree['segment']), tree['segment']))}"
    if "event" in tree:
        return _event_words(tree, names)
    return "a condition"


def _event_words(tree: Mapping[str, Any], names: Names) -> str:
    text = f"performed {quoted(tree['event'])}"
    where = tree.get("where") or []
    if where:
        text += " where " + " and ".join(
            f"{w.get('property')} {_condition_words(w, names)}"
            for w in where
            if isinstance(w, dict)
        )
    count = tree.get("count")
    if isinstance(count, Mapping):
        words = {"gte": "at least", "lte": "at most", "eq": "exactly", "gt": "more than",
                 "lt": "fewer than"}  # fmt: skip
        amount = count.get("value")
        text += f" {words.get(str(count.get('op')), count.get('op'))} {amount} time{'s' if amount != 1 else ''}"
    if tree.get("since_entry") is True:
        text += " since entering"
    elif tree.get("within_days"):
        text += f" in the last {tree['within_days']} days"
    elif isinstance(tree.get("between"), list) and len(tree["between"]) == 2:
        text += f" between {tree['between'][0]} and {tree['between'][1]}"
    return text


def _with_filter(text: str, config: Mapping[str, Any], names: Names) -> str:
    tree = config.get("filter")
    if tree and filter_words(tree, names) != "everyone":
        return f"{text}, if {filter_words(tree, names)}"
    return text


def _where_words(config: Mapping[str, Any], names: Names) -> str:
    where = config.get("where") or []
    if not where:
        return ""
    parts = [
        f"{w.get('property')} {_condition_words(w, names)}" for w in where if isinstance(w, dict)
    ]
    return " where " + " and ".join(parts)


def _zone(config: Mapping[str, Any]) -> str:
    return f" ({config['timezone']})" if config.get("timezone") else " (contact's time)"


def _trigger(node_type_name: str, config: Mapping[str, Any], names: Names) -> str:
    segment = quoted(names.segments.get(str(config.get("segment")), config.get("segment")))
    field_name = str(config.get("field", ""))
    texts = {
        "trigger.event": lambda: (
            f"When {quoted(config.get('event'))} is performed" + _where_words(config, names)
        ),
        "trigger.api": lambda: "When enrolled through the API",
        "trigger.segment_entered": lambda: f"When a contact enters {segment}",
        "trigger.segment_exited": lambda: f"When a contact leaves {segment}",
        "trigger.segment_snapshot": lambda: f"Everyone in {segment} when published",
        "trigger.form_submitted": lambda: (
            f"When form #{config['form']} is submitted"
            if config.get("form")
            else "When any form is submitted"
        ),
        "trigger.field_changed": lambda: (
            f"When {names.fields.get(field_name, field_name)} changes"
            + (f" to {_value_words(config['to'])}" if "to" in config else "")
        ),
        "trigger.lifecycle_changed": lambda: (
            "When the lifecycle stage changes"
            + (f" from {config['from']}" if config.get("from") else "")
            + (f" to {config['to']}" if config.get("to") else "")
        ),
        "trigger.score_threshold": lambda: (
            f"When the score falls below {config.get('threshold')}"
            if config.get("direction") == "down"
            else f"When the score reaches {config.get('threshold')}"
        ),
        # commerce's signals (docs/commerce.md)
        "trigger.browse_abandoned": lambda: (
            "When a contact browses without buying"
            + (f" in {quoted(config['category'])}" if config.get("category") else "")
        ),
        "trigger.back_in_stock": lambda: (
            f"When product {quoted(config['product'])} is back in stock"
            if config.get("product")
            else "When a product they looked at is back in stock"
        ),
        "trigger.price_drop": lambda: (
            f"When the price of {quoted(config['product']) if config.get('product') else 'a product they viewed'}"
            f" drops by {config.get('min_percent', 10)}% or more"
        ),
        "trigger.date_anniversary": lambda: (
            f"Every year on {config.get('attribute')} at "
            f"{config.get('at', '09:00')}{_zone(config)}"
            + (f", {config['offset_days']:+d} days" if config.get("offset_days") else "")
        ),
    }
    return _with_filter(texts[node_type_name](), config, names)


def _days(days: Any) -> str:
    if not isinstance(days, list) or not days:
        return "any day"
    return ", ".join(WEEKDAY_NAMES[d] for d in sorted(days) if isinstance(d, int) and 0 <= d < 7)


def _wait(node_type_name: str, config: Mapping[str, Any], names: Names) -> str:
    if node_type_name == "wait.duration":
        return f"Wait {duration_words(config)}"
    if node_type_name == "wait.until_event":
        return (
            f"Wait up to {duration_words(config.get('timeout') or {})} for "
            f"{quoted(config.get('event'))}{_where_words(config, names)}"
        )
    if node_type_name == "wait.until_condition":
        return (
            f"Wait up to {duration_words(config.get('timeout') or {})} until "
            f"{filter_words(config.get('filter'), names)}"
        )
    if node_type_name == "wait.until_datetime":
        at = str(config.get("at", "")).replace("T", " ")
        return f"Wait until {at}{'' if '+' in at or at.endswith('Z') else _zone(config)}"
    if node_type_name == "wait.until_reorder":
        product = f" {quoted(config['product'])}" if config.get("product") else ""
        return (
            f"Wait until {config.get('days_before', 3)} days before the predicted reorder{product}"
        )
    if node_type_name == "wait.weekday_window":
        return (
            f"Wait until {_days(config.get('days'))}, "
            f"{config.get('start', '09:00')}–{config.get('end', '17:00')}{_zone(config)}"
        )
    return node_type_name


def _branch(node_type_name: str, config: Mapping[str, Any], names: Names) -> str:
    if node_type_name == "branch.condition":
        return f"If {filter_words(config.get('filter'), names)}"
    if node_type_name == "branch.ab":
        variants = [v for v in config.get("variants") or [] if isinstance(v, dict)]
        if config.get("mode") == "smart":
            names = " / ".join(str(v.get("name", "?")).upper() for v in variants)
            return f"Smart split {names}: more to the better one (at least {config.get('floor', 10)}% each)"
        total = sum(v.get("weight", 0) for v in variants if isinstance(v.get("weight"), int))
        parts = [
            f"{str(v.get('name', '?')).upper()} {round(100 * v.get('weight', 0) / total)}%"
            for v in variants
            if total
        ]
        return "Split " + " / ".join(parts) if parts else "A/B split"
    branches = [b for b in config.get("branches") or [] if isinstance(b, dict)]
    if len(branches) == 1:
        return f"If {filter_words(branches[0].get('filter'), names)} → {branches[0].get('name')}"
    return f"{len(branches)} paths: " + ", ".join(str(b.get("name")) for b in branches) + ", else"


def _action(node_type_name: str, config: Mapping[str, Any], names: Names) -> str:
    def template(channel: str) -> str:
        key = (channel, str(config.get("template")))
        name = names.templates.get(key)
        return quoted(name) if name else f"template #{config.get('template')}"

    def segment_name(key: str) -> str:
        return quoted(names.segments.get(str(config.get(key)), f"#{config.get(key)}"))

    op, field_name = config.get("op", "set"), str(config.get("field", ""))
    points = config.get("points", 0)
    texts = {
        "action.email": lambda: f"Send email {template('email')}",
        "action.sms": lambda: f"Send SMS {template('sms')}",
        "action.tag_add": lambda: "Add tag " + ", ".join(map(quoted, config.get("tags") or [])),
        "action.tag_remove": lambda: (
            "Remove tag " + ", ".join(map(quoted, config.get("tags") or []))
        ),
        "action.update_field": lambda: {
            "unset": f"Clear {names.fields.get(field_name, field_name)}",
            "increment": f"Add {config.get('value', 1)} to {names.fields.get(field_name, field_name)}",
        }.get(
            op,
            f"Set {names.fields.get(field_name, field_name)} to {_value_words(config.get('value'))}",
        ),
        "action.score_change": lambda: f"{'+' if points > 0 else '−'}{abs(points)} score points",
        "action.lifecycle_set": lambda: f"Set lifecycle stage to {config.get('stage')}",
        "action.list_add": lambda: f"Add to list {segment_name('list')}",
        "action.list_remove": lambda: f"Remove from list {segment_name('list')}",
        "action.assign_owner": lambda: (
            f"Assign to {names.users.get(str(config['owner']), 'user #' + str(config['owner']))}"
            if config.get("owner")
            else "Assign to the next rep in the rotation"
        ),
        "action.sales_task": lambda: (
            f"Task for sales: {quoted(config.get('title'))}"
            + (f", due in {config['due_in_days']} days" if config.get("due_in_days") else "")
        ),
        "action.enroll_workflow": lambda: (
            "Enrol in "
            + quoted(
                names.workflows.get(
                    str(config.get("workflow")), f"workflow #{config.get('workflow')}"
                )
            )
        ),
        "action.webhook": lambda: (
            f"POST to {urlparse(str(config.get('url', ''))).netloc or 'a URL'}"
        ),
        "action.exit": lambda: "Exit" + (f": {config['reason']}" if config.get("reason") else ""),
    }
    return texts[node_type_name]()


def node_summary(node_type_name: str, config: Mapping[str, Any], names: Names) -> str:
    """One line saying what the node does; the type's label when it cannot say more
    (an unconfigured node: the validation list says what is missing)."""
    spec = node_type(node_type_name)
    if spec is None:
        return node_type_name
    try:
        if spec.kind == "trigger":
            text = _trigger(node_type_name, config, names)
        elif spec.kind == "wait":
            text = _wait(node_type_name, config, names)
        elif spec.kind == "branch":
            text = _branch(node_type_name, config, names)
        elif node_type_name == "goal":
            tree = config.get("filter")
            text = f"Goal: {filter_words(tree, names)}" if tree else "Goal reached"
        else:
            text = _action(node_type_name, config, names)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError):
        text = spec.label  # half-configured: the label says what it is
    return text if len(text) <= MAX_WORDS else text[: MAX_WORDS - 1] + "…"


def graph_summaries(workspace: Workspace | None, graph: Graph) -> dict[str, str]:
    names = Names.for_graph(workspace, graph)
    return {nid: node_summary(node.type, node.config, names) for nid, node in graph.nodes.items()}


REENTRY_WORDS = {
    "never": "A contact goes through once.",
    "always": "A contact may enter again (one run at a time).",
}


def reentry_words(reentry: str, days: int | None) -> str:
    if reentry == "after_days":
        return f"A contact may enter again {days} days after entering."
    return REENTRY_WORDS.get(reentry, reentry)
