"""Merging two profiles of the same person (an anonymous visitor who signs up, a duplicate).

Precedence (documented in docs/ingestion.md): the surviving contact's values win; the
merged one fills what it lacks. Tags and anonymous ids are unioned; attributes keep the
survivor's value per key; consent takes the most recent decision; lifecycle stage the
furthest along; last_seen_at the latest; created_at the earliest. Everything that pointed
at the merged contact (events, and rows of any other app) moves to the survivor.
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction

from contacts.models import ConsentStatus, Contact, LifecycleStage
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
    for channel in ("email", "sms"):
        changed |= _merge_consent(into, source, channel)
    if source.last_seen_at and (not into.last_seen_at or source.last_seen_at > into.last_seen_at):
        into.last_seen_at = source.last_seen_at
    if source.created_at < into.created_at:
        into.created_at = source.created_at
    # Free the source's unique identifiers before `into` takes them over.
    Contact.objects.filter(pk=source.pk).update(email="", external_id="")
    into.save()
    _repoint_relations(source=source, into=into)
    Contact.objects.filter(pk=source.pk).delete()
    return changed


def _merge_consent(into: Contact, source: Contact, channel: str) -> set[str]:
    status, at, src = f"{channel}_consent", f"{channel}_consent_at", f"{channel}_consent_source"
    theirs, ours = getattr(source, status), getattr(into, status)
    if theirs == ConsentStatus.UNKNOWN:
        return set()
    their_at, our_at = getattr(source, at), getattr(into, at)
    newer = ours == ConsentStatus.UNKNOWN or (
        their_at is not None and (our_at is None or their_at > our_at)
    )
    if not newer or theirs == ours:
        return set()
    setattr(into, status, theirs)
    setattr(into, at, their_at)
    setattr(into, src, getattr(source, src))
    return {status}


def _repoint_relations(*, source: Contact, into: Contact) -> None:
    """Move every row of any app that points at `source` to `into`.

    Found generically through the model's reverse relations, so apps added later (segment
    memberships, workflow runs, messages, score history) are covered without contacts
    importing them. A row that would violate a unique constraint (into already has the
    equivalent, e.g. both were in the same segment) stays with the source and goes with it.
    """
    for relation in Contact._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        model: type[models.Model] = relation.related_model  # type: ignore[assignment]
        field = relation.field.name
        rows = model._base_manager.filter(**{field: source.pk})
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
