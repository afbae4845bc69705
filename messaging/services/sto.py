"""Send-time optimisation: deliver at each contact's best hour.

A contact's best hour is the hour of day (in their own time zone) at which they most often
opened or clicked our email in the last 180 days. Contacts with too little history get the
workspace's best hour. A small exploration share gets a random daytime hour (so the model
keeps learning rather than reinforcing its first guess), and a control share is sent at
the fixed time: the report compares the optimised sends with that control group.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.db.models.fields.json import KeyTextTransform

from contacts.models import Contact, Event
from workspaces.models import Workspace

from ..models import Broadcast, Message
from ..models.messages import SENT_STATUSES
from ..selectors import contact_zone

ENGAGEMENT = ("email.opened", "email.clicked")
HISTORY_DAYS = 180
MIN_EVENTS = 2  # below this, a contact's own history is not trusted
EXPLORE_HOURS = range(7, 22)
DEFAULT_HOUR = 10
WORKSPACE_SAMPLE = 20_000


@dataclass(frozen=True)
class Choice:
    send_after: datetime | None
    meta: dict[str, Any]


def _zones(workspace: Workspace, contact_ids: Sequence[int]) -> dict[int, ZoneInfo]:
    return {
        contact.pk: contact_zone(contact, workspace)
        for contact in Contact.objects.filter(workspace=workspace, pk__in=list(contact_ids)).only(
            "pk", "timezone"
        )
    }


def contact_best_hours(
    *, workspace: Workspace, contact_ids: Sequence[int], now: datetime
) -> dict[int, int]:
    """Each contact's most frequent engagement hour (local), for those with enough history."""
    zones = _zones(workspace, contact_ids)
    counts: dict[int, Counter[int]] = {}
    rows = Event.objects.filter(
        workspace=workspace,
        contact_id__in=list(contact_ids),
        name__in=ENGAGEMENT,
        timestamp__gte=now - timedelta(days=HISTORY_DAYS),
    ).values_list("contact_id", "timestamp")
    for contact_id, at in rows:
        zone = zones.get(contact_id)
        if zone is not None:
            counts.setdefault(contact_id, Counter())[at.astimezone(zone).hour] += 1
    best = {}
    for contact_id, hours in counts.items():
        if sum(hours.values()) >= MIN_EVENTS:
            # most frequent; ties go to the earlier hour so the choice is stable
            best[contact_id] = min(hours, key=lambda h: (-hours[h], h))
    return best


def workspace_best_hour(*, workspace: Workspace, now: datetime) -> int:
    rows = (
        Event.objects.filter(
            workspace=workspace,
            name__in=ENGAGEMENT,
            timestamp__gte=now - timedelta(days=HISTORY_DAYS),
        )
        .order_by("-timestamp")
        .values_list("timestamp", "contact__timezone")[:WORKSPACE_SAMPLE]
    )
    hours: Counter[int] = Counter()
    fallback = _zone(workspace.timezone)
    for at, zone_name in rows:
        hours[at.astimezone(_zone(zone_name) if zone_name else fallback).hour] += 1
    if not hours:
        return DEFAULT_HOUR
    return min(hours, key=lambda h: (-hours[h], h))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def next_local_hour(*, hour: int, zone: ZoneInfo, after: datetime) -> datetime:
    """The next hour:00 in `zone` at or after `after`."""
    local = after.astimezone(zone)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate < local:
        candidate += timedelta(days=1)
    # rebuild from the wall time so a DST change between the two days is honoured
    return candidate.replace(tzinfo=None).replace(tzinfo=zone)


def schedule(
    *, workspace: Workspace, broadcast: Broadcast, contact_ids: Sequence[int], now: datetime
) -> dict[int, Choice]:
    start = max(broadcast.scheduled_at or now, now)
    personal = contact_best_hours(workspace=workspace, contact_ids=contact_ids, now=now)
    fallback = workspace_best_hour(workspace=workspace, now=now)
    zones = _zones(workspace, contact_ids)
    control = broadcast.sto_control_percent / 100
    explore = broadcast.sto_explore_percent / 100
    window = timedelta(hours=broadcast.sto_window_hours or 24)
    choices = {}
    for contact_id in contact_ids:
        rng = random.Random(f"{broadcast.pk}:{contact_id}")
        draw = rng.random()
        if draw < control:
            choices[contact_id] = Choice(start, {"sto": "control"})
            continue
        if draw < control + explore:
            kind, hour = "explore", rng.choice(list(EXPLORE_HOURS))
        elif contact_id in personal:
            kind, hour = "contact", personal[contact_id]
        else:
            kind, hour = "workspace", fallback
        zone = zones.get(contact_id, ZoneInfo("UTC"))
        when = next_local_hour(hour=hour, zone=zone, after=start)
        if when - start > window:
            when = start
        choices[contact_id] = Choice(when, {"sto": kind, "sto_hour": hour})
    return choices


def sto_report(*, workspace: Workspace, broadcast: Broadcast | None = None) -> dict[str, Any]:
    """Open rates of optimised sends vs the fixed-time control group (and vs broadcasts that
    did not use STO at all)."""
    messages = Message.objects.filter(workspace=workspace, status__in=SENT_STATUSES).exclude(
        broadcast=None
    )
    if broadcast is not None:
        messages = messages.filter(broadcast=broadcast)
    rows = (
        messages.annotate(sto_kind=KeyTextTransform("sto", "meta"))
        .values("sto_kind")
        .annotate(sent=Count("id"), opened=Count("id", filter=Q(opened_at__isnull=False)))
    )
    groups = {"optimised": [0, 0], "control": [0, 0], "fixed": [0, 0]}
    by_kind = {}
    for row in rows:
        kind = row["sto_kind"]
        group = "control" if kind == "control" else "fixed" if kind is None else "optimised"
        groups[group][0] += row["sent"]
        groups[group][1] += row["opened"]
        if kind:
            by_kind[kind] = _rate(row["sent"], row["opened"])
    report: dict[str, Any] = {name: _rate(sent, opened) for name, (sent, opened) in groups.items()}
    report["by_kind"] = by_kind
    optimised, control = report["optimised"]["open_rate"], report["control"]["open_rate"]
    report["lift"] = (optimised - control) / control if control else None
    return report


def _rate(sent: int, opened: int) -> dict[str, Any]:
    return {"sent": sent, "opened": opened, "open_rate": opened / sent if sent else 0.0}
