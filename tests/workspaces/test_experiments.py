"""A/B decisions on fixtures with answers computed by hand (or in closed form)."""

from __future__ import annotations

import math

import pytest

from workspaces.experiments import (
    Arm,
    ab_decide,
    mean_lift,
    proportion_lift,
    sample_ratio_p_value,
    two_proportion_p_value,
)


def exact_prob_b_beats_a(a: Arm, b: Arm) -> float:
    """Evan Miller's closed form of P(p_B > p_A) for Beta(1 + c, 1 + n - c) posteriors."""
    alpha_a, beta_a = 1 + a.conversions, 1 + a.n - a.conversions
    alpha_b, beta_b = 1 + b.conversions, 1 + b.n - b.conversions

    def log_beta(x: float, y: float) -> float:
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    return sum(
        math.exp(
            log_beta(alpha_a + i, beta_a + beta_b)
            - math.log(beta_b + i)
            - log_beta(1 + i, beta_b)
            - log_beta(alpha_a, beta_a)
        )
        for i in range(alpha_b)
    )


def test_a_clear_winner_is_called_with_its_probability_and_a_significant_test():
    control, variant = Arm("A", 1000, 100), Arm("B", 1000, 130)
    decision = ab_decide([control, variant])

    assert decision.winner == "B" and decision.reason == ""
    a, b = decision.arms
    assert b.prob_best == pytest.approx(exact_prob_b_beats_a(control, variant), abs=0.005)
    assert a.prob_best + b.prob_best == pytest.approx(1)
    # z = 0.03 / sqrt(0.115 · 0.885 · (2/1000)) = 2.1026 → two-sided p = 0.0355
    assert b.p_value == pytest.approx(0.0355, abs=0.0005)
    assert b.lift == pytest.approx(0.30)
    # choosing B loses almost nothing; choosing A gives up about the 3-point difference
    assert b.expected_loss < 0.001 < 0.029 < a.expected_loss < 0.031
    assert decision.sample_ratio_mismatch is False


def test_a_small_difference_is_no_winner_yet_and_says_what_it_would_take():
    decision = ab_decide([Arm("A", 1000, 100), Arm("B", 1000, 104)])

    assert decision.winner is None and decision.leader == "B"
    assert decision.arms[1].prob_best == pytest.approx(
        exact_prob_b_beats_a(Arm("A", 1000, 100), Arm("B", 1000, 104)), abs=0.01
    )
    assert decision.arms[1].p_value > 0.5
    # n = (1.95996 + 0.84162)² · (0.104·0.896 + 0.1·0.9) / 0.004² = 89,862
    assert decision.needed_per_arm == 89_862
    assert "no clear winner yet: B is best with 61% probability (95% needed)" in decision.reason
    assert "89,862 per variant" in decision.reason


def test_too_few_recipients_is_no_winner_whatever_the_rates():
    decision = ab_decide([Arm("A", 300, 3), Arm("B", 300, 60)], min_sample=500)

    assert decision.winner is None
    assert decision.arms[1].prob_best > 0.999  # the data alone would call it
    assert decision.reason == (
        "not enough data yet: each variant needs at least 500; A has 300 (200 more), "
        "B has 300 (200 more)"
    )


def test_a_sample_ratio_mismatch_blocks_the_call_even_with_a_clear_leader():
    # a 50/50 split that delivered 5,000 vs 4,400: χ² = 2 · 300² / 4,700 = 38.3, p ≈ 6e-10
    arms = [Arm("A", 5000, 500), Arm("B", 4400, 700)]
    assert sample_ratio_p_value(arms) == pytest.approx(6.1e-10, rel=0.05)

    decision = ab_decide(arms)

    assert decision.sample_ratio_mismatch is True and decision.winner is None
    assert decision.reason.startswith("sample ratio mismatch: the arms' sizes (A 5,000, B 4,400)")


def test_weights_set_the_expected_split():
    # 80/20 planned and delivered: no mismatch; the same sizes against 50/50 would be one
    arms = [Arm("A", 8000, 80, weight=80), Arm("B", 2000, 20, weight=20)]
    assert sample_ratio_p_value(arms) == pytest.approx(1.0)
    assert sample_ratio_p_value([Arm("A", 8000, 80), Arm("B", 2000, 20)]) < 1e-100


def test_three_arms_share_the_probability_and_each_is_tested_against_the_control():
    decision = ab_decide([Arm("A", 2000, 200), Arm("B", 2000, 200), Arm("C", 2000, 300)])

    assert decision.winner == "C"
    assert sum(arm.prob_best for arm in decision.arms) == pytest.approx(1)
    assert decision.arms[1].p_value == pytest.approx(1.0)
    assert decision.arms[2].p_value < 1e-5


def test_the_figures_are_the_same_on_every_call():
    arms = [Arm("A", 700, 70), Arm("B", 700, 80)]
    assert ab_decide(arms) == ab_decide(arms)


def test_degenerate_inputs():
    assert two_proportion_p_value(Arm("A", 0, 0), Arm("B", 10, 1)) == 1.0
    assert two_proportion_p_value(Arm("A", 10, 0), Arm("B", 10, 0)) == 1.0
    empty = ab_decide([Arm("A", 0, 0), Arm("B", 0, 0)])
    assert empty.winner is None and empty.leader is None and empty.needed_per_arm is None
    with pytest.raises(ValueError, match="arm B: conversions must be between 0 and n"):
        ab_decide([Arm("A", 10, 1), Arm("B", 10, 11)])
    with pytest.raises(ValueError, match="at least two arms"):
        ab_decide([Arm("A", 10, 1)])


def test_a_holdout_with_a_known_lift():
    # 15 % of 1,000 treated converted against 10 % of 1,000 held out:
    # se = √(.15·.85/1000 + .1·.9/1000) = .014748; 95 % CI = .05 ± 1.95996·.014748
    lift = proportion_lift(Arm("treated", 1000, 150), Arm("held out", 1000, 100))
    assert lift.difference == pytest.approx(0.05)
    assert (lift.low, lift.high) == pytest.approx((0.021094, 0.078906), abs=1e-5)
    assert lift.relative == pytest.approx(0.5) and lift.significant


def test_a_holdout_too_small_to_tell_is_not_significant():
    lift = proportion_lift(Arm("treated", 90, 12), Arm("held out", 10, 1))
    assert lift.low < 0 < lift.high and not lift.significant
    empty = proportion_lift(Arm("treated", 50, 5), Arm("held out", 0, 0))
    assert not empty.significant and empty.relative is None


def test_revenue_per_contact_lift_has_a_welch_interval():
    # treated: 4 of 8 bought for 10 → mean 5, var 200/7; control: 1 of 8 → mean 1.25, var 87.5/7
    treated = [10.0] * 4 + [0.0] * 4
    control = [10.0] + [0.0] * 7
    lift = mean_lift(treated, control)
    spread = math.sqrt((200 / 7) / 8 + (87.5 / 7) / 8)
    assert lift.difference == pytest.approx(3.75)
    assert lift.high - lift.difference == pytest.approx(1.959964 * spread)
    assert lift.relative == pytest.approx(3.0)
    assert not lift.significant  # 8 contacts a side cannot show it
