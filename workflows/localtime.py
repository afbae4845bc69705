"""Contact-local time: quiet hours, "next Tuesday 9:00–11:00", birthdays at 9:00.

A contact's zone is its `timezone` attribute, else the workspace's, else UTC. Windows are
given as "HH:MM" strings and weekday numbers (Monday = 0, as Python counts them).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = ZoneInfo("UTC")
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)


def zone_named(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def contact_zone(contact_timezone: str | None, workspace_timezone: str | None) -> ZoneInfo:
    return zone_named(contact_timezone) or zone_named(workspace_timezone) or UTC


def parse_hhmm(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes or 0))


def at_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at `at` in `zone`, as an aware datetime (a DST gap moves it forward)."""
    local = datetime.combine(day, at, tzinfo=zone)
    # Round-trip through UTC normalises non-existent local times (spring forward).
    return local.astimezone(UTC).astimezone(zone)


def in_window(
    moment: datetime, zone: ZoneInfo, start: time, end: time, days: tuple[int, ...]
) -> bool:
    local = moment.astimezone(zone)
    t = local.time()
    if start <= end:
        return local.weekday() in days and start <= t < end
    # Overnight window (22:00–06:00): the part after midnight belongs to the previous day.
    if t >= start:
        return local.weekday() in days
    if t < end:
        return (local.weekday() - 1) % 7 in days
    return False


def next_window_start(
    moment: datetime, zone: ZoneInfo, start: time, end: time, days: tuple[int, ...] = ALL_DAYS
) -> datetime:
    """`moment` if it falls inside the window, else the next time the window opens."""
    if in_window(moment, zone, start, end, days):
        return moment
    local_day = moment.astimezone(zone).date()
    for offset in range(0, 8):
        day = local_day + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens = at_local(day, start, zone)
        if opens > moment:
            return opens
    raise ValueError("a window needs at least one weekday")


def next_local_midnight(moment: datetime, zone: ZoneInfo) -> datetime:
    tomorrow = moment.astimezone(zone).date() + timedelta(days=1)
    return at_local(tomorrow, time(0, 0), zone)


def local_day_start(moment: datetime, zone: ZoneInfo) -> datetime:
    return at_local(moment.astimezone(zone).date(), time(0, 0), zone)
