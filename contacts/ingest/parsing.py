"""Reading Segment HTTP Tracking API calls: body limits, gzip, JSON, and per-message validation.

Pure functions, no database: the view calls `read_body` then `parse_call` / `parse_batch`,
and hands the valid `Message`s to `contacts.services.ingest.ingest_messages`.

Field names in errors are paths as the client sent them: `event`, `traits.phone` for a
single call, `batch[3].event` inside a batch.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from contacts.services.traits import traits_to_fields
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


@dataclass(slots=True)
class Rejected:
    index: int
    field: str
    message: str

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
    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message


def parse_call(payload: Any, *, type: str, received_at: datetime) -> Message:
    """A single /v1/<type> call; raises ValidationFailed naming the field."""
    if not isinstance(payload, dict):
        raise ValidationFailed("body: must be a JSON object.", fields={"body": "not an object"})
    try:
        return _message(payload, 0, "", type, payload.get("sentAt"), received_at)
    except _Invalid as invalid:
        raise ValidationFailed(
            f"{invalid.field}: {invalid.message}", fields={invalid.field: invalid.message}
        )


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
    messages: list[Message] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        prefix = f"batch[{index}]"
        try:
            if not isinstance(item, dict):
                raise _Invalid(prefix, "must be an object")
            if check_sizes and len(orjson.dumps(item)) > CALL_LIMIT:
                raise _Invalid(
                    prefix, f"message is larger than {CALL_LIMIT // KB} KB, the limit per message"
                )
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
            rejected.append(Rejected(index, invalid.field, invalid.message))
    return messages, rejected


def _message(
    item: dict[str, Any],
    index: int,
    prefix: str,
    type: str,
    sent_at: Any,
    received_at: datetime,
) -> Message:
    user_id = _id(item.get("userId"), f"{prefix}userId")
    anonymous_id = _id(item.get("anonymousId"), f"{prefix}anonymousId")
    message_id = item.get("messageId")
    if message_id in (None, ""):
        message_id = (
            f"tendril-{uuid.uuid4()}"  # as Segment does; such a call cannot be deduplicated
        )
    elif not isinstance(message_id, str) or len(message_id) > MESSAGE_ID_MAX:
        raise _Invalid(
            f"{prefix}messageId", f"must be a string of at most {MESSAGE_ID_MAX} characters"
        )
    context = _object(item.get("context"), f"{prefix}context")
    message = Message(
        index=index,
        type=type,
        message_id=message_id,
        user_id=user_id,
        anonymous_id=anonymous_id,
        context=context,
        timestamp=_timestamp(item, prefix, sent_at, received_at),
    )
    if type == "alias":
        message.previous_id = _id(item.get("previousId"), f"{prefix}previousId")
        if not message.previous_id:
            raise _Invalid(f"{prefix}previousId", "required for alias")
        if not user_id:
            raise _Invalid(f"{prefix}userId", "required for alias")
        message.properties = {"previousId": message.previous_id}
        return message
    if not (user_id or anonymous_id):
        raise _Invalid(f"{prefix}userId", "userId or anonymousId is required")
    if type == "track":
        message.name = _name(item.get("event"), f"{prefix}event", required=True)
        message.properties = _object(item.get("properties"), f"{prefix}properties")
    elif type in ("page", "screen"):
        message.name = _name(item.get("name"), f"{prefix}name", required=False)
        message.properties = _object(item.get("properties"), f"{prefix}properties")
        category = item.get("category")
        if isinstance(category, str) and category and "category" not in message.properties:
            message.properties["category"] = category
        if type == "page":
            _page_defaults(message)
    elif type == "identify":
        message.traits = _traits(item, prefix)
        message.properties = message.traits
    elif type == "group":
        message.group_id = _id(item.get("groupId"), f"{prefix}groupId")
        if not message.group_id:
            raise _Invalid(f"{prefix}groupId", "required for group")
        traits = _object(item.get("traits"), f"{prefix}traits")
        message.properties = {"groupId": message.group_id, "traits": traits}
    return message


def _id(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # Segment accepts numeric ids and stores them as strings
    if not isinstance(value, str):
        raise _Invalid(where, "must be a string")
    if len(value) > ID_MAX:
        raise _Invalid(where, f"at most {ID_MAX} characters")
    return value


def _name(value: Any, where: str, *, required: bool) -> str:
    if value in (None, ""):
        if required:
            raise _Invalid(where, "required for track")
        return ""
    if not isinstance(value, str):
        raise _Invalid(where, "must be a string")
    if len(value) > NAME_MAX:
        raise _Invalid(where, f"at most {NAME_MAX} characters")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(where, "must be an object")
    return value


def _traits(item: dict[str, Any], prefix: str) -> dict[str, Any]:
    traits = item.get("traits")
    if traits is None:
        traits = (item.get("context") or {}).get("traits")  # Segment reads them there too
    traits = _object(traits, f"{prefix}traits")
    try:
        traits_to_fields(traits)  # validate now, so a bad trait rejects the message up front
    except ValidationFailed as error:
        where = next(iter(error.fields), "traits")
        raise _Invalid(f"{prefix}{where}", str(error.fields.get(where, error.message)))
    return traits


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
    original = _parse_time(raw)
    if original is None:
        where = "timestamp" if item.get("timestamp") else "originalTimestamp"
        raise _Invalid(f"{prefix}{where}", "not an ISO-8601 date-time")
    sent = _parse_time(sent_at)
    timestamp = received_at - (sent - original) if sent is not None else original
    if timestamp > received_at + FUTURE_TOLERANCE:
        raise _Invalid(f"{prefix}timestamp", "more than a day in the future")
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
