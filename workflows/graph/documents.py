"""A workflow document's references: what an exported or ready-made workflow brings.

A document (workflows.library's ready-made ones, or one exported and shared) may bring the
email/SMS templates, static lists and segments its steps use; its graph names them
"$template:<key>", "$list:<key>", "$segment:<key>". Importing creates each (through
integrations: messaging's and segments' services) and puts its id in place.

It may also bring `predictions`: prediction models its filters read (a churn model for a
win-back). A filter field names one as "prediction.$prediction:<key>.tier" (or
".likelihood"); importing finds the workspace's model with that goal, or creates it (it is
trained nightly, or now from the Predictions page), and writes its key in place — in the
document's segments' filters and in the graph's.
"""

from __future__ import annotations

import re
from typing import Any

from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .. import integrations


def _substitute(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in ids:
        return ids[value[1:]]
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    return value


REFERENCE = re.compile(r"^\$(template|list|segment):")
PREDICTION = re.compile(r"\$prediction:([A-Za-z0-9_-]+)")


def _substitute_predictions(value: Any, keys: dict[str, str]) -> Any:
    """Put model keys where field names say "$prediction:<ref>" (inside the string)."""
    if isinstance(value, str):
        return PREDICTION.sub(lambda m: keys.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _substitute_predictions(v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_predictions(v, keys) for v in value]
    return value


def _unresolved(value: Any) -> list[str]:
    if isinstance(value, str):
        if PREDICTION.search(value):
            return [PREDICTION.search(value).group(0)]  # type: ignore[union-attr]
        return [value] if REFERENCE.match(value) else []
    if isinstance(value, dict):
        return [ref for v in value.values() for ref in _unresolved(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _unresolved(v)]
    return []


def _section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    section = doc.pop(key, None) or {}
    if not isinstance(section, dict):
        raise ValidationFailed(
            f"document.{key}: expected an object keyed by reference name.",
            fields={f"document.{key}": ["expected an object"]},
        )
    return section


def document_resolve(*, workspace: Workspace, doc: dict[str, Any]) -> dict[str, Any]:
    """Create what a workflow document brings (its `templates`, `lists`, `segments`) and put
    their ids where the graph says "$template:<key>", "$list:<key>", "$segment:<key>".
    A reference to something the document does not bring is an error naming it."""
    doc = dict(doc)
    ids: dict[str, int] = {}
    try:
        keys = {
            ref: integrations.prediction_model_get_or_create(workspace=workspace, spec=spec)
            for ref, spec in _section(doc, "predictions").items()
        }
        doc = _substitute_predictions(doc, keys)
        for key, spec in _section(doc, "templates").items():
            ids[f"template:{key}"] = integrations.template_create(
                workspace=workspace, channel=spec.get("channel", "email"), spec=spec
            )
        for key, list_name in _section(doc, "lists").items():
            ids[f"list:{key}"] = integrations.static_list_get_or_create(
                workspace=workspace, name=list_name
            )
        for key, spec in _section(doc, "segments").items():
            ids[f"segment:{key}"] = integrations.segment_get_or_create(
                workspace=workspace, name=spec["name"], tree=spec["filter"]
            )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValidationFailed(
            f"document: cannot create what the workflow needs ({error}).",
            fields={"document": [str(error)]},
        ) from error
    doc["graph"] = _substitute(doc.get("graph"), ids)
    missing = sorted(set(_unresolved(doc["graph"])))
    if missing:
        raise ValidationFailed(
            f"graph: {', '.join(missing)} is not defined in the document's templates, "
            "lists, segments or predictions.",
            fields={"graph": [f"unknown reference {ref}" for ref in missing]},
        )
    return doc
