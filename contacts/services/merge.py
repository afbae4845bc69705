"""Merging two profiles of the same person (an anonymous visitor who signs up, a duplicate).

Precedence (documented in docs/ingestion.md): the surviving contact's values win; the
merged one fills what it lacks. Tags and anonymous ids are unioned; attributes keep the
survivor's value per key; consent takes the most recent decision (announced to the consent
log as a change with source "merge"); lifecycle stage the furthest along; last_seen_at the
latest; created_at the earliest. Everything that pointed at the merged contact (events, and
rows of any other app — hidden relations included) moves to the survivor; docs/contacts.md
says what that means for each app's rows.
"""

from __future__ import annotations

from functools import cache

from django.db import IntegrityError, models, transaction
from django.db.models import ForeignObjectRel

from contacts.hooks import ConsentChange, consent_changed
from contacts.models import ConsentStatus, Contact, ContactAnonymousId, LifecycleStage
from workspaces.errors import NotFound
from workspaces.models import Workspace

LIFECYCLE_RANK: dict[str, int] = {
    LifecycleStage.OTHER: 0,
    LifecycleStage.SUBSCRIBER: 0,
    LifecycleStage.LEAD: 1,
    LifecycleStage.MQL: 2,
    LifecycleStage.SQL: 3,
    LifecycleStage.CUSTOMER: 4,
}
PROFILE_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "country",
    "city",
    "timezone",
    "external_id",
)


@transaction.atomic
def contact_merge(*, workspace: Workspace, into: Contact, source: Contact) -> Contact:
    """Merge `source` into `into` and delete `source`; enqueue the pipeline for `into`.

    Everything pointing at `source` (its events, and rows of other apps) moves to `into`.
    Precedence: `into`'s values win; `source` fills what `into` lacks. Tags and anonymous
    ids are unioned; attributes keep `into`'s value per key; consent takes the most recent
    decision; lifecycle stage the furthest along; last_seen_at the latest; created_at the
    earliest.
    """
    from contacts.services.events import events_enqueue_processing

    if into.workspace_id != workspace.pk or source.workspace_id != workspace.pk:
        raise NotFound("No such contact.")
    if into.pk == source.pk:
        return into
    locked = {
        c.pk: c
        for c in Contact.objects.for_workspace(workspace)
        .filter(pk__in=[into.pk, source.pk])
        .select_for_update()
        .order_by("pk")
    }
    if len(locked) != 2:
        raise NotFound("No such contact.")
    into, source = locked[into.pk], locked[source.pk]
    changed = merge_into(workspace=workspace, into=into, source=source)
    into.save()
    events_enqueue_processing(workspace=workspace, event_ids=[], changed_fields={into.pk: changed})
    return into


def merge_into(*, workspace: Workspace, into: Contact, source: Contact) -> set[str]:
    """Fold `source` into `into` in memory, move what points at source, delete source.

    `into` may be unsaved (a contact being created from an anonymous one); it is saved
    here so rows can point at it. The caller saves `into` again afterwards.
    """
    changed: set[str] = {"merged"}
    for name in PROFILE_FIELDS:
        if not getattr(into, name) and getattr(source, name):
            setattr(into, name, getattr(source, name))
            changed.add(name)
    for key, value in source.attributes.items():
        if key not in into.attributes:
            into.attributes = {**into.attributes, key: value}
            changed.add(key)
    tags = list(dict.fromkeys([*into.tags, *source.tags]))
    if tags != into.tags:
        into.tags = tags
        changed.add("tags")
    into.anonymous_ids = list(dict.fromkeys([*into.anonymous_ids, *source.anonymous_ids]))
    if LIFECYCLE_RANK.get(source.lifecycle_stage, 0) > LIFECYCLE_RANK.get(into.lifecycle_stage, 0):
        into.lifecycle_stage = source.lifecycle_stage
        changed.add("lifecycle_stage")
    if into.owner_id is None and source.owner_id is not None:
        into.owner_id = source.owner_id
        changed.add("owner")
    consent = [
        change
        for change in (_merge_consent(into, source, channel) for channel in ("email", "sms"))
        if change is not None
    ]
    changed |= {f"{change.channel}_consent" for change in consent}
    if source.last_seen_at and (not into.last_seen_at or source.last_seen_at > into.last_seen_at):
        into.last_seen_at = source.last_seen_at
    if source.created_at < into.created_at:
        into.created_at = source.created_at
    # Free the source's unique identifiers before `into` takes them over.
    Contact.objects.filter(pk=source.pk).update(email="", external_id="")
    into.save()
    for change in consent:
        consent_changed(change)  # into is stored now
    _repoint_relations(source=source, into=into)
    Contact.objects.filter(pk=source.pk).delete()
    return changed


def _merge_consent(into: Contact, source: Contact, channel: str) -> ConsentChange | None:
    """Take source's decision for `channel` if it is the more recent one; the change."""
    status, at, src = f"{channel}_consent", f"{channel}_consent_at", f"{channel}_consent_source"
    theirs, ours = getattr(source, status), getattr(into, status)
    if theirs == ConsentStatus.UNKNOWN:
        return None
    their_at, our_at = getattr(source, at), getattr(into, at)
    newer = ours == ConsentStatus.UNKNOWN or (
        their_at is not None and (our_at is None or their_at > our_at)
    )
    if not newer or theirs == ours:
        return None
    setattr(into, status, theirs)
    setattr(into, at, their_at)
    setattr(into, src, getattr(source, src))
    return ConsentChange(
        contact=into,
        channel=channel,
        status=theirs,
        previous=ours,
        source="merge",
        at=their_at or source.updated_at,
        detail={
            "merged_contact": source.pk,
            "decision_source": getattr(source, src),
            "decided_at": their_at.isoformat() if their_at else None,
        },
    )


@cache
def contact_relations() -> tuple[ForeignObjectRel, ...]:
    """Every foreign key to Contact, in any app — hidden ones (related_name="+") included,
    which `Contact._meta.related_objects` leaves out, and the through tables of many-to-many
    fields. Not the anonymous-id lookup: a trigger derives it from Contact.anonymous_ids."""
    return tuple(
        relation
        for relation in Contact._meta.get_fields(include_hidden=True)
        if isinstance(relation, ForeignObjectRel)
        and (relation.one_to_many or relation.one_to_one)
        and relation.related_model is not ContactAnonymousId
    )


@cache
def _may_conflict(relation: ForeignObjectRel) -> bool:
    """Whether moving rows of this relation can break a unique constraint of its model."""
    model: type[models.Model] = relation.related_model  # type: ignore[assignment]
    field = relation.field
    if field.unique:
        return True
    groups = [
        *(c.fields for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)),
        *model._meta.unique_together,
    ]
    return any(field.name in group for group in groups)


def _repoint_relations(*, source: Contact, into: Contact) -> None:
    """Move every row of any app that points at `source` to `into`.

    Found generically through the model's reverse relations (see `contact_relations`), so
    apps added later are covered without contacts importing them. Each table is asked by
    workspace and contact, the way its indexes lead (a foreign key without an index of its
    own, like a workflow run's, is not a table scan). A row that would violate a unique
    constraint (into already has the equivalent, e.g. both were in the same segment) stays
    with the source and goes with it; only tables with such a constraint pay for the
    savepoint that allows it. A foreign key without a database constraint (events) moves
    the same way; nothing but this update would ever repoint it.
    """
    for relation in contact_relations():
        model: type[models.Model] = relation.related_model  # type: ignore[assignment]
        field = relation.field.name
        scope = {field: source.pk}
        if any(f.name == "workspace" for f in model._meta.concrete_fields):
            scope["workspace_id"] = source.workspace_id
        rows = model._base_manager.filter(**scope)
        if not _may_conflict(relation):
            rows.update(**{field: into.pk})
            continue
        try:
            with transaction.atomic():
                rows.update(**{field: into.pk})
        except IntegrityError:
            for pk in rows.values_list("pk", flat=True):
                try:
                    with transaction.atomic():
                        model._base_manager.filter(pk=pk).update(**{field: into.pk})
                except IntegrityError:
                    continue
