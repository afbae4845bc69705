"""Standard Webhooks (https://www.standardwebhooks.com/) signing, with the reference
`standardwebhooks` library: `webhook-id`, `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from standardwebhooks import Webhook

# Headers a node's config may not set: ours, and what the transport owns.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "user-agent",
    }
)


def body_of(payload: Any) -> bytes:
    """The exact bytes sent (and signed) for a payload: compact, sorted JSON."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def signed_headers(
    *, secret: str, message_id: str, timestamp: datetime, body: bytes
) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


def extra_headers(headers: dict[str, Any] | None) -> dict[str, str]:
    """A node's own headers, without the ones the signature and transport own."""
    return {
        str(k): str(v)
        for k, v in (headers or {}).items()
        if str(k).strip().lower() not in RESERVED_HEADERS
    }
