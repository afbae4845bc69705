"""Ready-made workflows: JSON documents marketers start from (importable in the UI and API).

A document is an exported workflow — {"name", "description", "settings", "graph"} — plus
what it needs that does not exist yet in a new workspace: `templates` (email / SMS
content), `lists` (static lists) and `segments` (dynamic). In the graph, "$template:<key>",
"$list:<key>" and "$segment:<key>" stand for them; importing creates each and puts its id in place. The workflow is imported
as a draft: review it (e.g. the webhook URL) and publish.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

from workspaces.errors import NotFound
from workspaces.models import User, Workspace

from ..models import Workflow

HERE = Path(__file__).resolve().parent


@cache
def _documents() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(HERE.glob("*.json"))}


def catalogue() -> list[dict[str, Any]]:
    """The ready-made workflows, each with its graph and a one-line summary per node (what
    a gallery draws its thumbnails from)."""
    from ..graph.graph import Graph
    from ..graph.words import graph_summaries

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


@transaction.atomic
def library_import(
    *, workspace: Workspace, slug: str, name: str | None = None, user: User | None = None
) -> Workflow:
    """Import a ready-made workflow as a draft, creating its templates and lists."""
    from ..services import workflow_import

    return workflow_import(workspace=workspace, document=document(slug), user=user, name=name)
