"""The one place where workflows calls other apps (contacts, segments, scoring, messaging).

Each function is a thin call to the other app's public service or selector. Imports are
lazy, so that workflows loads (and its engine can be tested) while an app it calls is
still being built; a missing service raises `IntegrationMissing`, which the engine treats
as a failing step (retried, then the run fails with the message visible) — never a
silent no-op.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

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


class IntegrationMissing(RuntimeError):
    """The service this step needs is not available in this installation."""


def _resolve(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as error:
        raise IntegrationMissing(f"{module}.{name} is not available ({error}).") from error


def available(module: str, name: str) -> bool:
    try:
        _resolve(module, name)
    except IntegrationMissing:
        return False
    return True


# --- segments -------------------------------------------------------------------------------


def filter_validate(*, workspace: Workspace, tree: dict[str, Any]) -> None:
    """Raise ValidationFailed (segments' FilterInvalid) when the filter is not valid here."""
    _resolve("segments.filters", "validate_filter")(workspace=workspace, tree=tree)


def filter_parse(*, workspace: Workspace, tree: dict[str, Any]) -> Any:
    """The parsed filter, to evaluate many times without parsing again."""
    return _resolve("segments.filters", "parse_filter")(workspace=workspace, tree=tree)


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
        _resolve("segments.filters", "evaluate_filter")(
            workspace=workspace, tree=tree, contact=contact, now=now, node=parsed, events=events
        )
    )


def filter_events_load(
    *, workspace: Workspace, parsed: Any, contact_ids: list[int], since: datetime
) -> dict[int, dict[str, list[Any]]]:
    """Per contact, the events a parsed filter can look at from `since` on (one query):
    each contact's part goes to filter_evaluate(events=…)."""
    return dict(
        _resolve("segments.filters", "filter_events_load")(
            workspace=workspace, node=parsed, contact_ids=contact_ids, since=since
        )
    )


def filter_count(*, workspace: Workspace, tree: dict[str, Any]) -> int:
    """How many contacts match the filter now (one SQL statement)."""
    return int(_resolve("segments.filters", "filter_count")(workspace=workspace, tree=tree))


def segment_contains(*, workspace: Workspace, segment_id: int, contact_id: int) -> bool:
    ids = _resolve("segments.selectors", "contact_segment_ids")(
        workspace=workspace, contact=contact_id
    )
    return int(segment_id) in ids


def _segment(workspace: Workspace, segment_id: Any) -> Any:
    # segments has no "get one segment" selector; reading its model here keeps that
    # knowledge in this adapter.
    segment_model = _resolve("segments.models", "Segment")
    try:
        return segment_model.objects.for_workspace(workspace).filter(pk=int(segment_id)).first()
    except (TypeError, ValueError):
        return None


def segment_exists(*, workspace: Workspace, segment_id: Any, static: bool = False) -> bool:
    segment = _segment(workspace, segment_id)
    return segment is not None and (not static or segment.is_static)


def segment_names(*, workspace: Workspace, ids: Iterable[Any]) -> dict[int, str]:
    """id -> name of these segments / static lists (one query; unknown ids are left out)."""
    wanted = [int(i) for i in ids if str(i).isdigit()]
    if not wanted:
        return {}
    try:
        segment_model = _resolve("segments.models", "Segment")
    except IntegrationMissing:
        return {}
    rows = segment_model.objects.for_workspace(workspace).filter(pk__in=wanted)
    return dict(rows.values_list("pk", "name"))


def segment_size(*, workspace: Workspace, segment_id: Any) -> int | None:
    """How many contacts are in the segment now (None: no such segment)."""
    segment = _segment(workspace, segment_id)
    if segment is None:
        return None
    return int(_resolve("segments.selectors", "segment_member_ids")(segment=segment).count())


def filter_vocabulary(*, workspace: Workspace) -> tuple[dict[str, str], dict[str, str]]:
    """(field name -> label, operator -> label) of segment filters, to say filters in words."""
    try:
        catalog = _resolve("segments.filters.schema", "field_catalog")(workspace=workspace)
        op_labels = _resolve("segments.filters.schema", "OP_LABELS")
    except IntegrationMissing:
        return {}, {}
    return (
        {name: spec.label for name, spec in catalog.items()},
        {str(op): label for op, label in op_labels.items()},
    )


def field_catalog(*, workspace: Workspace) -> list[dict[str, str]]:
    """Contact fields and custom attributes a filter may name: name, label, type, the
    operators its type takes (the segments builder's) and, for choice fields, the choices."""
    catalog = _resolve("segments.filters.schema", "field_catalog")(workspace=workspace)
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
    return _resolve("segments.selectors", "segment_member_ids")(segment=segment)  # type: ignore[no-any-return]


def static_list_change(
    *, workspace: Workspace, segment_id: int, contact_id: int, add: bool
) -> None:
    segment = _segment(workspace, segment_id)
    if segment is None or not segment.is_static:
        raise ValueError(f"static list {segment_id} no longer exists")
    service = "static_list_add" if add else "static_list_remove"
    _resolve("segments.services", service)(
        segment=segment, contact_ids=[contact_id], source="workflow"
    )


# --- contacts -------------------------------------------------------------------------------


def contact_update(
    *, workspace: Workspace, contact: Contact, data: dict[str, Any]
) -> tuple[Contact, set[str]]:
    """contacts' own validated update (typed attributes, the attribute registry); it tells
    the events pipeline itself."""
    updated, changed = _resolve("contacts.services.contacts", "contact_update")(
        workspace=workspace, contact=contact, data=data, source="workflow"
    )
    return updated, set(changed)


TAGS_ADD_SQL = """
UPDATE contacts_contact SET updated_at = now(), tags = tags || ARRAY(
    SELECT t FROM unnest(%s::varchar[]) WITH ORDINALITY AS u(t, n) WHERE NOT t = ANY(tags) ORDER BY n)
WHERE workspace_id = %s AND id = %s AND NOT tags @> %s::varchar[]
RETURNING tags
"""
TAGS_REMOVE_SQL = """
UPDATE contacts_contact SET updated_at = now(), tags = ARRAY(
    SELECT t FROM unnest(tags) WITH ORDINALITY AS u(t, n) WHERE NOT t = ANY(%s::varchar[]) ORDER BY n)
WHERE workspace_id = %s AND id = %s AND tags && %s::varchar[]
RETURNING tags
"""


def tags_changed(current: list[str], tags: list[str], *, add: bool) -> list[str] | None:
    """The contact's tags after adding / removing `tags` (contacts' cleaning rules), or None
    when nothing changes."""
    clean = _resolve("contacts.services.contacts", "tags_clean")(tags)
    if add:
        new = [*current, *[t for t in clean if t not in current]]
    else:
        new = [t for t in current if t not in clean]
    return new if new != list(current) else None


TAGS_WRITE_SQL = """
UPDATE contacts_contact AS c
SET tags = ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)), updated_at = now()
FROM unnest(%s::bigint[], %s::text[]) AS u(id, tags)
WHERE c.workspace_id = %s AND c.id = u.id
"""


def contacts_tags_write(*, workspace: Workspace, contacts: list[Contact]) -> None:
    """Write these contacts' tags (computed by tags_changed on rows the caller has locked)
    in one statement."""
    import json

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            TAGS_WRITE_SQL,
            [[c.pk for c in contacts], [json.dumps(list(c.tags)) for c in contacts], workspace.pk],
        )


def contact_tags(
    *, workspace: Workspace, contact: Contact, tags: list[str], add: bool
) -> list[str] | None:
    """Add or remove tags in one atomic UPDATE; returns the new tags, or None if nothing
    changed. Unlike contacts' contact_tags_add/remove (one events-pipeline task per call),
    this leaves telling the pipeline to the caller, so a chunk of runs sends one task for
    all its contacts. Tags are cleaned by contacts' own rules."""
    from django.db import connection

    clean = _resolve("contacts.services.contacts", "tags_clean")(tags)
    if not clean:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            TAGS_ADD_SQL if add else TAGS_REMOVE_SQL, [clean, workspace.pk, contact.pk, clean]
        )
        row = cursor.fetchone()
    return list(row[0]) if row else None


# --- scoring --------------------------------------------------------------------------------


def score_adjust(*, workspace: Workspace, contact: Contact, points: int, reason: str) -> None:
    _resolve("scoring.services", "score_adjust")(
        workspace=workspace, contact=contact, points=points, reason=reason, source="workflow"
    )


def lifecycle_set(*, workspace: Workspace, contact: Contact, stage: str, reason: str) -> None:
    _resolve("scoring.services", "lifecycle_stage_set")(
        workspace=workspace, contact=contact, stage=stage, reason=reason
    )


def lead_assign(*, workspace: Workspace, contact: Contact, owner: Any | None) -> Any:
    return _resolve("scoring.services", "lead_assign")(
        workspace=workspace, contact=contact, owner=owner
    )


def sales_task_create(
    *,
    workspace: Workspace,
    contact: Contact,
    title: str,
    due_at: datetime | None,
    assignee: Any | None,
    notify: bool,
) -> Any:
    return _resolve("scoring.services", "sales_task_create")(
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
    return _resolve("messaging.services", "message_enqueue")(
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
    spec = _resolve("messaging.services", "MessageSpec")
    results = _resolve("messaging.services", "messages_enqueue_many")(
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
    topic = version.topic or _resolve("messaging.services", "topic_default")(workspace=workspace)
    return version, topic


def template_get(*, workspace: Workspace, template_id: Any, channel: str) -> Any:
    # messaging has no "get one template" selector; reading its models here keeps that
    # knowledge in this adapter.
    model = _resolve("messaging.models", "EmailTemplate" if channel == "email" else "SmsTemplate")
    try:
        return model.objects.filter(workspace=workspace, pk=int(template_id)).first()
    except (TypeError, ValueError):
        return None


def template_names(*, workspace: Workspace, channel: str, ids: Iterable[Any]) -> dict[int, str]:
    """id -> name of these templates of a channel (one query)."""
    wanted = [int(i) for i in ids if str(i).isdigit()]
    if not wanted:
        return {}
    try:
        model = _resolve(
            "messaging.models", "EmailTemplate" if channel == "email" else "SmsTemplate"
        )
    except IntegrationMissing:
        return {}
    return dict(model.objects.filter(workspace=workspace, pk__in=wanted).values_list("pk", "name"))


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
    preview = _resolve("messaging.services", "template_render_preview")(
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
    try:
        message_model = _resolve("messaging.models", "Message")
    except IntegrationMissing:
        return {}
    from django.db.models import BigIntegerField, Count, F, Func, Q, TextField
    from django.db.models.functions import Cast

    from .models import WorkflowRun

    run_ids = WorkflowRun.objects.filter(
        workspace_id=workflow.workspace_id, workflow=workflow
    ).values("id")
    node = Func(
        F("source_id"),
        models_value(":"),
        models_value(2),
        function="split_part",
        output_field=TextField(),
    )
    run = Func(
        F("source_id"),
        models_value(":"),
        models_value(1),
        function="split_part",
        output_field=TextField(),
    )
    messages = message_model.objects.filter(
        workspace_id=workflow.workspace_id, source_type="workflow"
    )
    if since is not None:
        messages = messages.filter(created_at__gte=since)
    if until is not None:
        messages = messages.filter(created_at__lt=until)
    rows = (
        messages.annotate(node=node, run=Cast(run, BigIntegerField()))
        .filter(run__in=run_ids, node__in=node_ids)
        .values("node")
        .annotate(
            created=Count("id"),
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            delivered=Count("id", filter=Q(delivered_at__isnull=False)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
            bounced=Count("id", filter=Q(bounced_at__isnull=False)),
            failed=Count("id", filter=Q(status="failed")),
            suppressed=Count("id", filter=Q(status__in=["suppressed", "skipped"])),
        )
    )
    return {row.pop("node"): row for row in rows}


def models_value(value: Any) -> Any:
    from django.db.models import Value

    return Value(value)


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
        content_class = _resolve("messaging.services", "EmailContent")
        content = content_class(
            name=spec["name"], subject=spec["subject"], html=spec["html"], text=spec.get("text", "")
        )
        template = _resolve("messaging.services", "email_template_save")(
            workspace=workspace, content=content
        )
    else:
        template = _resolve("messaging.services", "sms_template_save")(
            workspace=workspace, name=spec["name"], body=spec["body"]
        )
    return int(template.pk)


def static_list_get_or_create(*, workspace: Workspace, name: str) -> int:
    segment_model = _resolve("segments.models", "Segment")
    found = segment_model.objects.for_workspace(workspace).filter(name=name).first()
    if found is not None:
        if not found.is_static:
            raise ValueError(f"a dynamic segment is already called {name!r}")
        return int(found.pk)
    created = _resolve("segments.services", "segment_create")(
        workspace=workspace, name=name, kind="static"
    )
    return int(created.pk)


def segment_get_or_create(*, workspace: Workspace, name: str, tree: dict[str, Any]) -> int:
    segment_model = _resolve("segments.models", "Segment")
    found = segment_model.objects.for_workspace(workspace).filter(name=name).first()
    if found is not None:
        return int(found.pk)
    created = _resolve("segments.services", "segment_create")(
        workspace=workspace, name=name, kind="dynamic", filter=tree
    )
    return int(created.pk)


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
)


def event_definitions(
    *, workspace: Workspace, prefix: str = "", names: Iterable[str] | None = None, limit: int = 500
) -> list[tuple[str, list[str], datetime]]:
    """(name, property keys, last seen) of the event names this workspace has received —
    contacts keeps this catalogue on ingestion (EventDefinition); reading its model here
    keeps that knowledge in this adapter."""
    model = _resolve("contacts.models", "EventDefinition")
    rows = model.objects.for_workspace(workspace)
    if prefix:
        rows = rows.filter(name__istartswith=prefix)
    if names is not None:
        rows = rows.filter(name__in=list(names))
    return list(
        rows.order_by("-last_seen_at").values_list("name", "property_keys", "last_seen_at")[:limit]
    )


def event_counts(*, workspace: Workspace, names: list[str], since: datetime) -> dict[str, int]:
    """Events per name since `since`, from analytics' hourly rollups (no scan of events)."""
    if not names:
        return {}
    try:
        model = _resolve("analytics.models", "HourlyEventCount")
    except IntegrationMissing:
        return {}
    from django.db.models import Sum

    rows = (
        model.objects.for_workspace(workspace)
        .filter(name__in=names, hour__gte=since)
        .values("name")
        .annotate(n=Sum("events"))
    )
    return {row["name"]: int(row["n"] or 0) for row in rows}


# --- replaying history (preview on history) ----------------------------------------------------

# A cheap, well-mixed order of contact ids (Knuth's multiplicative hash): a uniform sample
# that is the same on every run, without sorting by random().
_SAMPLE_ORDER = "mod({col}::bigint * 2654435761, 4294967296)"

EVENT_HITS_SQL = f"""
WITH hits AS (
    SELECT contact_id, count(*) AS n
    FROM contacts_event
    WHERE workspace_id = %(workspace)s AND name = ANY(%(names)s)
      AND timestamp >= %(since)s AND timestamp < %(until)s
    GROUP BY contact_id
)
SELECT (SELECT count(*) FROM hits), (SELECT coalesce(sum(n), 0) FROM hits),
       ARRAY(SELECT contact_id FROM hits ORDER BY {_SAMPLE_ORDER.format(col="contact_id")}
             LIMIT %(sample)s)
"""  # noqa: S608 — no user input in the text


def event_hits(
    *, workspace: Workspace, names: list[str], since: datetime, until: datetime, sample: int
) -> tuple[int, int, list[int]]:
    """(contacts who had any of these events in [since, until), how many events, a uniform
    sample of at most `sample` of those contacts) — one statement on the events table's
    (workspace, name, timestamp) index."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            EVENT_HITS_SQL,
            {"workspace": workspace.pk, "names": names, "since": since, "until": until,
             "sample": sample},
        )  # fmt: skip
        contacts, events, ids = cursor.fetchone()
    return int(contacts), int(events), list(ids or [])


def segment_sample(*, workspace: Workspace, segment_id: Any, sample: int) -> tuple[int, list[int]]:
    """(members of the segment now, a uniform sample of at most `sample` of them)."""
    segment = _segment(workspace, segment_id)
    if segment is None:
        return 0, []
    members = _resolve("segments.selectors", "segment_member_ids")(segment=segment)
    order = _SAMPLE_ORDER.format(col="contact_id")
    from django.db.models.expressions import RawSQL

    ordered = members.order_by(RawSQL(order, []))  # noqa: S611 — a constant expression
    ids = list(ordered.values_list("contact_id", flat=True)[:sample])
    return int(members.count()), ids


def events_of_contacts(
    *,
    workspace: Workspace,
    contact_ids: list[int],
    names: list[str],
    since: datetime,
    until: datetime,
    limit: int = 200_000,
) -> list[Any]:
    """These contacts' events of these names in [since, until), oldest first (bounded)."""
    model = _resolve("contacts.models", "Event")
    return list(
        model.objects.filter(
            workspace_id=workspace.pk, contact_id__in=contact_ids, name__in=names,
            timestamp__gte=since, timestamp__lt=until,
        )
        .only("id", "contact_id", "name", "properties", "timestamp")
        .order_by("timestamp", "id")[:limit]
    )  # fmt: skip


def events_in_window(*, workspace: Workspace, since: datetime, until: datetime) -> int:
    """All of the workspace's events in [since, until): the preview bench's baseline."""
    model = _resolve("contacts.models", "Event")
    return int(
        model.objects.filter(
            workspace_id=workspace.pk, timestamp__gte=since, timestamp__lt=until
        ).count()
    )
