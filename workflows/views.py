"""HTML pages of workflows: the list (new workflow, gallery, import), the builder (the
React Flow island, frontend/builder/), a workflow's page (its graph drawn read-only with
per-node numbers, status, versions, runs) and a run's page."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from contacts.models import Contact
from messaging.selectors import merge_tags, sending_hold_for
from workspaces.errors import TendrilError
from workspaces.htmx import HtmxHttpRequest
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

from . import library, selectors, services
from .api.serializers import WorkflowDetailSerializer
from .forms import WorkflowImportForm
from .graph.graph import Graph, graph_for_version
from .graph.layout import graph_drawing
from .models import RunStatus, Workflow, WorkflowRun
from .nodes import forms, registry

MARKETING = Capability.EDIT_MARKETING
RUNS_PER_PAGE = 50
CONTACT_STEPS = 20


def _can_edit(request: HttpRequest) -> bool:
    return bool(request.membership.can(MARKETING))  # type: ignore[attr-defined]


def _node_types() -> list[dict[str, Any]]:
    return [forms.describe(spec) for spec in registry().values()]


def _list_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    workspace = request.workspace  # type: ignore[attr-defined]
    catalogue = library.catalogue()
    return {
        "workflows": selectors.workflow_list(workspace=workspace),
        "library": catalogue,
        "gallery": {
            "nodeTypes": _node_types(),
            "library": [{k: item[k] for k in ("slug", "name", "document")} for item in catalogue],
        },
        "can_edit": _can_edit(request),
        "import_form": WorkflowImportForm(),
        **extra,
    }


@workspace_view
def workflow_list(request: HttpRequest) -> HttpResponse:
    return render(request, "workflows/list.html", _list_context(request))


@workspace_view(write=MARKETING)
@require_http_methods(["GET", "POST"])
def workflow_import(request: HttpRequest) -> HttpResponse:
    """Create a draft from a ready-made workflow or from pasted / uploaded JSON.

    A GET (reloading the page a failed import answered, or following its address) goes to
    the list, where the import form is."""
    if request.method == "GET":
        return redirect(reverse("workflows:list") + "#import")
    form = WorkflowImportForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        whose = {"workspace": request.workspace, "name": data["name"] or None, "user": request.user}  # type: ignore[attr-defined]
        try:
            if data["library"]:
                workflow = library.library_import(slug=data["library"], **whose)
            else:
                workflow = services.workflow_import(document=data["parsed"], **whose)
        except TendrilError as error:
            form.add_service_errors(error)
    if form.errors:
        context = _list_context(request, import_form=form)
        return render(request, "workflows/list.html", context, status=400)
    messages.success(request, f"“{workflow.name}” imported as a draft: review it, then publish.")
    if data["open"] == "builder":
        return redirect("workflows:builder", workflow_id=workflow.pk)
    return redirect("workflows:detail", workflow_id=workflow.pk)


def _graph_of(workflow: Workflow, which: str) -> tuple[Graph | None, Any]:
    draft = selectors.workflow_draft(workflow=workflow)
    version = (
        draft
        if (which == "draft" and draft) or workflow.current_version is None
        else workflow.current_version
    )
    return (graph_for_version(version) if version else None), version


def _runs_page(request: HttpRequest, workflow: Workflow) -> dict[str, Any]:
    status = request.GET.get("status") or ""
    if status not in RunStatus.values:
        status = ""
    runs = selectors.runs_for_workflow(workflow=workflow, status=status or None).order_by("-id")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return {"runs": page, "status_filter": status, "statuses": RunStatus.choices}


@workspace_view
def workflow_detail(request: HtmxHttpRequest, workflow_id: int) -> HttpResponse:
    workflow = get_object_or_404(
        scoped(request, Workflow).select_related("current_version"), pk=workflow_id
    )
    if request.htmx:
        return render(
            request,
            "workflows/detail.html#runs",
            {"workflow": workflow, **_runs_page(request, workflow)},
        )
    return _detail_page(request, workflow)


def _detail_page(
    request: HttpRequest, workflow: Workflow, error: TendrilError | None = None
) -> HttpResponse:
    which = request.GET.get("version", "current")
    graph, version = _graph_of(workflow, which)
    stats = selectors.node_stats(workflow=workflow, graph=graph) if graph else {}
    context = {
        "workflow": workflow,
        "version": version,
        "draft": selectors.workflow_draft(workflow=workflow),
        "versions": selectors.workflow_versions(workflow=workflow),
        "drawing": graph_drawing(graph, stats) if graph else None,
        "stats": list(stats.values()),
        "splits": selectors.split_decisions(workflow=workflow),
        "counts": selectors.run_counts(workflow=workflow),
        "can_edit": _can_edit(request),
        "error": error,
        "document": json.dumps(services.workflow_export(workflow=workflow), indent=2),
        "hold": sending_hold_for(
            workspace=workflow.workspace, source_type="workflow", owner=workflow.pk
        ),
        **_runs_page(request, workflow),
    }
    return render(request, "workflows/detail.html", context, status=400 if error else 200)


@workspace_view
def workflow_builder(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The visual builder: the island edits the draft through the API with this session.

    The page embeds what the first paint needs (the workflow as the API shows it, the graph
    it opens on, the node registry) and the draft's revision (the token its first save
    sends back, read with the graph so a save made meanwhile is a conflict), so a large
    workflow is interactive without waiting for requests; everything after that goes
    through /api/v1/."""
    workflow = get_object_or_404(
        scoped(request, Workflow).select_related("current_version"), pk=workflow_id
    )
    graph, version = _graph_of(workflow, "draft")
    boot = {
        "workflow": WorkflowDetailSerializer(workflow).data,
        "graph": version.graph if version else {"nodes": [], "edges": []},
        "revision": services.revision_of(services.latest_version(workflow)),
        "nodeTypes": _node_types(),
        "canEdit": _can_edit(request),
        "timezone": request.workspace.timezone,  # type: ignore[attr-defined]
        "urls": {
            "list": reverse("workflows:list"),
            "detail": reverse("workflows:detail", args=[workflow.pk]),
            "templateNew": reverse("messaging:template_new"),
            "smsTemplateNew": reverse("messaging:sms_template_new"),
            "contact": reverse("contacts:detail", args=[0]),
        },
        # "Design with the block editor" in the send-email panel (frontend/email in a dialog).
        "emailEditor": {
            "mergeTags": [asdict(t) for t in merge_tags(workspace=request.workspace)],  # type: ignore[attr-defined]
            "testTo": request.user.email,  # type: ignore[union-attr]
        },
    }
    return render(request, "workflows/builder.html", {"workflow": workflow, "boot": boot})


ACTIONS = {
    "publish": (
        services.workflow_publish,
        "Published: new contacts enter this version; runs in flight keep theirs.",
    ),
    "pause": (services.workflow_pause, "Paused: no one enters, and every run is held where it is."),
    "resume": (services.workflow_resume, "Resumed: waits that ended meanwhile run now."),
    "archive": (services.workflow_archive, "Archived: runs in flight have exited."),
}


@workspace_view(write=MARKETING)
@require_POST
def workflow_action(request: HttpRequest, workflow_id: int, action: str) -> HttpResponse:
    workflow = get_object_or_404(scoped(request, Workflow), pk=workflow_id)
    if action not in ACTIONS:
        return render(request, "404.html", status=404)
    service, done = ACTIONS[action]
    try:
        service(workspace=request.workspace, workflow=workflow)  # type: ignore[attr-defined,operator]
    except TendrilError as error:
        workflow.refresh_from_db()
        return _detail_page(request, workflow, error)
    messages.success(request, done)
    return redirect("workflows:detail", workflow_id=workflow.pk)


@workspace_view
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(
        scoped(request, WorkflowRun).select_related("workflow", "contact", "version"), pk=run_id
    )
    return render(
        request, "workflows/run.html", {"run": run, "steps": selectors.run_steps(run=run)}
    )


# --- contact page panel ----------------------------------------------------------------------


@workspace_view
def contact_activity(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact's recent workflow steps, newest first: a fragment the contact page loads."""
    contact = get_object_or_404(scoped(request, Contact), pk=contact_id)
    steps = selectors.contact_workflow_activity(
        workspace=request.workspace,  # type: ignore[attr-defined]
        contact_id=contact.pk,
        limit=CONTACT_STEPS,
    )
    return render(request, "workflows/contact_activity.html", {"contact": contact, "steps": steps})
