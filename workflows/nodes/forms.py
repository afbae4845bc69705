"""What a form renderer needs beyond validation: titles, help texts, labelled enums,
widgets and pickers for every config property of every node type.

Not a node type (the registry loads modules named after node types only). A node's
`schema` stays the one that validates; `form_schema(node_type)` returns a copy annotated
from the table below (by property name, with per-type overrides), so one meaning of
"template", "event" or "timeout" serves every node that has it. Annotations are JSON
Schema's own `title` / `description` / `default` / `examples` plus extension keywords a
validator ignores:

- `x-enumLabels`: labels for `enum`, in the same order;
- `x-widget`: duration (object of days/hours/minutes/seconds), time-of-day ("HH:MM"),
  timezone (IANA name), weekdays (0 = Monday), datetime (ISO; local when no offset), tags,
  json, textarea, url;
- `x-picker`: template (with `x-channel`), segment, list (static list), event,
  event-property (of the node's `event`), condition (a segment filter), field (contact field
  or attribute), user, workflow, form.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from contacts.models import LifecycleStage

from .base import DEFAULT, TIMEOUT, NodeType

GROUPS = [
    {"id": "trigger", "label": "Triggers", "description": "Who enters the workflow, and when."},
    {"id": "wait", "label": "Waits", "description": "Pause until a time, an event or a condition."},
    {"id": "branch", "label": "Branches", "description": "Send contacts down different paths."},
    {"id": "action", "label": "Actions", "description": "Send, tag, update, notify."},
    {"id": "goal", "label": "Goals", "description": "Count conversions; contacts jump here."},
]

PORT_LABELS = {
    DEFAULT: "Next",
    TIMEOUT: "Timed out",
    "yes": "Yes",
    "no": "No",
    "no_prediction": "No prediction",  # wait.until_reorder
}

STAGE_LABELS = {value: str(label) for value, label in LifecycleStage.choices}

DURATION_HELP = "How long: any of days, hours, minutes, seconds."

PROPERTIES: dict[str, dict[str, Any]] = {
    "filter": {
        "title": "Only contacts who match",
        "description": "A condition on the contact: fields, tags, events, segments.",
        "x-picker": "condition",
    },
    "event": {
        "title": "Event",
        "description": "The event's name, as your site or integration sends it.",
        "x-picker": "event",
    },
    "where": {
        "title": "Event properties",
        "description": "Only when the event's properties match these conditions.",
        "x-picker": "event-property",
    },
    "template": {
        "title": "Template",
        "description": "The message to send.",
        "x-picker": "template",
    },
    "segment": {"title": "Segment", "x-picker": "segment"},
    "list": {"title": "List", "description": "A static list.", "x-picker": "list"},
    "timeout": {
        "title": "Give up after",
        "description": "After this long the contact leaves through the “Timed out” path.",
        "x-widget": "duration",
    },
    "days": {"title": "Days", "x-unit": "days"},
    "hours": {"title": "Hours", "x-unit": "hours"},
    "minutes": {"title": "Minutes", "x-unit": "minutes"},
    "seconds": {"title": "Seconds", "x-unit": "seconds"},
    "check_every_minutes": {
        "title": "Check every (minutes)",
        "description": "Time alone can make the condition hold: how often to look again.",
    },
    "at": {"title": "At", "x-widget": "time-of-day"},
    "start": {"title": "From", "x-widget": "time-of-day", "description": "Time of day, HH:MM."},
    "end": {"title": "Until", "x-widget": "time-of-day", "description": "Time of day, HH:MM."},
    "timezone": {
        "title": "Time zone",
        "description": "Leave empty to use each contact's own time zone.",
        "x-widget": "timezone",
    },
    "tags": {"title": "Tags", "x-widget": "tags"},
    "field": {
        "title": "Field",
        "description": "A contact field or custom attribute.",
        "x-picker": "field",
    },
    "value": {"title": "Value"},
    "op": {
        "title": "Change",
        "x-enumLabels": ["Set to a value", "Clear", "Add a number"],
    },
    "points": {"title": "Points", "description": "Negative points subtract."},
    "reason": {"title": "Reason", "description": "Shown in the history."},
    "stage": {
        "title": "Lifecycle stage",
        "x-enumLabels": [STAGE_LABELS[v] for v in LifecycleStage.values],
    },
    "title": {"title": "Task title"},
    "due_in_days": {"title": "Due in (days)"},
    "assignee": {
        "title": "Assign to",
        "description": "Empty: the contact's owner.",
        "x-picker": "user",
    },
    "owner": {
        "title": "Owner",
        "description": "Empty: the next rep in the workspace's rotation.",
        "x-picker": "user",
    },
    "workflow": {"title": "Workflow", "x-picker": "workflow"},
    "url": {
        "title": "URL",
        "description": "An https URL that receives a signed POST.",
        "x-widget": "url",
    },
    "data": {
        "title": "Extra data",
        "description": "Added to the body as `data`.",
        "x-widget": "json",
    },
    "headers": {"title": "Headers", "x-widget": "json"},
    "variants": {
        "title": "Variants",
        "description": "Each variant is a path; weights are shares and should add up to 100.",
    },
    "branches": {
        "title": "Paths",
        "description": "Checked in order: the first path whose condition matches wins; "
        "no match takes the “Otherwise” path.",
    },
    "name": {"title": "Name", "description": "Lower-case letters, digits, - and _."},
    "weight": {"title": "Weight (%)"},
    "threshold": {"title": "Score"},
    "direction": {"title": "Direction", "x-enumLabels": ["Rises to it", "Falls below it"]},
    "attribute": {
        "title": "Date field",
        "description": "A date attribute such as birthday or renewal date.",
        "x-picker": "field",
    },
    "offset_days": {
        "title": "Days before (−) or after (+)",
        "description": "Move the day earlier or later, e.g. −7 for a week before.",
    },
    "form": {"title": "Form", "description": "Empty: any form.", "x-picker": "form"},
    "if_not_met": {
        "title": "When a contact arrives without meeting it",
        "x-enumLabels": ["Continue", "End their run"],
    },
    "property": {"title": "Property", "x-picker": "event-property"},
}

# Per node type: overrides of the table above (same keys), by property name.
OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "action.email": {"template": {"x-channel": "email", "title": "Email template"}},
    "action.sms": {"template": {"x-channel": "sms", "title": "SMS template"}},
    "trigger.field_changed": {
        "to": {"title": "Changed to", "description": "Only when the new value is this (optional)."}
    },
    "trigger.lifecycle_changed": {
        "to": {
            "title": "To stage",
            "x-enumLabels": [STAGE_LABELS[v] for v in LifecycleStage.values],
        },
        "from": {
            "title": "From stage",
            "x-enumLabels": [STAGE_LABELS[v] for v in LifecycleStage.values],
        },
    },
    "trigger.date_anniversary": {
        "at": {"title": "Time of day", "description": "In the contact's time zone."}
    },
    "wait.until_datetime": {
        "at": {
            "title": "Date and time",
            "description": "Without a UTC offset, the contact's local time (or the time zone below).",
            "x-widget": "datetime",
        }
    },
    "wait.weekday_window": {
        "days": {
            "title": "Days",
            "x-widget": "weekdays",
            "x-enumLabels": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        }
    },
    "wait.duration": {},
    "goal": {
        "filter": {"title": "Goal condition", "description": "Empty: reaching this step counts."}
    },
    "branch.condition": {
        "filter": {"title": "Condition", "description": "Contacts who match go down “Yes”."}
    },
    "wait.until_condition": {"filter": {"title": "Until the contact matches"}},
}

# Config a newly inserted node starts with (beyond the schema's own defaults).
DEFAULTS: dict[str, dict[str, Any]] = {
    "wait.duration": {"days": 1},
    "wait.until_event": {"timeout": {"days": 3}},
    "wait.until_condition": {"timeout": {"days": 7}},
    "wait.weekday_window": {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"},
    "branch.condition": {"filter": {"all": []}},
    "branch.ab": {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}]},
    "branch.multi": {"branches": [{"name": "path-1", "filter": {"all": []}}]},
}

PORTS_FROM = {"branch.ab": "variants", "branch.multi": "branches"}


def _annotate(schema: dict[str, Any], overrides: dict[str, dict[str, Any]]) -> None:
    """Titles are written out (PROPERTIES, OVERRIDES or the node's schema), never made from
    a property's name: tests/workflows/test_node_titles.py."""
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        for key, value in {**PROPERTIES.get(name, {}), **overrides.get(name, {})}.items():
            prop.setdefault(key, value)
        if prop.get("type") == "object" and "properties" in prop:
            if set(prop["properties"]) <= {"days", "hours", "minutes", "seconds"}:
                prop.setdefault("x-widget", "duration")
                prop.setdefault("description", DURATION_HELP)
            _annotate(prop, {})
        items = prop.get("items")
        if isinstance(items, dict) and items.get("type") == "object":
            _annotate(items, {})


def form_schema(spec: NodeType) -> dict[str, Any]:
    """The node type's config schema, annotated for a form renderer."""
    schema = copy.deepcopy(spec.schema)
    schema.setdefault("title", spec.label)
    schema.setdefault("description", spec.description)
    if spec.type == "wait.duration":
        schema["x-widget"] = "duration"
    _annotate(schema, OVERRIDES.get(spec.type, {}))
    return schema


@cache
def property_title(type_name: str, name: str) -> str:
    """The title a form shows for a config property (validation messages use it too)."""
    from . import node_type

    spec = node_type(type_name)
    prop = form_schema(spec)["properties"].get(name, {}) if spec else {}
    return str(prop.get("title") or name)  # every property has one (a test says so)


def port_labels(spec: NodeType) -> dict[str, str]:
    labels = {
        port: PORT_LABELS.get(port, port.upper() if len(port) == 1 else port) for port in spec.ports
    }
    if spec.type == "branch.multi":
        labels[DEFAULT] = "Otherwise"
    return labels


def defaults(spec: NodeType) -> dict[str, Any]:
    found = {
        name: prop["default"]
        for name, prop in (spec.schema.get("properties") or {}).items()
        if isinstance(prop, dict) and "default" in prop
    }
    return {**found, **copy.deepcopy(DEFAULTS.get(spec.type, {}))}


def describe(spec: NodeType) -> dict[str, Any]:
    """What `GET /api/v1/workflows/node-types/` says about one node type."""
    return {
        "type": spec.type,
        "kind": spec.kind,
        "group": spec.kind,
        "label": spec.label,
        "description": spec.description,
        "schema": form_schema(spec),
        "ports": list(spec.ports),
        "port_labels": port_labels(spec),
        "dynamic_ports": spec.config_ports is not None,
        "ports_from": PORTS_FROM.get(spec.type),
        "defaults": defaults(spec),
        "sends_message": spec.sends_message,
    }


def settings_schema() -> dict[str, Any]:
    """The workflow's own settings (they apply to every version), for the settings form."""
    return {
        "type": "object",
        "title": "Workflow settings",
        "properties": {
            "reentry": {
                "title": "Can a contact enter again?",
                "type": "string",
                "enum": ["never", "always", "after_days"],
                "x-enumLabels": [
                    "No: a contact goes through once",
                    "Yes (one run at a time)",
                    "Yes, after some days",
                ],
                "default": "never",
            },
            "reentry_days": {
                "title": "Days before entering again",
                "type": ["integer", "null"],
                "minimum": 1,
            },
            "goal_filter": {
                "title": "Goal",
                "description": "Contacts who come to match this exit as converted.",
                "type": ["object", "null"],
                "x-picker": "condition",
            },
            "suppression_segment_id": {
                "title": "Never enrol contacts in",
                "type": ["integer", "null"],
                "x-picker": "segment",
            },
            "send_window": {
                "title": "Send only between",
                "description": "In each contact's time zone; messages wait for the window.",
                "type": ["object", "null"],
                "properties": {
                    "start": {"title": "From", "type": "string", "x-widget": "time-of-day"},
                    "end": {"title": "Until", "type": "string", "x-widget": "time-of-day"},
                    "days": {
                        "title": "Days",
                        "type": "array",
                        "items": {"type": "integer", "minimum": 0, "maximum": 6},
                        "x-widget": "weekdays",
                    },
                },
            },
            "daily_message_cap": {
                "title": "At most this many messages per contact per day",
                "type": ["integer", "null"],
                "minimum": 1,
            },
        },
    }
