"""The parsed form of a filter tree: what validation produces and both engines consume.

Values are already typed here (Decimal, date, datetime …). Anything that depends on the
clock ("in the last 7 days") is resolved later, by `Clock`, with one `now` shared by the
SQL compiler and the Python evaluator — so both answer the same question.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .schema import FieldSpec, Op


@dataclass(frozen=True)
class Group:
    kind: str  # "all" | "any"
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class FieldCond:
    spec: FieldSpec
    op: Op
    value: Any = None  # typed: str, Decimal, bool, date, datetime, int, tuple (in/between)


@dataclass(frozen=True)
class TagCond:
    tag: str
    present: bool = True


@dataclass(frozen=True)
class SegmentCond:
    segment_id: int
    present: bool = True


@dataclass(frozen=True)
class PropertyCond:
    path: tuple[str, ...]
    op: Op
    value: Any = None  # str | Decimal | bool | tuple of those


@dataclass(frozen=True)
class EventCond:
    name: str
    where: tuple[PropertyCond, ...] = ()
    count_op: Op = Op.GTE
    count_value: int = 1
    within_days: int | None = None
    between: tuple[datetime, datetime] | None = None  # [start, end) in UTC

    def zero_matches(self) -> bool:
        """Does a contact with no such event satisfy the count? ("has not done X")."""
        return count_holds(self.count_op, 0, self.count_value)


Node = Group | Not | FieldCond | TagCond | SegmentCond | EventCond


def count_holds(op: Op, count: int, value: int) -> bool:
    return {
        Op.GTE: count >= value,
        Op.GT: count > value,
        Op.LTE: count <= value,
        Op.LT: count < value,
        Op.EQ: count == value,
    }[op]


@dataclass
class Clock:
    """One instant and the workspace's time zone, for every relative date in a filter."""

    now: datetime
    tz: ZoneInfo
    _cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz)

    def days_ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days)

    def anniversaries(self, op: Op, days: int | None) -> tuple[str, ...]:
        """'MM-DD' strings whose anniversary falls in the window. Feb 29 counts on Feb 28
        in years without one; a window across New Year wraps."""
        key = (op, days)
        if key not in self._cache:
            today = self.today
            if op == Op.ANNIVERSARY_THIS_MONTH:
                first = today.replace(day=1)
                span = calendar.monthrange(today.year, today.month)[1] - 1
            else:
                first, span = today, min(int(days or 0), 366)
            found: set[str] = set()
            for offset in range(span + 1):
                day = first + timedelta(days=offset)
                found.add(day.strftime("%m-%d"))
                if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
                    found.add("02-29")
            self._cache[key] = tuple(sorted(found))
        return self._cache[key]  # type: ignore[no-any-return]
