"""Ready-made workflows: JSON documents marketers start from (importable in the UI and API).

A document is an exported workflow — {"name", "description", "settings", "graph"} — plus
what it needs that does not exist yet in a new workspace: `templates` (email / SMS
content), `lists` (static lists) and `segments` (dynamic). In the graph, "$template:<key>",
"$list:<key>" and "$segment:<key>" stand for them; importing creates each and puts its id in place. The workflow is imported
as a draft: review it (e.g. the webhook URL) and publish.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import User, Workspace

from .. import integrations
from ..models import Workflow

HERE = Path(__file__).resolve().parent


@cache
def _documents() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(HERE.glob("*.json"))}


def catalogue() -> list[dict[str, Any]]:
    """The ready-made workflows, each with its graph and a one-line summary per node (what
    a gallery draws its thumbnails from)."""
    from ..graph import Graph
    from ..words import graph_summaries

    entries = []
    for slug, doc in _documents().items():
        graph = Graph.parse(doc["graph"])
        entries.append(
            {
                "slug": slug,
                "name": doc["name"],
                "description": doc.get("description", ""),
                "nodes": len(doc["graph"]["nodes"]),
                "graph": document(slug)["graph"],
                "summaries": graph_summaries(None, graph),
                "document": document(slug),
            }
        )
    return entries


def document(slug: str) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(_documents()[slug]))  # a copy
    except KeyError:
        raise NotFound(
            f"No ready-made workflow called {slug!r}.", fields={"library": ["unknown"]}
        ) from None


def _substitute(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in ids:
        return ids[value[1:]]
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    return value


REFERENCE = re.compile(r"^\$(template|list|segment):")


def _unresolved(value: Any) -> list[str]:
    if isinstance(value, str):
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
            "lists or segments.",
            fields={"graph": [f"unknown reference {ref}" for ref in missing]},
        )
    return doc


@transaction.atomic
def library_import(
    *, workspace: Workspace, slug: str, name: str | None = None, user: User | None = None
) -> Workflow:
    """Import a ready-made workflow as a draft, creating its templates and lists."""
    from ..services import workflow_import

    return workflow_import(workspace=workspace, document=document(slug), user=user, name=name)
