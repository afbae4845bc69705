"""Reads of the deliverability guard (docs/deliverability.md): complaint and hard-bounce rates
per workspace, sending domain, broadcast and workflow, and the holds it made. Other apps read
them through messaging.selectors, which re-exports every public name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from workspaces.models import Workspace

from .models import Broadcast, SendingHold

# --- the deliverability guard (docs/deliverability.md) ---------------------------------------


@dataclass(frozen=True)
class Health:
    """Complaint and hard-bounce rates of one scope's email handed to a provider in a window:
    the workspace, a sending domain, a broadcast or a workflow (`key`: the domain or id)."""

    scope: str
    key: str
    volume: int  # messages accepted by the provider or bounced by it
    hard_bounces: int
    complaints: int
    name: str = ""

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.volume if self.volume else 0.0

    @property
    def hard_bounce_rate(self) -> float:
        return self.hard_bounces / self.volume if self.volume else 0.0

    @property
    def enough(self) -> bool:
        return self.volume >= settings.MESSAGING_GUARD_MIN_VOLUME

    @property
    def complaint_level(self) -> str:
        return _level(
            self.complaint_rate,
            settings.MESSAGING_GUARD_COMPLAINT_AMBER,
            settings.MESSAGING_GUARD_COMPLAINT_RED,
            self.enough,
        )

    @property
    def bounce_level(self) -> str:
        return _level(
            self.hard_bounce_rate,
            settings.MESSAGING_GUARD_HARD_BOUNCE_AMBER,
            settings.MESSAGING_GUARD_HARD_BOUNCE_RED,
            self.enough,
        )

    @property
    def level(self) -> str:
        """red, amber, green — or low_volume below MESSAGING_GUARD_MIN_VOLUME messages."""
        levels = {self.complaint_level, self.bounce_level}
        return next(level for level in ("red", "amber", "green", "low_volume") if level in levels)

    def reason(self) -> str:
        parts = []
        if self.complaint_level in ("red", "amber"):
            parts.append(
                f"complaint rate {self.complaint_rate:.2%} ({self.complaints} of {self.volume})"
            )
        if self.bounce_level in ("red", "amber"):
            parts.append(
                f"hard bounce rate {self.hard_bounce_rate:.2%} ({self.hard_bounces} of {self.volume})"
            )
        return "; ".join(parts)


def _level(rate: float, amber: float, red: float, enough: bool) -> str:
    if not enough:
        return "low_volume"
    return "red" if rate >= red else "amber" if rate >= amber else "green"


_GUARDED = """
  m.workspace_id = %(workspace)s AND m.provider_called_at >= %(since)s AND m.channel = 'email'
  AND m.source_type IN ('broadcast', 'workflow') AND m.status IN ('sent', 'delivered', 'bounced')
"""
_COUNTS = """count(*), count(*) FILTER (WHERE m.status = 'bounced' AND m.meta->>'bounce' = 'hard'),
  count(m.complained_at)"""

_HEALTH_SQL = f"""
SELECT CASE WHEN grouping(m.sending_domain) = 0 THEN 'domain'
            WHEN grouping(m.source_type) = 0 THEN m.source_type ELSE 'workspace' END,
       CASE WHEN grouping(m.sending_domain) = 0 THEN m.sending_domain
            WHEN grouping(m.source_type) = 0 THEN m.source_owner ELSE '' END,
       {_COUNTS}
FROM messaging_message m
WHERE {_GUARDED}
GROUP BY GROUPING SETS ((), (m.sending_domain), (m.source_type, m.source_owner))
"""  # noqa: S608 (constant fragments, no input)

_SOURCE_HEALTH_SQL = f"""
SELECT {_COUNTS} FROM messaging_message m
WHERE {_GUARDED} AND m.source_type = %(source_type)s AND m.source_owner = %(owner)s
"""  # noqa: S608 (constant fragments, no input)


def guard_since(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=settings.MESSAGING_GUARD_WINDOW_DAYS)


def deliverability_health(
    *, workspace: Workspace, now: dt.datetime | None = None
) -> dict[str, list[Health]]:
    """The workspace's, each sending domain's, broadcast's and workflow's rates over the
    guard's window, in one query: {"workspace": [one], "domain": […], "broadcast": […],
    "workflow": […]}, worst first. Broadcasts are named; workflows carry the name their
    messages were sent under."""
    with connection.cursor() as cursor:
        cursor.execute(_HEALTH_SQL, {"workspace": workspace.pk, "since": guard_since(now)})
        rows = cursor.fetchall()
    found: dict[str, list[Health]] = {
        "workspace": [],
        "domain": [],
        "broadcast": [],
        "workflow": [],
    }
    for scope, key, volume, hard, complaints in rows:
        if scope in ("broadcast", "workflow") and not key:
            continue  # messages from before sources were recorded
        found[scope].append(Health(scope, key or "", volume, hard, complaints))
    if not found["workspace"]:
        found["workspace"].append(Health("workspace", "", 0, 0, 0))
    names = source_names(
        workspace=workspace, keys=[(h.scope, h.key) for h in found["broadcast"] + found["workflow"]]
    )
    order = {"red": 0, "amber": 1, "green": 2, "low_volume": 3}
    for scope in ("domain", "broadcast", "workflow"):
        found[scope] = sorted(
            (
                Health(
                    h.scope,
                    h.key,
                    h.volume,
                    h.hard_bounces,
                    h.complaints,
                    names.get((h.scope, h.key), h.key),
                )
                for h in found[scope]
            ),
            key=lambda h: (order[h.level], -h.volume),
        )
    return found


def source_health(
    *, workspace: Workspace, source_type: str, owner: str, since: dt.datetime
) -> Health:
    """One broadcast's or workflow's rates over its messages handed over since `since`."""
    with connection.cursor() as cursor:
        cursor.execute(
            _SOURCE_HEALTH_SQL,
            {"workspace": workspace.pk, "since": since, "source_type": source_type, "owner": owner},
        )
        volume, hard, complaints = cursor.fetchone()
    return Health(source_type, owner, volume, hard, complaints)


def source_names(
    *, workspace: Workspace, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Names of broadcasts (their own) and workflows (as their last message's context says)."""
    keys = list(keys)
    broadcasts = [int(key) for scope, key in keys if scope == "broadcast" and key.isdigit()]
    workflows = [key for scope, key in keys if scope == "workflow"]
    names: dict[tuple[str, str], str] = {
        ("broadcast", str(pk)): name
        for pk, name in Broadcast.objects.filter(
            workspace=workspace, pk__in=broadcasts
        ).values_list("pk", "name")
    }
    if workflows:
        with connection.cursor() as cursor:
            cursor.execute(_WORKFLOW_NAMES_SQL, {"workspace": workspace.pk, "owners": workflows})
            for owner, name in cursor.fetchall():
                names[("workflow", owner)] = name or f"Workflow {owner}"
    return names


# Any one message of the workflow says its name (workflows put it in the context).
_WORKFLOW_NAMES_SQL = """
SELECT o.owner, (SELECT m.context->'workflow'->>'name' FROM messaging_message m
                 WHERE m.workspace_id = %(workspace)s AND m.source_type = 'workflow'
                   AND m.source_owner = o.owner LIMIT 1)
FROM unnest(%(owners)s::text[]) AS o(owner)
"""


def sending_holds_active(*, workspace: Workspace) -> QuerySet[SendingHold]:
    """Held broadcasts and workflows, newest first."""
    return SendingHold.objects.filter(workspace=workspace, released_at__isnull=True).order_by(
        "-created_at"
    )


def sending_hold_for(*, workspace: Workspace, source_type: str, owner: Any) -> SendingHold | None:
    """The active hold on this broadcast or workflow, if any (its page shows it)."""
    return (
        sending_holds_active(workspace=workspace)
        .filter(source_type=source_type, source_owner=str(owner))
        .first()
    )


def held_sources(*, workspace: Workspace) -> set[tuple[str, str]]:
    """(source type, owner) of every held source: what the send task does not send."""
    return set(sending_holds_active(workspace=workspace).values_list("source_type", "source_owner"))


SENDING_HEALTH_HEADER = ["scope", "key", "name", "messages", "complaints", "complaint_rate",
                         "hard_bounces", "hard_bounce_rate", "level"]  # fmt: skip


def sending_health_table(*, workspace: Workspace) -> tuple[list[str], list[list[Any]]]:
    """The Sending health table (every scope's volume, rates and level): the header and rows
    of the deliverability CSV, which /api/v1/analytics/deliverability/ answers too."""
    health = deliverability_health(workspace=workspace)
    rows = [
        [h.scope, h.key, h.name or h.key, h.volume, h.complaints, h.complaint_rate,
         h.hard_bounces, h.hard_bounce_rate, h.level]
        for scope in ("workspace", "domain", "broadcast", "workflow")
        for h in health[scope]
    ]  # fmt: skip
    return list(SENDING_HEALTH_HEADER), rows


def deliverability_overview(*, workspace: Workspace) -> dict[str, Any]:
    """The health panel (Messages › Deliverability and the analytics dashboard): every
    scope's rates (`health`), the workspace's (`overall`) and the active holds, named."""
    health = deliverability_health(workspace=workspace)
    holds = list(sending_holds_active(workspace=workspace))
    names = source_names(
        workspace=workspace, keys=[(hold.source_type, hold.source_owner) for hold in holds]
    )
    for hold in holds:
        hold.source_name = names.get((hold.source_type, hold.source_owner), hold.source_owner)  # type: ignore[attr-defined]
    return {
        "health": health,
        "overall": health["workspace"][0],
        "holds": holds,
        "guard": {
            "window_days": settings.MESSAGING_GUARD_WINDOW_DAYS,
            "min_volume": settings.MESSAGING_GUARD_MIN_VOLUME,
            "complaint_amber": settings.MESSAGING_GUARD_COMPLAINT_AMBER,
            "complaint_red": settings.MESSAGING_GUARD_COMPLAINT_RED,
            "bounce_amber": settings.MESSAGING_GUARD_HARD_BOUNCE_AMBER,
            "bounce_red": settings.MESSAGING_GUARD_HARD_BOUNCE_RED,
        },
    }
