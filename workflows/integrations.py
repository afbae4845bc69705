"""The one place where workflows calls other apps (contacts, commerce, segments, scoring,
messaging).

Each function is a thin call to the other app's public services, selectors or hooks — plain
imports, checked by import-linter (pyproject.toml: the layers and public-surface contracts).
Analytics sits above workflows: what the builder needs from it comes through workflows.hooks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models.expressions import RawSQL

import commerce.selectors as commerce_selectors
import contacts.selectors as contact_selectors
import contacts.services.contacts as contact_services
import messaging.selectors as messaging_selectors
import messaging.services as messaging_services
import predictions.selectors as prediction_selectors
import predictions.services as prediction_services
import scoring.services as scoring_services
import segments.filters as segment_filters
import segments.selectors as segment_selectors
import segments.services as segment_services

from . import hooks

if TYPE_CHECKING:
    from contacts.models import Contact
    from workspaces.models import Workspace

# Event names and property keys other apps emit (DESIGN.md "One stream of events").
SEGMENT_ENTERED = "segment.entered"
SEGMENT_EXITED = "segment.exited"
SCORE_CHANGED = "score.changed"
LIFECYCLE_CHANGED = "lifecycle.changed"
FORM_SUBMITTED = "form.submitted"
WORKFLOW_ENTERED = "workflow.entered"
WORKFLOW_EXITED = "workflow.exited"
# commerce's signals (docs/commerce.md): the triggers of the commerce node types.
BROWSE_ABANDONED = commerce_selectors.BROWSE_ABANDONED
BACK_IN_STOCK = commerce_selectors.BACK_IN_STOCK
PRICE_DROPPED = commerce_selectors.PRICE_DROPPED


# --- commerce -------------------------------------------------------------------------------


def reorder_predicted_at(
    *, workspace: Workspace, contact_id: int, product: str | None = None
) -> datetime | None:
    """When the contact is predicted to buy `product` (the shop's id) again, or any product
    (the earliest); None without a prediction."""
    return commerce_selectors.reorder_predicted_at(
        workspace=workspace, contact_id=contact_id, product=product
    )


# --- segments -------------------------------------------------------------------------------


def filter_validate(*, workspace: Workspace, tree: dict[str, Any]) -> None:
    """Raise ValidationFailed (segments' FilterInvalid) when the filter is not valid here."""
    segment_filters.validate_filter(workspace=workspace, tree=tree)


def filter_parse(*, workspace: Workspace, tree: dict[str, Any]) -> Any:
    """The parsed filter, to evaluate many times without parsing again."""
    return segment_filters.parse_filter(workspace=workspace, tree=tree)


def filter_evaluate(
    *,
    workspace: Workspace,
    tree: dict[str, Any],
    contact: Contact,
    now: datetime,
    parsed: Any = None,
    events: dict[str, list[Any]] | None = None,
) -> bool:
    return bool(
        segment_filters.evaluate_filter(
            workspace=workspace, tree=tree, contact=contact, now=now, node=parsed, events=events
        )
    )


def filter_events_load(
    *, workspace: Workspace, parsed: Any, contact_ids: list[int], since: datetime
) -> dict[int, dict[str, list[Any]]]:
    """Per contact, the events a parsed filter can look at from `since` on (one query):
    each contact's part goes to filter_evaluate(events=…)."""
    return dict(
        segment_filters.filter_events_load(
            workspace=workspace, node=parsed, contact_ids=contact_ids, since=since
        )
    )


def filter_count(*, workspace: Workspace, tree: dict[str, Any]) -> int:
    """How many contacts match the filter now (one SQL statement)."""
    return int(segment_filters.filter_count(workspace=workspace, tree=tree))


def segment_contains(*, workspace: Workspace, segment_id: int, contact_id: int) -> bool:
    ids = segment_selectors.contact_segment_ids(workspace=workspace, contact=contact_id)
    return int(segment_id) in ids


def _segment(workspace: Workspace, segment_id: Any) -> Any:
    return segment_selectors.segment_find(workspace=workspace, segment_id=segment_id)


def segment_exists(*, workspace: Workspace, segment_id: Any, static: bool = False) -> bool:
    segment = _segment(workspace, segment_id)
    return segment is not None and (not static or segment.is_static)


def segment_names(*, workspace: Workspace, ids: Iterable[Any]) -> dict[int, str]:
    """id -> name of these segments / static lists (one query; unknown ids are left out)."""
    return segment_selectors.segment_names(workspace=workspace, ids=ids)


def segment_size(*, workspace: Workspace, segment_id: Any) -> int | None:
    """How many contacts are in the segment now (None: no such segment)."""
    segment = _segment(workspace, segment_id)
    if segment is None:
        return None
    return int(segment_selectors.segment_member_ids(segment=segment).count())


def filter_vocabulary(*, workspace: Workspace) -> tuple[dict[str, str], dict[str, str]]:
    """(field name -> label, operator -> label) of segment filters, to say filters in words."""
    catalog = segment_selectors.filter_fields(workspace=workspace)
    return {name: spec.label for name, spec in catalog.items()}, segment_selectors.operator_labels()


def field_catalog(*, workspace: Workspace) -> list[dict[str, str]]:
    """Contact fields and custom attributes a filter may name: name, label, type, the
    operators its type takes (the segments builder's) and, for choice fields, the choices."""
    catalog = segment_selectors.filter_fields(workspace=workspace)
    return [
        {
            "name": name,
            "label": spec.label,
            "type": str(spec.type),
            "operators": [str(op) for op in spec.operators],
            "choices": list(spec.choices),
        }
        for name, spec in catalog.items()
    ]


def segment_member_ids(*, workspace: Workspace, segment_id: int) -> Iterable[int]:
    segment = _segment(workspace, segment_id)
    if segment is None:
        return []
    return segment_selectors.segment_member_ids(segment=segment)


def static_list_change(
    *, workspace: Workspace, segment_id: int, contact_id: int, add: bool
) -> None:
    segment = _segment(workspace, segment_id)
    if segment is None or not segment.is_static:
        raise ValueError(f"static list {segment_id} no longer exists")
    change = segment_services.static_list_add if add else segment_services.static_list_remove
    change(segment=segment, contact_ids=[contact_id], source="workflow")


# --- contacts -------------------------------------------------------------------------------


def contact_update(
    *, workspace: Workspace, contact: Contact, data: dict[str, Any]
) -> tuple[Contact, set[str]]:
    """contacts' own validated update (typed attributes, the attribute registry); it tells
    the events pipeline itself."""
    updated, changed = contact_services.contact_update(
        workspace=workspace, contact=contact, data=data, source="workflow"
    )
    return updated, set(changed)


def tags_changed(current: list[str], tags: list[str], *, add: bool) -> list[str] | None:
    """The contact's tags after adding / removing `tags` (contacts' cleaning rules), or None
    when nothing changes."""
    return contact_services.tags_changed(current, tags, add=add)


def contacts_tags_write(*, workspace: Workspace, contacts: list[Contact]) -> None:
    """Write these contacts' tags (computed by tags_changed on rows the caller has locked)
    in one statement."""
    contact_services.contacts_tags_write(workspace=workspace, contacts=contacts)


def contact_tags(
    *, workspace: Workspace, contact: Contact, tags: list[str], add: bool
) -> list[str] | None:
    """Add or remove tags in one atomic UPDATE; returns the new tags, or None if nothing
    changed. Unlike contacts' contact_tags_add/remove (one events-pipeline task per call),
    this leaves telling the pipeline to the caller, so a chunk of runs sends one task for
    all its contacts."""
    return contact_services.contact_tags_apply(
        workspace=workspace, contact=contact, tags=tags, add=add
    )


# --- scoring --------------------------------------------------------------------------------


def score_adjust(*, workspace: Workspace, contact: Contact, points: int, reason: str) -> None:
    scoring_services.score_adjust(
        workspace=workspace, contact=contact, points=points, reason=reason, source="workflow"
    )


def lifecycle_set(*, workspace: Workspace, contact: Contact, stage: str, reason: str) -> None:
    scoring_services.lifecycle_stage_set(
        workspace=workspace, contact=contact, stage=stage, reason=reason
    )


def lead_assign(*, workspace: Workspace, contact: Contact, owner: Any | None) -> Any:
    return scoring_services.lead_assign(workspace=workspace, contact=contact, owner=owner)


def sales_task_create(
    *,
    workspace: Workspace,
    contact: Contact,
    title: str,
    due_at: datetime | None,
    assignee: Any | None,
    notify: bool,
) -> Any:
    return scoring_services.sales_task_create(
        workspace=workspace,
        contact=contact,
        title=title,
        due_at=due_at,
        assignee=assignee,
        notify=notify,
    )


# --- messaging ------------------------------------------------------------------------------


def message_enqueue(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    template: Any,
    source_id: str,
    context: dict[str, Any] | None,
    topic: Any = None,
) -> Any:
    """The Message row (unique per source and contact: a retried step finds it), sent by
    messaging after commit — consent, suppression and frequency checks are messaging's.
    `template` may be an id or an already resolved version (see template_version)."""
    return messaging_services.message_enqueue(
        workspace=workspace,
        contact=contact,
        channel=channel,
        template=template,
        source_type="workflow",
        source_id=source_id,
        context=context,
        topic=topic,
    )


def messages_enqueue_many(
    *,
    workspace: Workspace,
    channel: str,
    template: Any,
    topic: Any,
    items: list[tuple[Contact, str, dict[str, Any] | None]],
) -> list[tuple[int, str]]:
    """Many workflow messages of one template version: (contact, source id, context) each →
    (message id, status) each, in order. Same guarantees as message_enqueue, set-based."""
    spec = messaging_services.MessageSpec
    results = messaging_services.messages_enqueue_many(
        workspace=workspace,
        channel=channel,
        template=template,
        topic=topic,
        source_type="workflow",
        items=[spec(contact=c, source_id=source_id, context=ctx) for c, source_id, ctx in items],
    )
    return [(result.message_id, result.status) for result in results]


def template_version(
    *, workspace: Workspace, channel: str, template_id: Any
) -> tuple[Any, Any] | None:
    """The template's current version and the topic its messages go under — what
    message_enqueue would look up for every message; a chunk of runs looks it up once."""
    template = template_get(workspace=workspace, template_id=template_id, channel=channel)
    version = template.current_version if template is not None else None
    if version is None:
        return None
    topic = version.topic or messaging_services.topic_default(workspace=workspace)
    return version, topic


def template_get(*, workspace: Workspace, template_id: Any, channel: str) -> Any:
    return messaging_selectors.template_get(
        workspace=workspace, template_id=template_id, channel=channel
    )


def template_names(*, workspace: Workspace, channel: str, ids: Iterable[Any]) -> dict[int, str]:
    """id -> name of these templates of a channel (one query)."""
    return messaging_selectors.template_names(workspace=workspace, channel=channel, ids=ids)


def message_preview(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    template: Any,
    context: dict[str, Any] | None,
) -> dict[str, Any]:
    """Render the message for test mode: nothing is stored or sent."""
    found = template_get(workspace=workspace, template_id=template, channel=channel)
    if found is None:
        raise ValueError(f"no {channel} template with id {template}")
    preview = messaging_services.template_render_preview(
        workspace=workspace, template=found, contact=contact, context=context
    )
    if channel == "email":
        return {
            "template": found.pk,
            "name": found.name,
            "subject": preview.subject,
            "html": preview.html,
            "text": preview.text,
        }
    return {"template": found.pk, "name": found.name, "body": preview.body}


def message_stats(
    *,
    workflow: Any,
    node_ids: list[str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, dict[str, int]]:
    """Per message node: messages created, sent, delivered, opened, clicked, bounced, failed,
    suppressed — read from messaging's rows for this workflow's runs."""
    from .models import WorkflowRun

    run_ids = WorkflowRun.objects.filter(
        workspace_id=workflow.workspace_id, workflow=workflow
    ).values("id")
    return messaging_selectors.message_stats_by_source_key(
        workspace_id=workflow.workspace_id,
        source_type="workflow",
        owner_ids=run_ids,
        keys=node_ids,
        since=since,
        until=until,
    )


def runs_clicked(*, workspace_id: int, node_ids: list[str]) -> Any:
    """The ids of runs with a clicked message from one of these message nodes (a subquery)."""
    return messaging_selectors.message_owners_clicked(
        workspace_id=workspace_id, source_type="workflow", keys=node_ids
    )


# --- reading the platform's own events -----------------------------------------------------


def _first(properties: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if properties.get(key) is not None:
            return properties[key]
    return None


def segment_id_of(event: Any) -> Any:
    return _first(event.properties or {}, "segment_id", "segment")


def form_id_of(event: Any) -> Any:
    return _first(event.properties or {}, "form_id", "form")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def score_change_values(event: Any) -> tuple[int | None, int | None]:
    """(old score, new score) of a score.changed event."""
    properties = event.properties or {}
    new = _int_or_none(_first(properties, "new", "to", "score"))
    old = _int_or_none(_first(properties, "old", "from", "previous"))
    if old is None and new is not None:
        delta = _int_or_none(_first(properties, "delta", "points"))
        old = new - delta if delta is not None else None
    return old, new


def lifecycle_change_values(event: Any) -> tuple[str | None, str | None]:
    """(old stage, new stage) of a lifecycle.changed event."""
    properties = event.properties or {}
    return _first(properties, "from", "old", "previous"), _first(properties, "to", "new", "stage")


# --- creating what ready-made workflows need ---------------------------------------------------


def template_create(*, workspace: Workspace, channel: str, spec: dict[str, Any]) -> int:
    """An email or SMS template for an imported workflow (messaging validates it)."""
    if channel == "email":
        content = messaging_services.EmailContent(
            name=spec["name"], subject=spec["subject"], html=spec["html"], text=spec.get("text", "")
        )
        template = messaging_services.email_template_save(workspace=workspace, content=content)
    else:
        template = messaging_services.sms_template_save(
            workspace=workspace, name=spec["name"], body=spec["body"]
        )
    return int(template.pk)


def static_list_get_or_create(*, workspace: Workspace, name: str) -> int:
    found = segment_selectors.segment_find_by_name(workspace=workspace, name=name)
    if found is not None:
        if not found.is_static:
            raise ValueError(f"a dynamic segment is already called {name!r}")
        return int(found.pk)
    created = segment_services.segment_create(workspace=workspace, name=name, kind="static")
    return int(created.pk)


def segment_get_or_create(*, workspace: Workspace, name: str, tree: dict[str, Any]) -> int:
    found = segment_selectors.segment_find_by_name(workspace=workspace, name=name)
    if found is not None:
        return int(found.pk)
    created = segment_services.segment_create(
        workspace=workspace, name=name, kind="dynamic", filter=tree
    )
    return int(created.pk)


def prediction_model_get_or_create(*, workspace: Workspace, spec: dict[str, Any]) -> str:
    """The key of the workspace's prediction model for this goal (kind, goal type, goal,
    horizon), created when there is none — a document's "$prediction:<ref>"."""
    kind, goal_type = spec.get("kind", "conversion"), spec.get("goal_type", "event")
    goal, horizon = spec["goal"], int(spec.get("horizon_days", 30))
    for model in prediction_selectors.prediction_model_list(workspace=workspace):
        if (model.kind, model.goal_type, model.goal, model.horizon_days) == (
            kind,
            goal_type,
            goal,
            horizon,
        ):
            return str(model.key)
    created = prediction_services.prediction_model_create(
        workspace=workspace,
        name=spec.get("name", ""),
        kind=kind,
        goal_type=goal_type,
        goal=goal,
        horizon_days=horizon,
    )
    return str(created.key)


# --- what the workspace has received (autocomplete, validation warnings) ---------------------

# The platform's own signals: never "unknown", whether or not one was received yet.
PLATFORM_EVENT_PREFIXES = (
    "email.",
    "sms.",
    "segment.",
    "score.",
    "lifecycle.",
    "workflow.",
    "form.",
    "product.",
)


def event_definitions(
    *, workspace: Workspace, prefix: str = "", names: Iterable[str] | None = None, limit: int = 500
) -> list[tuple[str, list[str], datetime]]:
    """(name, property keys, last seen) of the event names this workspace has received —
    contacts keeps this catalogue on ingestion."""
    return contact_selectors.event_definition_rows(
        workspace=workspace, prefix=prefix, names=names, limit=limit
    )


def event_counts(*, workspace: Workspace, names: list[str], since: datetime) -> dict[str, int]:
    """Events per name since `since`, from analytics' hourly rollups (no scan of events),
    through workflows.hooks; {} without analytics."""
    return hooks.event_counts(workspace=workspace, names=names, since=since)


# --- replaying history (preview on history) ----------------------------------------------------


def event_hits(
    *, workspace: Workspace, names: list[str], since: datetime, until: datetime, sample: int
) -> tuple[int, int, list[int]]:
    """(contacts who had any of these events in [since, until), how many events, a uniform
    sample of at most `sample` of those contacts)."""
    return contact_selectors.event_hits(
        workspace=workspace, names=names, since=since, until=until, sample=sample
    )


def segment_sample(*, workspace: Workspace, segment_id: Any, sample: int) -> tuple[int, list[int]]:
    """(members of the segment now, a uniform sample of at most `sample` of them)."""
    segment = _segment(workspace, segment_id)
    if segment is None:
        return 0, []
    members = segment_selectors.segment_member_ids(segment=segment)
    order = contact_selectors.SAMPLE_ORDER.format(col="contact_id")
    ordered = members.order_by(RawSQL(order, []))  # noqa: S611 — a constant expression
    ids = list(ordered.values_list("contact_id", flat=True)[:sample])
    return int(members.count()), ids


# These contacts' events of these names in [since, until), oldest first (bounded).
events_of_contacts = contact_selectors.events_of_contacts


def events_in_window(*, workspace: Workspace, since: datetime, until: datetime) -> int:
    """All of the workspace's events in [since, until): the preview bench's baseline."""
    return contact_selectors.events_in_window(workspace=workspace, since=since, until=until)
