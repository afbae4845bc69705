"""Reading Segment HTTP Tracking API calls: body limits, gzip, JSON, and per-message validation.

Pure functions, no database: the view calls `read_body` then `parse_call` / `parse_batch`,
and hands the valid `Message`s to `contacts.services.ingest.ingest_messages`.

Field names in errors are paths as the client sent them: `event`, `traits.phone` for a
single call, `batch[3].event` inside a batch.

Each type's fields (ids, names, objects, how many keys) are declared once as a pydantic
model (`_Track`, `_Page`, `_Identify`, `_Group`, `_Alias`); its first error becomes the
field's message. What a schema does not say — the tree checks below, Segment's timestamp
semantics, the page defaults — stays code.

What PostgreSQL or the pipeline could not take is refused here, before anything is written
(docs/security.md, "Ingestion input"): a NUL character in any string or key (jsonb and text
refuse it), nesting deeper than INGEST_MAX_DEPTH, more than INGEST_MAX_KEYS traits or
properties, a string or key longer than INGEST_MAX_STRING_LENGTH, and
timestamps outside 1970 … now + 1 day once the clock skew is removed. A trait that is well
formed but not valid (an email, a phone number, a time zone …) does not refuse the message:
it is left out and reported as a `Correction`.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from django.conf import settings
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from contacts.services.traits import TraitProblem, traits_clean
from workspaces.errors import ValidationFailed

KB = 1024
CALL_LIMIT = 32 * KB  # Segment: 32 KB per call (and per message inside a batch)
BATCH_LIMIT = 500 * KB  # Segment: 500 KB per batch request
TYPES = ("identify", "track", "page", "screen", "group", "alias")
NAME_MAX = 200
ID_MAX = 255
MESSAGE_ID_MAX = 200
# A client clock can be wrong, but an event from the far future is a bug; Segment
# likewise refuses to trust timestamps beyond a day ahead.
FUTURE_TOLERANCE = timedelta(days=1)
# Nothing a tracking library sends happened before the epoch: earlier is a broken clock or
# a zero value, and it would sort (and partition) an event where nobody looks for it.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class PayloadTooLarge(ValidationFailed):
    code = "payload_too_large"


@dataclass(slots=True)
class Message:
    """One valid Segment message, normalised."""

    index: int  # position in the batch (0 for a single call)
    type: str
    message_id: str
    user_id: str
    anonymous_id: str
    name: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    previous_id: str = ""
    group_id: str = ""
    corrections: list[Correction] = field(default_factory=list)

    def left_out(self, problems: list[TraitProblem], prefix: str) -> None:
        """Traits left out of this message (the rest is stored), reported to the client."""
        self.corrections.extend(
            Correction(
                index=self.index,
                field=f"{prefix}{problem.field}",
                message=f"{problem.message}; left out, the rest of the message was stored",
                kind=problem.kind,
                value=problem.value,
            )
            for problem in problems
        )


@dataclass(slots=True)
class Correction:
    """A part of a stored message that was left out (an invalid trait …), reported back."""

    index: int
    field: str
    message: str
    kind: str
    value: Any = None

    def as_dict(self, *, batch: bool) -> dict[str, Any]:
        body = {"field": self.field, "message": self.message}
        return {"index": self.index, **body} if batch else body


@dataclass(slots=True)
class Rejected:
    index: int
    field: str
    message: str
    kind: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


# --- Body --------------------------------------------------------------------------------


def read_body(*, raw: bytes, encoding: str, limit: int, what: str) -> Any:
    """Decompress (gzip/deflate) and parse the JSON body, refusing anything over `limit`."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 47 if encoding != "deflate" else 15  # 47: gzip or zlib header, auto-detected
        try:
            inflater = zlib.decompressobj(wbits)
            data = inflater.decompress(raw, limit + 1)
        except zlib.error:
            raise ValidationFailed(
                f"body: not valid {encoding} data.", fields={"body": f"invalid {encoding}"}
            )
    elif encoding == "identity":
        data = raw
    else:
        raise ValidationFailed(
            f"Content-Encoding: '{encoding}' is not supported (use gzip or none).",
            fields={"Content-Encoding": "unsupported"},
        )
    if len(data) > limit:
        raise too_large(what, limit)
    if not data.strip():
        raise ValidationFailed("body: empty; send a JSON object.", fields={"body": "empty"})
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ValidationFailed(
            f"body: not valid JSON ({error}).", fields={"body": "not valid JSON"}
        )


def too_large(what: str, limit: int) -> PayloadTooLarge:
    message = f"{what} is larger than {limit // KB} KB, the limit for {what}."
    return PayloadTooLarge(message, fields={"body": f"over the {limit // KB} KB limit"})


# --- Messages ----------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, field: str, message: str, kind: str = "invalid"):
        self.field = field
        self.message = message
        self.kind = kind


class InvalidCall(ValidationFailed):
    """A single call refused; `kind` classifies it for the data issues page."""

    def __init__(self, invalid: _Invalid):
        super().__init__(
            f"{invalid.field}: {invalid.message}", fields={invalid.field: invalid.message}
        )
        self.kind = invalid.kind


def parse_call(payload: Any, *, type: str, received_at: datetime) -> Message:
    """A single /v1/<type> call; raises ValidationFailed naming the field."""
    if not isinstance(payload, dict):
        raise ValidationFailed("body: must be a JSON object.", fields={"body": "not an object"})
    try:
        _check_tree(payload, "", settings.INGEST_MAX_DEPTH, settings.INGEST_MAX_STRING_LENGTH)
        return _message(payload, 0, "", type, payload.get("sentAt"), received_at)
    except _Invalid as invalid:
        raise InvalidCall(invalid)


def parse_batch(
    payload: Any, *, received_at: datetime, check_sizes: bool
) -> tuple[list[Message], list[Rejected]]:
    """A /v1/batch body: the valid messages and the rejected ones by index.

    A malformed envelope (no `batch` list) raises ValidationFailed; bad items do not.
    `check_sizes` measures each item against the 32 KB per-message limit (only needed
    when the whole body is larger than that).
    """
    if not isinstance(payload, dict):
        raise ValidationFailed("body: must be a JSON object.", fields={"body": "not an object"})
    items = payload.get("batch")
    if not isinstance(items, list):
        raise ValidationFailed(
            "batch: required, a list of messages.", fields={"batch": "required, a list"}
        )
    sent_at = payload.get("sentAt")
    shared_context = payload.get("context")
    depth, longest = settings.INGEST_MAX_DEPTH, settings.INGEST_MAX_STRING_LENGTH
    try:
        # once, not in every item it fills
        _check_tree({"context": shared_context}, "", depth, longest)
    except _Invalid as invalid:
        raise InvalidCall(invalid)
    messages: list[Message] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        prefix = f"batch[{index}]"
        try:
            if not isinstance(item, dict):
                raise _Invalid(prefix, "must be an object")
            serialized = _serialized(item)
            if check_sizes and len(serialized) > CALL_LIMIT:
                raise _Invalid(
                    prefix, f"message is larger than {CALL_LIMIT // KB} KB, the limit per message"
                )
            _check_tree(item, prefix + ".", depth, longest, serialized)
            if isinstance(shared_context, dict) and "context" not in item:
                item = {**item, "context": shared_context}
            item_type = item.get("type")
            if item_type not in TYPES:
                what = "required" if item_type in (None, "") else f"unknown type '{item_type}'"
                raise _Invalid(f"{prefix}.type", f"{what}; one of {', '.join(TYPES)}")
            messages.append(
                _message(
                    item, index, f"{prefix}.", item_type, item.get("sentAt", sent_at), received_at
                )
            )
        except _Invalid as invalid:
            rejected.append(Rejected(index, invalid.field, invalid.message, invalid.kind))
    return messages, rejected


class _Bad(Exception):
    """Raised deep inside _walk; each level adds its key on the way out (no path strings
    are built for the valid majority)."""

    def __init__(self, message: str, kind: str):
        self.message = message
        self.kind = kind
        self.path: list[str] = []


def _check_tree(
    item: dict[str, Any], prefix: str, depth: int, longest: int, serialized: bytes | None = None
) -> None:
    """Refuse what cannot be stored: NUL characters, nesting beyond `depth`
    (INGEST_MAX_DEPTH), strings and keys beyond `longest` (INGEST_MAX_STRING_LENGTH).
    `prefix` ends with "." (or is empty).

    Most messages are cleared without the walk, from their JSON text (orjson, in C): no
    `\\u0000` in it (orjson writes NUL only that way), no more brackets than `depth` (an
    upper bound of the nesting), not longer than `longest` (nor than any string in it).
    The walk then finds the field — or finds nothing (a literal "\\u0000" in a string)."""
    text = _serialized(item) if serialized is None else serialized
    if (
        len(text) <= longest
        and b"\\u0000" not in text
        and text.count(b"{") + text.count(b"[") <= depth
    ):
        return
    try:
        _walk(item, depth, longest)
    except _Bad as bad:
        path = "".join(reversed(bad.path)).lstrip(".")
        where = f"{prefix}{path}" if path else prefix.rstrip(".") or "body"
        if bad.kind == "too_deep":
            bad.message = f"nested more than {settings.INGEST_MAX_DEPTH} levels deep"
        raise _Invalid(where, bad.message, bad.kind)


def _serialized(item: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:  # nested past orjson's own limit (254): walk it
        return b"\\u0000"


def _walk(value: dict[str, Any] | list[Any], depth: int, longest: int) -> None:
    # The hot path of every message: containers recurse, strings are checked in the loop
    # (no call per value), numbers, booleans and null cost one class test.
    if depth == 0:  # an object or a list one level too deep
        raise _Bad("", "too_deep")
    if value.__class__ is dict:
        for key in value:
            if len(key) > longest:
                raise _Bad(f"a key is longer than {longest} characters", "string_too_long")
            if "\x00" in key:  # named by the object that holds it
                raise _Bad("a key contains " + NUL_MESSAGE, "nul_character")
        items: Any = value.items()
    else:
        items = enumerate(value)
    for key, sub in items:
        kind = sub.__class__
        if kind is str:
            if len(sub) > longest:
                bad = _Bad(f"longer than {longest} characters", "string_too_long")
            elif "\x00" in sub:
                bad = _Bad(NUL_MESSAGE, "nul_character")
            else:
                continue
        elif kind is dict or kind is list:
            try:
                _walk(sub, depth - 1, longest)
                continue
            except _Bad as deeper:
                bad = deeper
        else:
            continue
        bad.path.append(f".{key}" if isinstance(key, str) else f"[{key}]")
        raise bad


NUL_MESSAGE = "a NUL character (\\u0000), which cannot be stored"
_SCALARS = frozenset({int, float, bool, type(None)})


# --- Each type's fields, declared -----------------------------------------------------------


def _numeric_id(value: Any) -> Any:
    """Segment accepts numeric ids and stores them as strings."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _at_most_keys(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Traits or properties: at most INGEST_MAX_KEYS keys."""
    limit = settings.INGEST_MAX_KEYS
    if value is not None and len(value) > limit:
        raise PydanticCustomError(
            "too_many_keys",
            "{count} keys; at most {limit} per call (INGEST_MAX_KEYS)",
            {"count": len(value), "limit": limit},
        )
    return value


_Id = Annotated[
    Annotated[str, StringConstraints(max_length=ID_MAX)] | None, BeforeValidator(_numeric_id)
]
_Name = Annotated[str, StringConstraints(max_length=NAME_MAX)] | None
_Object = InstanceOf[dict] | None  # type: ignore[type-arg]  # checked, not copied
_Keyed = Annotated[_Object, AfterValidator(_at_most_keys)]


class _Call(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    user_id: _Id = Field(None, alias="userId")
    anonymous_id: _Id = Field(None, alias="anonymousId")
    message_id: Annotated[str, StringConstraints(max_length=MESSAGE_ID_MAX)] | None = Field(
        None, alias="messageId"
    )
    context: _Object = None


class _Track(_Call):
    event: _Name = None
    properties: _Keyed = None


class _Page(_Call):
    name: _Name = None
    properties: _Keyed = None


class _Identify(_Call):
    traits: _Object = None  # or context.traits; counted once chosen


class _Group(_Call):
    group_id: _Id = Field(None, alias="groupId")
    traits: _Keyed = None


class _Alias(_Call):
    previous_id: _Id = Field(None, alias="previousId")


_SCHEMAS: dict[str, type[_Call]] = {
    "track": _Track,
    "page": _Page,
    "screen": _Page,
    "identify": _Identify,
    "group": _Group,
    "alias": _Alias,
}
# pydantic's error type → our message (types not listed keep the error's own message)
_MESSAGES = {
    "string_type": "must be a string",
    "is_instance_of": "must be an object",
    "string_too_long": "at most {max_length} characters",
}


def _fields(item: dict[str, Any], prefix: str, type: str) -> Any:
    """The message's fields as its type declares them; the first error names its field."""
    try:
        return _SCHEMAS[type].model_validate(item)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = str(first["loc"][0])
        if field == "messageId":
            message = f"must be a string of at most {MESSAGE_ID_MAX} characters"
        else:
            message = _MESSAGES.get(first["type"], first["msg"]).format(**first.get("ctx", {}))
        kind = "too_many_keys" if first["type"] == "too_many_keys" else "invalid"
        raise _Invalid(f"{prefix}{field}", message, kind)


# --- Messages, normalised -------------------------------------------------------------------


def _message(
    item: dict[str, Any],
    index: int,
    prefix: str,
    type: str,
    sent_at: Any,
    received_at: datetime,
) -> Message:
    fields = _fields(item, prefix, type)
    user_id, anonymous_id = fields.user_id or "", fields.anonymous_id or ""
    message = Message(
        index=index,
        type=type,
        # without one, as Segment does (such a call cannot be deduplicated)
        message_id=fields.message_id or f"tendril-{uuid.uuid4()}",
        user_id=user_id,
        anonymous_id=anonymous_id,
        context=fields.context or {},
        timestamp=_timestamp(item, prefix, sent_at, received_at),
    )
    if type == "alias":
        message.previous_id = fields.previous_id or ""
        if not message.previous_id:
            raise _Invalid(f"{prefix}previousId", "required for alias")
        if not user_id:
            raise _Invalid(f"{prefix}userId", "required for alias")
        message.properties = {"previousId": message.previous_id}
        return message
    if not (user_id or anonymous_id):
        raise _Invalid(f"{prefix}userId", "userId or anonymousId is required")
    if type == "track":
        if not fields.event:
            raise _Invalid(f"{prefix}event", "required for track")
        message.name = fields.event
        message.properties = fields.properties or {}
    elif type in ("page", "screen"):
        message.name = fields.name or ""
        message.properties = fields.properties or {}
        category = item.get("category")
        if isinstance(category, str) and category and "category" not in message.properties:
            message.properties["category"] = category
        if type == "page":
            _page_defaults(message)
    elif type == "identify":
        message.traits = _traits(item, fields.traits, prefix, message)
        message.properties = message.traits
    elif type == "group":
        message.group_id = fields.group_id or ""
        if not message.group_id:
            raise _Invalid(f"{prefix}groupId", "required for group")
        message.properties = {"groupId": message.group_id, "traits": fields.traits or {}}
    return message


def _traits(
    item: dict[str, Any], traits: dict[str, Any] | None, prefix: str, message: Message
) -> dict[str, Any]:
    """The identify's traits without the ones that fail validation (each reported in
    `message.corrections`): a bad phone number does not lose the name and plan with it."""
    if traits is None:
        context = item.get("context")
        if isinstance(context, dict):
            traits = context.get("traits")  # Segment reads them there too
    if traits is not None and not isinstance(traits, dict):
        raise _Invalid(f"{prefix}traits", _MESSAGES["is_instance_of"])
    try:
        traits = _at_most_keys(traits)
    except PydanticCustomError as error:
        raise _Invalid(f"{prefix}traits", str(error), "too_many_keys")
    clean, problems = traits_clean(traits or {})
    message.left_out(problems, prefix)
    return clean


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _timestamp(item: dict[str, Any], prefix: str, sent_at: Any, received_at: datetime) -> datetime:
    """Segment's semantics: `timestamp` (or `originalTimestamp`) is the client's time of the
    call; when the client also says when it sent the call (`sentAt`), the client clock's
    skew is removed: timestamp = receivedAt - (sentAt - originalTimestamp).
    Without a timestamp the event happened when it was received."""
    raw = item.get("timestamp") or item.get("originalTimestamp")
    if raw in (None, ""):
        return received_at
    where = f"{prefix}timestamp" if item.get("timestamp") else f"{prefix}originalTimestamp"
    original = _parse_time(raw)
    if original is None:
        raise _Invalid(where, "not an ISO-8601 date-time")
    sent = _parse_time(sent_at)
    try:
        timestamp = received_at - (sent - original) if sent is not None else original
        timestamp = timestamp.astimezone(UTC)  # year 1 at +01:00 is year 0 in UTC
    except OverflowError:
        raise _Invalid(
            where,
            "out of range once the clock skew (sentAt − timestamp) is removed"
            if sent is not None
            else "out of range",
            "timestamp_out_of_range",
        )
    if timestamp > received_at + FUTURE_TOLERANCE:
        raise _Invalid(where, "more than a day in the future", "timestamp_out_of_range")
    if timestamp < EARLIEST:
        skew = " once the clock skew (sentAt − timestamp) is removed" if sent is not None else ""
        raise _Invalid(where, f"before 1970{skew}", "timestamp_out_of_range")
    return timestamp


def _page_defaults(message: Message) -> None:
    """Fill page properties from context.page (analytics.js sends both) and UTM → campaign."""
    page = message.context.get("page")
    props = message.properties
    if isinstance(page, dict):
        for key in ("path", "url", "referrer", "title", "search"):
            if key not in props and page.get(key):
                props[key] = page[key]
    url = props.get("url")
    if "campaign" not in message.context and isinstance(url, str) and "utm_" in url:
        campaign = campaign_from_url(url)
        if campaign:
            message.context["campaign"] = campaign
    if "path" not in props and isinstance(url, str):
        props["path"] = urlsplit(url).path or "/"


def campaign_from_url(url: str) -> dict[str, str]:
    """utm_source=… → {"source": …}, as analytics.js builds context.campaign
    (utm_campaign becomes `name`)."""
    campaign = {}
    for key, value in parse_qsl(urlsplit(url).query):
        if key.startswith("utm_") and value:
            name = key[4:]
            campaign["name" if name == "campaign" else name] = value
    return campaign
