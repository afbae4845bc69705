"""Who a call is about — the one place the identity rules are decided (no database here).

Every writer that knows something about a person asks `identity_resolve` with the
identifiers of the call (`Incoming`) and the existing contacts that hold any of them
(`Candidate`s, gathered by the caller in its own batched way), and gets a `Decision`: which
contact, what to merge into it, which identifiers to record and which it may not take.
The callers only differ in how they gather candidates and write the decision:

- `identity.contact_upsert` (management API, forms, the one-by-one path of ingestion and
  import): one locked lookup, then merges and a save;
- `ingest._Ingestion` (/v1/ batches): candidates from the batch's one lookup, kept in
  memory; a plain decision is written with the batch's multi-row INSERTs, anything else
  (a merge, an anonymous id that moves, an external id added to a known profile) goes
  through contact_upsert, in order;
- `imports` (CSV): candidates from one locked SELECT per chunk; a plain decision is
  written with the chunk's COPY + INSERT/UPDATE, anything else through contact_upsert.

The rules (docs/ingestion.md, "Identity and precedence"):

Resolution — the contact is found by, in order of strength: 1. `external_id` (Segment's
userId; an external id renamed by `alias` stays among the contact's anonymous ids and still
names it), 2. `email`, 3. `anonymous_id`, 4. `phone` (only when no other identifier is
given, and only when exactly one contact has it). A contact with another external id, or
(for a weaker match) another email, is someone else.

Merging — profiles found by a weaker identifier that do not contradict the strongest one
(no other external id, no other email) are the same person: they are merged into it. That
is how an anonymous visitor becomes a known contact when they identify or sign up.

Identifiers — an external id is recorded only on a contact that has none (never
overwritten); an email held by another contact that stays (not merged) is not taken from
it; an anonymous id names one contact: when another one holds it, it moves to this one
(the most recently identified person keeps it; a shared computer), without a merge.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from contacts.services.traits import email_normalize, phone_normalize
from workspaces.errors import ValidationFailed

IDENTIFIER_MAX = 255


class Incoming(NamedTuple):
    """The identifiers of one call, normalised (`incoming_clean`); "" when not given."""

    external_id: str = ""
    email: str = ""
    anonymous_id: str = ""
    phone: str = ""

    def __bool__(self) -> bool:
        return bool(self.external_id or self.email or self.anonymous_id or self.phone)


class Candidate(NamedTuple):
    """An existing contact holding one of the call's identifiers, as stored.

    `id` is the contact's primary key, or any stand-in a caller uses for a contact it is
    about to create in the same batch (ingestion uses negative numbers).
    """

    id: int
    external_id: str = ""
    email: str = ""
    anonymous_ids: tuple[str, ...] = ()
    phone: str = ""


_NONE: frozenset[str] = frozenset()
_EMAIL = frozenset({"email"})


class Decision(NamedTuple):
    """What to do: the result of `identity_resolve`. (Named tuples: ingestion asks once per
    message, and they cost a fraction of a dataclass to make.)"""

    contact: int | None  # the existing contact the call is about; None: create one
    merge: tuple[int, ...] = ()  # the same person: merge each into `contact`, in order
    # Other contacts holding the anonymous id, which moves to `contact` (no merge).
    anonymous_id_from: tuple[int, ...] = ()
    # Identifiers to write onto `contact` (or the new one): names of Incoming's fields.
    record: frozenset[str] = _NONE
    # Identifiers `contact` holds with another value that the call replaces ("email").
    replaces: frozenset[str] = _NONE
    # Identifiers of the call another contact keeps (not recorded here).
    refused: frozenset[str] = _NONE

    @property
    def creates(self) -> bool:
        return self.contact is None

    @property
    def plain(self) -> bool:
        """No other profile is touched: no merge, no anonymous id moved, nothing refused.
        What set-based writers can do without contact_upsert."""
        return not (self.merge or self.anonymous_id_from or self.refused)


def identity_resolve(incoming: Incoming, candidates: Iterable[Candidate]) -> Decision:
    """Decide which contact `incoming` is about among `candidates` (every existing contact
    holding one of its identifiers; others may be passed, they are ignored unless a rule
    names them). Ties go to the lowest id."""
    ext, email, anon, phone = incoming
    found = candidates if isinstance(candidates, list) else list(candidates)
    if not found:  # nobody holds them (most new visitors): create, recording every one
        return _CREATE.get(tuple(map(bool, incoming))) or _create(incoming)
    if len(found) > 1:
        found = sorted(found, key=_id_of)
    by_ext = by_renamed = by_email = None
    by_anon: list[Candidate] = []
    by_phone: list[Candidate] = []
    phone_alone = phone and not (ext or email or anon)
    for c in found:
        if ext:
            if c.external_id == ext:
                by_ext = by_ext or c
            elif ext in c.anonymous_ids:
                by_renamed = by_renamed or c  # renamed by alias
        if email and by_email is None and c.email == email:
            by_email = c
        if anon and anon in c.anonymous_ids:
            by_anon.append(c)
        if phone_alone and c.phone == phone:
            by_phone.append(c)
    by_ext = by_ext or by_renamed

    primary = by_ext
    # A contact known by this email under another external id is another person.
    if primary is None and by_email is not None and _compatible(by_email, ext, ""):
        primary = by_email
    if primary is None and by_anon and _compatible(by_anon[0], ext, email):
        primary = by_anon[0]
    if primary is None and len(by_phone) == 1:
        primary = by_phone[0]

    merge: list[Candidate] = []
    if by_email is not None or by_anon:
        target_ext = ext or (primary.external_id if primary else "")
        target_email = email or (primary.email if primary else "")
        for other in [by_email, *by_anon]:
            if other is None or other is primary or any(other is m for m in merge):
                continue
            if _compatible(other, target_ext, target_email):
                merge.append(other)

    return _decision(incoming, primary, merge, by_anon, by_email)


def alias_resolve(previous: Candidate | None, target: Candidate | None, user_id: str) -> str:
    """alias(previousId → userId) says the two are one person. `previous` is the contact
    previousId names (as an external id, or among its anonymous ids), `target` the one
    userId names. Returns
    - "merge": `previous` is another known user → it is merged into `target`;
    - "rename": `previous` is a known user under another external id and no contact has
      userId → its external id becomes userId, the old one is kept among its anonymous ids;
    - "identify": otherwise previousId is an anonymous id → identify's rules
      (`identity_resolve` with external_id=userId, anonymous_id=previousId).
    """
    if previous is not None and previous.external_id and previous.external_id != user_id:
        if target is not None and target.id != previous.id:
            return "merge"
        return "rename"
    return "identify"


def _decision(
    incoming: Incoming,
    primary: Candidate | None,
    merge: list[Candidate],
    by_anon: list[Candidate],
    by_email: Candidate | None,
) -> Decision:
    ext, email, anon, phone = incoming
    # What the profile will hold once the merged ones are folded in (they fill its gaps).
    if primary is None:
        has_ext = has_email = has_phone = ""
        has_anon: tuple[str, ...] = ()
    else:
        _, has_ext, has_email, has_anon, has_phone = primary
    for other in merge:
        has_ext = has_ext or other.external_id
        has_email = has_email or other.email
        has_phone = has_phone or other.phone
        has_anon = (*has_anon, *other.anonymous_ids)

    record: list[str] = []
    replaces: list[str] = []
    refused = _NONE
    if ext and not has_ext:
        record.append("external_id")
    if email and email != has_email:
        if by_email is not None and by_email is not primary and not _among(by_email, merge):
            refused = _EMAIL  # another known contact holds it: never steal an identifier
        else:
            record.append("email")
            if has_email:
                replaces.append("email")
    if phone and phone != has_phone:
        record.append("phone")
        if has_phone:
            replaces.append("phone")
    if anon and anon not in has_anon:
        record.append("anonymous_id")
    return Decision(
        primary.id if primary is not None else None,
        tuple(c.id for c in merge) if merge else (),
        ()
        if not by_anon or (len(by_anon) == 1 and by_anon[0] is primary)
        else tuple(c.id for c in by_anon if c is not primary and not _among(c, merge)),
        frozenset(record) if record else _NONE,
        frozenset(replaces) if replaces else _NONE,
        refused,
    )


# Ingestion asks once per message: a new contact's decision depends only on which
# identifiers are given.
_CREATE: dict[tuple[bool, ...], Decision] = {}


def _create(incoming: Incoming) -> Decision:
    decision = _decision(incoming, None, [], [], None)
    _CREATE[tuple(map(bool, incoming))] = decision
    return decision


def _id_of(candidate: Candidate) -> int:
    return candidate.id


def _among(candidate: Candidate, others: list[Candidate]) -> bool:
    return any(candidate is other for other in others)


def _compatible(contact: Candidate, external_id: str, email: str) -> bool:
    """True when `contact` has no identifier that says it is someone else."""
    if contact.external_id and external_id and contact.external_id != external_id:
        return False
    return not (contact.email and email and contact.email != email)


# --- normalisation ---------------------------------------------------------------------------


def identifier_clean(value: Any, field: str) -> str:
    """An external or anonymous id as stored: a string (a number is accepted), stripped,
    at most 255 characters; "" when not given. ValidationFailed naming `field` otherwise."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationFailed(f"{field}: must be a string.", fields={field: "must be a string"})
    value = value.strip()
    if len(value) > IDENTIFIER_MAX:
        raise ValidationFailed(
            f"{field}: at most {IDENTIFIER_MAX} characters.",
            fields={field: f"at most {IDENTIFIER_MAX} characters"},
        )
    return value


def incoming_clean(
    *,
    external_id: Any = None,
    email: Any = None,
    anonymous_id: Any = None,
    phone: Any = None,
    region: str | None = None,
) -> Incoming:
    """The identifiers of a call as the resolver compares them: email lower-cased and
    stripped (IDN domains in Unicode), phone in E.164 (`region`: the country a national
    number is read in), ids stripped. ValidationFailed naming the field for a bad one."""
    return Incoming(
        external_id=identifier_clean(external_id, "external_id"),
        email=email_normalize(email, field="email") if email not in (None, "") else "",
        anonymous_id=identifier_clean(anonymous_id, "anonymous_id"),
        phone=(
            phone_normalize(phone, field="phone", region=region) if phone not in (None, "") else ""
        ),
    )


__all__ = [
    "alias_resolve",
    "Candidate",
    "Decision",
    "Incoming",
    "identifier_clean",
    "identity_resolve",
    "incoming_clean",
]
