"""What ingestion rejected or corrected, kept per workspace for its "Data issues" page.

Bounded by construction: one DataIssue row per (workspace, kind, field) with a counter,
first/last seen and a ring of the SAMPLES newest samples, bumped by **one** upsert per
request that had issues (nothing at all for a clean request, so the hot path is untouched).
Fields are normalised so client-chosen names cannot multiply the rows: the batch index goes
(`batch[3].traits.email` → `traits.email`), a path is cut to its first name — to its first
two for a known trait — and an unknown first name becomes `other`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import connection

from contacts.models import DataIssue
from contacts.services.traits import CONSENT_TRAITS, FIELD_TRAITS
from workspaces.models import Workspace

SAMPLES = 5
_TEXT_MAX = 200
_VALUE_MAX = 120
# The names a message has at its top level (parsing.py); anything else is "other".
_MESSAGE_FIELDS = frozenset(
    {
        "type",
        "userId",
        "anonymousId",
        "messageId",
        "event",
        "name",
        "category",
        "properties",
        "traits",
        "context",
        "integrations",
        "timestamp",
        "originalTimestamp",
        "sentAt",
        "previousId",
        "groupId",
        "body",
        "batch",
        "Content-Encoding",
    }
)
_KNOWN_TRAITS = frozenset({*FIELD_TRAITS, *CONSENT_TRAITS, "name", "company", "address", "tags"})
_BATCH_PREFIX = re.compile(r"^batch\[\d+\]\.?")
_SPLIT = re.compile(r"[.\[]")


@dataclass(frozen=True, slots=True)
class Issue:
    kind: str  # nul_character, too_deep, invalid_trait, attribute_limit …
    field: str  # as reported to the client: batch[3].traits.email
    message: str
    action: str = DataIssue.Action.REJECTED
    value: Any = None


def issue_field_key(field: str) -> str:
    """The row a reported field is counted in (see the module docstring)."""
    path = _BATCH_PREFIX.sub("", field) or "batch"
    parts = _SPLIT.split(path, maxsplit=2)
    head = parts[0] if parts[0] in _MESSAGE_FIELDS else "other"
    if head == "traits" and len(parts) > 1:
        second = parts[1]
        return f"traits.{second}" if second in _KNOWN_TRAITS else "traits.*"
    return head


def _excerpt(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    text = text.replace("\x00", "\\u0000")  # jsonb refuses NUL; show it as the client wrote it
    return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 1] + "…"


_UPSERT = """
INSERT INTO contacts_dataissue
    (workspace_id, kind, field, action, count, first_seen_at, last_seen_at, samples,
     created_at, updated_at)
SELECT %(ws)s, r.k, r.f, r.a, r.n, %(at)s, %(at)s, r.s, %(at)s, %(at)s
  FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(k text, f text, a text, n bigint, s jsonb)
 ORDER BY r.k, r.f
ON CONFLICT (workspace_id, kind, field) DO UPDATE SET
    count = contacts_dataissue.count + EXCLUDED.count,
    action = EXCLUDED.action,
    last_seen_at = GREATEST(contacts_dataissue.last_seen_at, EXCLUDED.last_seen_at),
    samples = (
        SELECT coalesce(jsonb_agg(t.e ORDER BY t.i), '[]'::jsonb)
          FROM (SELECT e, i FROM jsonb_array_elements(EXCLUDED.samples || contacts_dataissue.samples)
                    WITH ORDINALITY AS x(e, i)
                 ORDER BY i LIMIT %(samples)s) AS t),
    updated_at = EXCLUDED.updated_at
"""


def data_issues_record(
    *, workspace: Workspace, issues: Iterable[Issue], source: str, at: datetime
) -> None:
    """Count `issues` against the workspace: one statement, whatever their number."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for issue in issues:
        key = (issue.kind[:40], issue_field_key(issue.field)[:120])
        row = rows.setdefault(key, {"k": key[0], "f": key[1], "a": issue.action, "n": 0, "s": []})
        row["n"] += 1
        if len(row["s"]) < SAMPLES:
            row["s"].insert(
                0,
                {
                    "at": at.isoformat(),
                    "field": _excerpt(issue.field[:_TEXT_MAX]),
                    "message": _excerpt(issue.message[:_TEXT_MAX]),
                    "value": _excerpt(issue.value),
                    "source": source[:32],
                },
            )
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT,
            {
                "ws": workspace.pk,
                "at": at,
                "rows": orjson.dumps(list(rows.values())).decode(),
                "samples": SAMPLES,
            },
        )


def data_issue_dismiss(*, issue: DataIssue) -> None:
    """Forget an issue (fixed in the integration); it starts again at its next occurrence."""
    issue.delete()


__all__ = ["Issue", "data_issue_dismiss", "data_issues_record", "issue_field_key"]
