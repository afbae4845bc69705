"""Decay arithmetic: what a ledger entry is worth at a moment, and when a score next changes.

Pure functions on (points, at) pairs, shared by the pipeline, the periodic refresh, the
read-time correction and the score-over-time chart, so all of them agree to the point.

- PERCENT: an entry loses `percent` % at each full `period` after it was earned
  (stepwise: 100 → 90 → 81 …). Once it is worth less than half a point it is dead (0),
  so entries do not linger forever and `expires_at` bounds the live set.
- EXPIRE: an entry is worth its points until `expire_after` has passed, then 0.
- NONE: always worth its points.

A score is `round_score(Σ values)`, rounded half away from zero once, at the end.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import ScoringModel

Entry = tuple[int, datetime]  # (points, earned at)
DEAD = 0.5  # an entry worth less than half a point no longer counts
MAX_SIMULATED_STEPS = 20_000


def round_score(value: float) -> int:
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


@dataclass(frozen=True)
class DecayPolicy:
    mode: str = "none"
    percent: int = 0
    period: timedelta = timedelta(days=30)
    expire_after: timedelta = timedelta(days=90)

    @classmethod
    def of(cls, model: ScoringModel) -> DecayPolicy:
        return cls(
            mode=model.decay_mode,
            percent=model.decay_percent,
            period=timedelta(days=max(1, model.decay_period_days)),
            expire_after=timedelta(days=max(1, model.expire_after_days)),
        )

    @property
    def decays(self) -> bool:
        return self.mode == "expire" or (self.mode == "percent" and 0 < self.percent < 100)

    @property
    def factor(self) -> float:
        return 1 - self.percent / 100

    # --- one entry ---------------------------------------------------------------------

    def steps(self, at: datetime, now: datetime) -> int:
        if now <= at:
            return 0
        return int((now - at) / self.period)

    def _stepped(self, points: int, k: int) -> float:
        value = points * self.factor**k
        return value if abs(value) >= DEAD else 0.0

    def value(self, points: int, at: datetime, now: datetime) -> float:
        if self.mode == "expire":
            return float(points) if now < at + self.expire_after else 0.0
        if self.mode == "percent" and self.decays:
            return self._stepped(points, self.steps(at, now))
        return float(points)

    def dead_after_steps(self, points: int) -> int:
        """The first step at which the entry is worth nothing (PERCENT)."""
        if points == 0:
            return 0
        k = max(0, math.floor(math.log(DEAD / abs(points)) / math.log(self.factor)) + 1)
        # Guard the float estimate with the same comparison `value` uses.
        while self._stepped(points, k) != 0.0:
            k += 1
        while k > 0 and self._stepped(points, k - 1) == 0.0:
            k -= 1
        return k

    def expires_at(self, points: int, at: datetime) -> datetime | None:
        if self.mode == "expire":
            return at + self.expire_after
        if self.mode == "percent" and self.decays:
            return at + self.period * self.dead_after_steps(points)
        return None

    # --- a set of entries --------------------------------------------------------------

    def total(self, entries: Iterable[Entry], now: datetime) -> float:
        return math.fsum(self.value(points, at, now) for points, at in entries)

    def next_change(
        self, entries: Sequence[Entry], now: datetime, static: float = 0.0
    ) -> datetime | None:
        """The first moment after `now` at which round_score(static + total) differs from
        its value at `now`; None if it never changes by decay alone."""
        if not self.decays or not entries:
            return None
        current = round_score(static + self.total(entries, now))
        if self.mode == "expire":
            return self._next_change_expire(entries, now, static, current)
        return self._next_change_percent(entries, now, static, current)

    def _next_change_expire(
        self, entries: Sequence[Entry], now: datetime, static: float, current: int
    ) -> datetime | None:
        live = sorted(
            (at + self.expire_after, points)
            for points, at in entries
            if now < at + self.expire_after
        )
        remaining = [float(points) for _, points in live]
        index = 0
        while index < len(live):
            moment = live[index][0]
            while index < len(live) and live[index][0] == moment:
                remaining[index] = 0.0
                index += 1
            if round_score(static + math.fsum(remaining)) != current:
                return moment
        return None

    def _next_change_percent(
        self, entries: Sequence[Entry], now: datetime, static: float, current: int
    ) -> datetime | None:
        values: list[float] = []
        heap: list[tuple[datetime, int, int]] = []  # (next step time, entry index, its step)
        for index, (points, at) in enumerate(entries):
            k = self.steps(at, now)
            value = self._stepped(points, k)
            values.append(value)
            if value != 0.0:
                heapq.heappush(heap, (at + self.period * (k + 1), index, k + 1))
        budget = MAX_SIMULATED_STEPS
        while heap and budget > 0:
            moment = heap[0][0]
            while heap and heap[0][0] == moment:
                _, index, k = heapq.heappop(heap)
                points, at = entries[index]
                values[index] = self._stepped(points, k)
                budget -= 1
                if values[index] != 0.0:
                    heapq.heappush(heap, (at + self.period * (k + 1), index, k + 1))
            if round_score(static + math.fsum(values)) != current:
                return moment
        # Out of budget: come back then and simulate further (correct, merely early).
        return heap[0][0] if heap else None
