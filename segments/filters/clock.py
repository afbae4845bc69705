"""Turning date operators into plain comparisons, once, for both engines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from workspaces.models import Workspace

from .nodes import Clock, FieldCond
from .schema import FieldType, Op


def workspace_zone(workspace: Workspace) -> ZoneInfo:
    try:
        return ZoneInfo(workspace.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def make_clock(workspace: Workspace, now: datetime | None = None) -> Clock:
    return Clock(now=now or timezone.now(), tz=workspace_zone(workspace))


@dataclass(frozen=True)
class TimeTest:
    """Either comparisons that must all hold, or 'month-day is one of'."""

    comparisons: tuple[tuple[str, date | datetime], ...] = ()  # ("lt"|"lte"|"gt"|"gte", v)
    month_days: tuple[str, ...] | None = None


def time_test(cond: FieldCond, clock: Clock) -> TimeTest:
    op, value = cond.op, cond.value
    if op in (Op.ANNIVERSARY_WITHIN_DAYS, Op.ANNIVERSARY_THIS_MONTH):
        return TimeTest(month_days=clock.anniversaries(op, value))
    if cond.spec.type == FieldType.DATE:
        return _date_test(op, value, clock)
    return _datetime_test(op, value, clock)


def _date_test(op: Op, value: Any, clock: Clock) -> TimeTest:
    today = clock.today
    if op in (Op.EQ, Op.NEQ):
        return TimeTest((("gte", value), ("lte", value)))
    if op == Op.BEFORE:
        return TimeTest((("lt", value),))
    if op == Op.AFTER:
        return TimeTest((("gt", value),))
    if op == Op.BETWEEN:
        low, high = value
        return TimeTest((("gte", low), ("lte", high)))
    days = timedelta(days=int(value))
    if op == Op.WITHIN_LAST_DAYS:
        return TimeTest((("gte", today - days), ("lte", today)))
    if op == Op.MORE_THAN_DAYS_AGO:
        return TimeTest((("lt", today - days),))
    return TimeTest((("gte", today), ("lte", today + days)))  # WITHIN_NEXT_DAYS


def _datetime_test(op: Op, value: Any, clock: Clock) -> TimeTest:
    def start(moment: Any, *, next_day: bool = False) -> datetime:
        if isinstance(moment, datetime):
            return moment
        day: date = moment
        return clock.start_of(day + timedelta(days=1) if next_day else day)

    if op == Op.BEFORE:
        return TimeTest((("lt", start(value)),))
    if op == Op.AFTER:
        if isinstance(value, datetime):
            return TimeTest((("gt", value),))
        return TimeTest((("gte", start(value, next_day=True)),))
    if op == Op.BETWEEN:
        low, high = value
        if isinstance(high, datetime):
            return TimeTest((("gte", start(low)), ("lte", high)))
        return TimeTest((("gte", start(low)), ("lt", start(high, next_day=True))))
    days = timedelta(days=int(value))
    if op == Op.WITHIN_LAST_DAYS:
        return TimeTest((("gte", clock.now - days), ("lte", clock.now)))
    if op == Op.MORE_THAN_DAYS_AGO:
        return TimeTest((("lt", clock.now - days),))
    return TimeTest((("gte", clock.now), ("lte", clock.now + days)))  # WITHIN_NEXT_DAYS
