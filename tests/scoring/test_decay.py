"""Decay arithmetic: what an entry is worth, and when a score next changes by itself."""

from datetime import UTC, datetime, timedelta

from scoring.decay import DecayPolicy, round_score

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
weekly_10 = DecayPolicy(mode="percent", percent=10, period=WEEK)


def test_percent_decay_steps_once_per_full_period():
    assert weekly_10.value(100, T0, T0 + timedelta(days=6, hours=23)) == 100
    assert weekly_10.value(100, T0, T0 + WEEK) == 90
    assert round(weekly_10.value(100, T0, T0 + 2 * WEEK), 6) == 81


def test_an_entry_worth_less_than_half_a_point_is_dead_and_expires_then():
    policy = DecayPolicy(mode="percent", percent=50, period=WEEK)
    # 3 → 1.5 → 0.75 → 0.375 (dead)
    assert policy.dead_after_steps(3) == 3
    assert policy.expires_at(3, T0) == T0 + 3 * WEEK
    assert policy.value(3, T0, T0 + 3 * WEEK - timedelta(seconds=1)) == 0.75
    assert policy.value(3, T0, T0 + 3 * WEEK) == 0


def test_negative_points_decay_toward_zero():
    assert weekly_10.value(-20, T0, T0 + WEEK) == -18


def test_expiry_keeps_full_value_until_the_day_it_expires():
    policy = DecayPolicy(mode="expire", expire_after=timedelta(days=30))
    assert policy.value(10, T0, T0 + timedelta(days=29, hours=23)) == 10
    assert policy.value(10, T0, T0 + timedelta(days=30)) == 0
    assert policy.expires_at(10, T0) == T0 + timedelta(days=30)


def test_without_decay_points_never_change_or_expire():
    policy = DecayPolicy()
    assert policy.value(10, T0, T0 + timedelta(days=3650)) == 10
    assert policy.expires_at(10, T0) is None
    assert policy.next_change([(10, T0)], T0) is None


def test_next_change_is_when_the_rounded_score_moves_not_every_step():
    # 3 → 2.7 (still 3) → 2.43 (2): the first visible change is after two periods.
    assert weekly_10.next_change([(3, T0)], T0) == T0 + 2 * WEEK


def test_next_change_considers_every_entry_and_the_static_part():
    entries = [(10, T0), (10, T0 + timedelta(days=3))]
    # 10 + 10 → 9 + 10 at T0+7d (19): the first entry's step comes first.
    assert weekly_10.next_change(entries, T0 + timedelta(days=3), static=5) == T0 + WEEK


def test_next_change_for_expiry_skips_expiries_that_cancel_out():
    policy = DecayPolicy(mode="expire", expire_after=timedelta(days=10))
    entries = [(5, T0), (-5, T0), (3, T0 + timedelta(days=1))]
    assert policy.next_change(entries, T0) == T0 + timedelta(days=11)


def test_total_is_rounded_half_away_from_zero_once():
    assert round_score(2.5) == 3
    assert round_score(-2.5) == -3
    assert round_score(2.49) == 2
    entries = [(1, T0), (1, T0), (1, T0)]
    policy = DecayPolicy(mode="percent", percent=50, period=WEEK)
    # each is worth 0.5 after a week: 1.5 rounds to 2 (not 3 × round(0.5))
    assert round_score(policy.total(entries, T0 + WEEK)) == 2
