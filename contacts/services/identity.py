"""Who a call is about: find-or-create a contact, apply traits, merge duplicates, set consent.

Every writer that knows something about a person goes through `contact_upsert`: the
ingestion API (identify/track/…), hosted forms, CSV import and the management API. The
rules it applies are documented for integrators in docs/ingestion.md ("Identity and
precedence"); in short:

Resolution — which contact, what to merge, which identifiers to record: decided by
`resolver.identity_resolve` (the one place the rules live, shared with ingestion's batches
and the CSV import); this module gathers the candidates (one locked index lookup, and
before creating, advisory locks on the identifiers and a second look) and writes the
decision. Profiles found by a weaker identifier that do not contradict a stronger one are
*merged* into the strongest one: that is how an anonymous visitor becomes a known contact
with all their page views when they identify or sign up.

Traits — known names map to contact fields (see `traits.FIELD_TRAITS`); everything else is a
custom attribute, registered and typed in AttributeDefinition on first sight. A value
sent replaces the stored one (latest call wins); `None` and "" never erase anything.
An email already held by another known contact stays there (the resolver refuses it).
The consent traits (`email_consent`, `sms_consent`)
go through `contact_set_consent`, so every change is announced to the consent log.

Consent — `contact_set_consent` is the one place a contact's consent changes (merges aside,
which announce theirs too); each change goes to the `consent_changed` hook (contacts/hooks.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts.hooks import ConsentChange, consent_changed, consent_changes_collected
from contacts.models import ConsentStatus, Contact
from contacts.services.merge import PROFILE_FIELDS, merge_into
from contacts.services.resolver import Candidate, Incoming, identity_resolve, incoming_clean
from contacts.services.traits import (
    CONSENT_TRAITS,
    TraitProblem,
    attributes_admit,
    attributes_register,
    email_normalize,
    phone_normalize,
    traits_to_fields,
)
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace


def contact_upsert(
    *,
    workspace: Workspace,
    email: str | None = None,
    external_id: str | None = None,
    anonymous_id: str | None = None,
    phone: str | None = None,
    traits: dict[str, Any] | None = None,
    source: str,
    at: datetime | None = None,
    problems: list[TraitProblem] | None = None,
) -> tuple[Contact, set[str]]:
    """Find (or create) the contact these identifiers name, apply `traits`, merge duplicates.

    Returns the contact and the names of the fields/attributes that changed (for a new
    contact: everything that was set, plus "created"). Raises ValidationFailed naming the
    field for a bad email/phone/trait, before anything is written.
    `source` says who is writing ("api", "snippet", "form", "import" …); it is recorded as
    the source of a consent trait's decision (contact_set_consent), made `at` (the call's
    own timestamp for ingestion; now by default), so a late call cannot undo a newer one.
    New custom attributes beyond the workspace's CONTACTS_MAX_ATTRIBUTES raise
    ValidationFailed naming the cap — or, when the caller passes a `problems` list (ingestion),
    are left out and reported there.
    """
    if traits is not None and not isinstance(traits, Mapping):
        raise ValidationFailed("traits: must be an object.", fields={"traits": "must be an object"})
    traits = dict(traits or {})
    fields, attributes = traits_to_fields(traits)
    if attributes:
        attributes = attributes_admit(workspace=workspace, attributes=attributes, problems=problems)
    country = fields.get("country", "")
    incoming = incoming_clean(
        external_id=external_id,
        email=email if email not in (None, "") else None,
        anonymous_id=anonymous_id,
        phone=phone if phone not in (None, "") else None,
        region=country if len(country) == 2 else None,
    )
    # An email/phone given as a trait (identify) is an identifier as well.
    if incoming.email:
        fields["email"] = incoming.email
    if incoming.phone:
        fields["phone"] = incoming.phone
    incoming = Incoming(
        external_id=incoming.external_id,
        email=fields.get("email", ""),
        anonymous_id=incoming.anonymous_id,
        phone=fields.get("phone", ""),
    )
    if not incoming:
        raise ValidationFailed(
            "A contact needs an identifier: external_id (userId), email, anonymous_id or phone.",
            fields={"external_id": "one identifier is required"},
        )
    for attempt in range(3):
        try:
            # Consent changes of a contact created here are announced once it is stored.
            with transaction.atomic(), consent_changes_collected():
                return _upsert_once(
                    workspace=workspace,
                    incoming=incoming,
                    fields=fields,
                    attributes=attributes,
                    source=source,
                    at=at,
                )
        except IntegrityError:
            # A concurrent writer created the same email/external id between our lookup
            # and our insert: look again, it will be found this time.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _upsert_once(
    *,
    workspace: Workspace,
    incoming: Incoming,
    fields: dict[str, Any],
    attributes: dict[str, Any],
    source: str,
    at: datetime | None,
) -> tuple[Contact, set[str]]:
    found = _candidates(workspace, incoming)
    decision = identity_resolve(incoming, map(contact_candidate, found))
    if decision.creates and not decision.merge:
        # About to create: make a concurrent writer with the same identifiers wait for us.
        identifiers_lock(workspace_id=workspace.pk, identifiers=_lock_names(incoming))
        found = _candidates(workspace, incoming)
        decision = identity_resolve(incoming, map(contact_candidate, found))
    by_id = {c.pk: c for c in found}
    changed: set[str] = set()
    if decision.contact is None:
        primary = Contact(workspace=workspace)
        changed.add("created")
    else:
        primary = by_id[decision.contact]
    for other in decision.merge:
        changed |= merge_into(workspace=workspace, into=primary, source=by_id[other])
    claimed = False
    if "anonymous_id" in decision.record or decision.anonymous_id_from:
        claimed = _claim_anonymous_id(
            primary, incoming.anonymous_id, [by_id[pk] for pk in decision.anonymous_id_from]
        )
    if "external_id" in decision.record:
        primary.external_id = incoming.external_id
        changed.add("external_id")
    if "email" in decision.refused:
        fields = {k: v for k, v in fields.items() if k != "email"}
    changed |= _apply(workspace, primary, fields, attributes, source, at)
    if primary.pk is None:
        changed |= {name for name in PROFILE_FIELDS if getattr(primary, name)}
    if primary.pk is None or changed or claimed:
        primary.save()  # an identify repeating what we know writes nothing
    if attributes:
        attributes_register(workspace=workspace, values=attributes)
    return primary, changed


def contact_candidate(contact: Contact) -> Candidate:
    """A stored contact as the resolver sees it."""
    return Candidate(
        id=contact.pk,
        external_id=contact.external_id,
        email=contact.email,
        anonymous_ids=tuple(contact.anonymous_ids),
        phone=contact.phone,
    )


def _lock_names(incoming: Incoming) -> list[str]:
    # The same names ingestion locks with ("u:" userId, "a:" anonymous id), plus email.
    names = [f"u:{incoming.external_id}"] if incoming.external_id else []
    names += [f"a:{incoming.anonymous_id}"] if incoming.anonymous_id else []
    return names + ([f"e:{incoming.email}"] if incoming.email else [])


def identifiers_lock(*, workspace_id: int, identifiers: Iterable[str]) -> None:
    """Transaction-scoped advisory locks on identifiers about to get a new contact.

    Taken in sorted order so two writers cannot deadlock on the same pair.
    """
    keys = sorted(
        {
            int.from_bytes(
                hashlib.blake2b(f"{workspace_id}:{i}".encode(), digest_size=8).digest(),
                "big",
                signed=True,
            )
            for i in identifiers
        }
    )
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", [keys]
            )


def _candidates(workspace: Workspace, incoming: Incoming) -> list[Contact]:
    ext, email, anon, phone = (
        incoming.external_id,
        incoming.email,
        incoming.anonymous_id,
        incoming.phone,
    )
    ids = contact_ids_by_identifiers(
        workspace_id=workspace.pk,
        external_ids=[ext] if ext else [],
        emails=[email] if email else [],
        # An external id renamed by alias is kept among the anonymous ids (the resolver).
        anonymous_ids=[a for a in (anon, ext) if a],
        phones=[phone] if phone and not (ext or email or anon) else [],
    )
    if not ids:
        return []
    return list(
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=ids)
        # NO KEY: an upsert never changes the key, and a plain FOR UPDATE would block other
        # requests' deferred event → contact FK checks at COMMIT (and could deadlock them).
        .select_for_update(no_key=True)
        .order_by("pk")
    )


# One arm per identifier, each probing a unique index once per value (unnest + LATERAL):
# the partial unique indexes (the arm repeats their `<> ''` condition), the phone index,
# and the anonymous-id lookup table (ContactAnonymousId). Asked as `col = ANY(array)` or
# as a GIN search of `anonymous_ids && array` instead, the planner costs a 100-value probe
# of a young, growing workspace (stale statistics) above a scan of all its contacts and
# reads thousands of rows per batch; one equality per value is always cheapest on the index.
IDENTIFIER_SQL = """
SELECT c.id FROM unnest(%(external)s::varchar[]) AS v(x) CROSS JOIN LATERAL (
    SELECT id FROM contacts_contact
     WHERE workspace_id = %(ws)s AND external_id = v.x AND external_id <> '') AS c
UNION SELECT c.id FROM unnest(%(emails)s::varchar[]) AS v(x) CROSS JOIN LATERAL (
    SELECT id FROM contacts_contact
     WHERE workspace_id = %(ws)s AND email = v.x AND email <> '') AS c
UNION SELECT c.id FROM unnest(%(phones)s::varchar[]) AS v(x) CROSS JOIN LATERAL (
    SELECT id FROM contacts_contact
     WHERE workspace_id = %(ws)s AND phone = v.x AND phone <> '') AS c
UNION SELECT c.contact_id FROM unnest(%(anonymous)s::varchar[]) AS v(x) CROSS JOIN LATERAL (
    SELECT contact_id FROM contacts_contactanonymousid
     WHERE workspace_id = %(ws)s AND anonymous_id = v.x) AS c
"""


def contact_ids_by_identifiers(
    *,
    workspace_id: int,
    external_ids: list[str] = (),  # type: ignore[assignment]
    emails: list[str] = (),  # type: ignore[assignment]
    anonymous_ids: list[str] = (),  # type: ignore[assignment]
    phones: list[str] = (),  # type: ignore[assignment]
) -> list[int]:
    """Ids of the workspace's contacts holding any of these identifiers (index lookups only)."""
    if not (external_ids or emails or anonymous_ids or phones):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            IDENTIFIER_SQL,
            {
                "ws": workspace_id,
                "external": list(external_ids),
                "emails": list(emails),
                "phones": list(phones),
                "anonymous": list(anonymous_ids),
            },
        )
        return [row[0] for row in cursor.fetchall()]


def _claim_anonymous_id(primary: Contact, anonymous_id: str, others: list[Contact]) -> bool:
    """An anonymous id names one contact: the most recently identified one keeps it."""
    for other in others:
        other.anonymous_ids = [a for a in other.anonymous_ids if a != anonymous_id]
        Contact.objects.filter(pk=other.pk).update(anonymous_ids=other.anonymous_ids)
    if anonymous_id not in primary.anonymous_ids:
        primary.anonymous_ids = [*primary.anonymous_ids, anonymous_id]
        return True
    return False


def contact_apply_traits(
    *,
    workspace: Workspace,
    contact: Contact,
    traits: Mapping[str, Any],
    source: str = "api",
    at: datetime | None = None,
    problems: list[TraitProblem] | None = None,
) -> set[str]:
    """Apply traits to an already locked, known contact in memory (no identity change, no
    save); returns what changed. For callers that resolved the contact themselves and
    whose traits keep its email (ingestion's identify of a known user). A consent trait's
    change is announced at once (the caller saves the contact in the same transaction).
    New attributes beyond the workspace's limit: as in contact_upsert."""
    fields, attributes = traits_to_fields(traits)
    if attributes:
        attributes = attributes_admit(workspace=workspace, attributes=attributes, problems=problems)
    changed = _apply(workspace, contact, fields, attributes, source, at)
    if attributes:
        attributes_register(workspace=workspace, values=attributes)
    return changed


def _apply(
    workspace: Workspace,
    contact: Contact,
    fields: dict[str, Any],
    attributes: dict[str, Any],
    source: str,
    at: datetime | None,
) -> set[str]:
    changed: set[str] = set()
    for name, value in fields.items():
        if name in CONSENT_TRAITS:
            continue  # after the profile fields: the change names the address they set
        if name == "tags":
            merged = list(dict.fromkeys([*contact.tags, *value]))
            if merged != contact.tags:
                contact.tags = merged
                changed.add("tags")
            continue
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed.add(name)
    for key, value in attributes.items():
        if contact.attributes.get(key) != value:
            contact.attributes = {**contact.attributes, key: value}
            changed.add(key)
    for name, channel in CONSENT_TRAITS.items():
        if name in fields:
            changed |= contact_set_consent(
                contact=contact,
                channel=channel,
                status=fields[name],
                source=source,
                at=at,
                save=False,
                detail={"trait": name},
            )
    return changed


def contact_set_consent(
    *,
    contact: Contact,
    channel: str,
    status: str,
    source: str,
    at: datetime | None = None,
    save: bool = True,
    detail: Mapping[str, Any] | None = None,
) -> set[str]:
    """Record a consent decision for `channel` ("email" or "sms"). Returns changed field names.

    An older decision (`at` before the stored one) does not override a newer one. A change
    is announced to the `consent_changed` hook (messaging's consent log) with `source` and
    `detail`; a decision that changes nothing announces nothing and costs no query. With
    `save=False` the caller stores the contact, in the same transaction; a contact that is
    not stored yet must be changed inside `consent_changes_collected()`.
    """
    if channel not in ("email", "sms"):
        raise ValidationFailed(
            "channel: must be 'email' or 'sms'.", fields={"channel": "unknown channel"}
        )
    if status not in ConsentStatus.values:
        allowed = ", ".join(ConsentStatus.values)
        raise ValidationFailed(
            f"{channel}_consent: must be one of {allowed}.",
            fields={f"{channel}_consent": f"must be one of {allowed}"},
        )
    at = at or timezone.now()
    stored_at = getattr(contact, f"{channel}_consent_at")
    if stored_at is not None and at < stored_at:
        return set()
    previous = getattr(contact, f"{channel}_consent")
    if previous == status:
        return set()
    setattr(contact, f"{channel}_consent", status)
    setattr(contact, f"{channel}_consent_at", at)
    setattr(contact, f"{channel}_consent_source", source[:64])
    if save and contact.pk:
        contact.save(
            update_fields=[
                f"{channel}_consent",
                f"{channel}_consent_at",
                f"{channel}_consent_source",
                "updated_at",
            ]
        )
    consent_changed(
        ConsentChange(
            contact=contact,
            channel=channel,
            status=status,
            previous=previous,
            source=source[:64],
            at=at,
            detail=dict(detail or {}),
        )
    )
    return {f"{channel}_consent"}


__all__ = [
    "attributes_register",
    "contact_set_consent",
    "contact_upsert",
    "email_normalize",
    "IDENTIFIER_SQL",
    "contact_apply_traits",
    "contact_ids_by_identifiers",
    "identifiers_lock",
    "phone_normalize",
]
