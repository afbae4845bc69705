"""Deciding an A/B test: which variant is best, how sure we are, and whether the split is sound.

One function, `ab_decide`, serves broadcasts' A/B tests and workflow A/B splits alike. For each
arm it gives:

- the **Bayesian probability to be best** and the **expected loss** of choosing it (how much
  rate we would give up, on average, if it is not the best), from Beta(1 + conversions,
  1 + failures) posteriors — a uniform prior — sampled with a fixed seed, so that a page shows
  the same figures on every load;
- a **frequentist two-proportion z-test** against the first arm (the control), as a second
  opinion a statistician will ask for;

and for the test as a whole a **sample-ratio-mismatch check** (chi-squared of the arms'
sizes against their weights: a split of 50/50 that delivered 5,000 vs 4,400 means something
dropped recipients unevenly, and no result from it can be trusted) and a **call**: a winner
only when the leader is best with at least `threshold` probability, every arm has at least
`min_sample` recipients and there is no mismatch; otherwise why not, and what it would take.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

DRAWS = 100_000
SRM_ALPHA = 0.001  # the usual threshold: a mismatch this unlikely by chance is a real fault
SIGNIFICANCE = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Arm:
    key: str  # the arm's label ("A", "B" …)
    n: int  # recipients (or contacts who entered the arm)
    conversions: int  # clicked (or converted)
    weight: float = 1.0  # its planned share of the split


@dataclass(frozen=True)
class ArmResult:
    key: str
    n: int
    conversions: int
    rate: float
    prob_best: float
    expected_loss: float
    p_value: float | None  # vs the control (the first arm); None for the control itself
    lift: float | None  # relative to the control's rate; None for the control or a 0 rate


@dataclass(frozen=True)
class Decision:
    arms: list[ArmResult]
    winner: str | None
    leader: str | None
    srm_p_value: float
    sample_ratio_mismatch: bool
    reason: str  # why there is no winner ("" when there is one)
    needed_per_arm: int | None  # recipients per arm to detect the observed difference


def ab_decide(
    arms: Sequence[Arm],
    *,
    min_sample: int = 500,
    threshold: float = 0.95,
    draws: int = DRAWS,
    seed: int = 0,
    check_ratio: bool = True,
) -> Decision:
    """The call on an A/B test. `check_ratio=False` skips the sample-ratio check, for splits
    whose shares move on purpose (a smart split's Thompson allocation)."""
    if len(arms) < 2:
        raise ValueError("an A/B decision needs at least two arms")
    for arm in arms:
        if arm.n < 0 or not 0 <= arm.conversions <= arm.n:
            raise ValueError(f"arm {arm.key}: conversions must be between 0 and n")
    prob_best, loss = _posterior(arms, draws=draws, seed=seed)
    control = arms[0]
    results = []
    for index, arm in enumerate(arms):
        rate = arm.conversions / arm.n if arm.n else 0.0
        control_rate = control.conversions / control.n if control.n else 0.0
        results.append(
            ArmResult(
                key=arm.key,
                n=arm.n,
                conversions=arm.conversions,
                rate=rate,
                prob_best=float(prob_best[index]),
                expected_loss=float(loss[index]),
                p_value=None if index == 0 else two_proportion_p_value(control, arm),
                lift=None if index == 0 or not control_rate else rate / control_rate - 1,
            )
        )
    srm_p = sample_ratio_p_value(arms) if check_ratio else 1.0
    # the best observed rate leads (ties: the earlier arm, so equal data never flips a call)
    leader = max(results, key=lambda r: (r.rate, -results.index(r)))
    needed = _needed_per_arm(results)
    reason = _no_winner_reason(results, leader, srm_p, min_sample, threshold, needed)
    return Decision(
        arms=results,
        winner=None if reason else leader.key,
        leader=leader.key if sum(a.n for a in arms) else None,
        srm_p_value=srm_p,
        sample_ratio_mismatch=srm_p < SRM_ALPHA,
        reason=reason,
        needed_per_arm=needed,
    )


def _posterior(arms: Sequence[Arm], *, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    samples = np.column_stack(
        [rng.beta(1 + arm.conversions, 1 + arm.n - arm.conversions, size=draws) for arm in arms]
    )
    best = samples.max(axis=1)
    winners = samples.argmax(axis=1)
    prob_best = np.bincount(winners, minlength=len(arms)) / draws
    expected_loss = (best[:, None] - samples).mean(axis=0)
    return prob_best, expected_loss


def two_proportion_p_value(a: Arm, b: Arm) -> float:
    """Two-sided p-value of a pooled two-proportion z-test (1.0 when it cannot be computed)."""
    if not a.n or not b.n:
        return 1.0
    pooled = (a.conversions + b.conversions) / (a.n + b.n)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n))
    if spread == 0:
        return 1.0
    z = (b.conversions / b.n - a.conversions / a.n) / spread
    return float(2 * stats.norm.sf(abs(z)))


def sample_ratio_p_value(arms: Sequence[Arm]) -> float:
    """Chi-squared goodness of fit of the arms' sizes to their weights (1.0 with no data)."""
    total = sum(arm.n for arm in arms)
    weights = sum(arm.weight for arm in arms)
    if not total or weights <= 0:
        return 1.0
    expected = [total * arm.weight / weights for arm in arms]
    return float(stats.chisquare([arm.n for arm in arms], f_exp=expected).pvalue)


def _needed_per_arm(results: list[ArmResult]) -> int | None:
    """Recipients per arm for a two-sided test at 5% with 80% power to detect the difference
    between the two best observed rates (None when they are equal)."""
    top = sorted(results, key=lambda r: r.rate, reverse=True)[:2]
    p1, p2 = top[0].rate, top[1].rate
    if p1 == p2:
        return None
    z = stats.norm.ppf(1 - SIGNIFICANCE / 2) + stats.norm.ppf(POWER)
    return math.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2)


def _no_winner_reason(
    results: list[ArmResult],
    leader: ArmResult,
    srm_p: float,
    min_sample: int,
    threshold: float,
    needed: int | None,
) -> str:
    if srm_p < SRM_ALPHA:
        sizes = ", ".join(f"{r.key} {r.n:,}" for r in results)
        return (
            f"sample ratio mismatch: the arms' sizes ({sizes}) do not match the planned split "
            f"(p = {srm_p:.1g}); something dropped recipients unevenly, so the result is not "
            "trustworthy"
        )
    short = [r for r in results if r.n < min_sample]
    if short:
        missing = ", ".join(f"{r.key} has {r.n:,} ({min_sample - r.n:,} more)" for r in short)
        return f"not enough data yet: each variant needs at least {min_sample:,}; {missing}"
    if needed is None:
        return f"no difference: the best variants have the same rate ({leader.rate:.1%})"
    if leader.prob_best < threshold:
        hint = f"; about {needed:,} per variant would detect this difference" if needed else ""
        return (
            f"no clear winner yet: {leader.key} is best with {leader.prob_best:.0%} probability "
            f"({threshold:.0%} needed){hint}"
        )
    return ""


# --- Holdouts: the lift of treatment over a held-out control ----------------------------------


@dataclass(frozen=True)
class Lift:
    treated: float  # the treated group's rate (or mean)
    control: float  # the held-out group's
    difference: float  # treated − control
    low: float  # the difference's confidence interval
    high: float
    relative: float | None  # difference / control (None when the control is 0)
    significant: bool  # the interval excludes 0


def proportion_lift(treated: Arm, control: Arm, *, confidence: float = 0.95) -> Lift:
    """Difference of two rates with a Wald (unpooled) interval."""
    rate_t = treated.conversions / treated.n if treated.n else 0.0
    rate_c = control.conversions / control.n if control.n else 0.0
    spread = (
        math.sqrt(rate_t * (1 - rate_t) / treated.n + rate_c * (1 - rate_c) / control.n)
        if treated.n and control.n
        else math.inf
    )
    return _lift(rate_t, rate_c, spread, confidence)


def mean_lift(
    treated: Sequence[float], control: Sequence[float], *, confidence: float = 0.95
) -> Lift:
    """Difference of two means (revenue per contact) with a Welch interval (normal quantile:
    the groups a holdout compares are hundreds of contacts or more)."""
    mean_t, var_t = _mean_var(treated)
    mean_c, var_c = _mean_var(control)
    spread = (
        math.sqrt(var_t / len(treated) + var_c / len(control))
        if len(treated) > 1 and len(control) > 1
        else math.inf
    )
    return _lift(mean_t, mean_c, spread, confidence)


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _lift(treated: float, control: float, spread: float, confidence: float) -> Lift:
    difference = treated - control
    half = float(stats.norm.ppf(1 - (1 - confidence) / 2)) * spread
    low, high = difference - half, difference + half
    return Lift(
        treated=treated,
        control=control,
        difference=difference,
        low=low,
        high=high,
        relative=difference / control if control else None,
        significant=bool(spread != math.inf and (low > 0 or high < 0)),
    )


# --- Stable shares: the same contacts every time ------------------------------------------------


def stable_percentile(key: str) -> int:
    """0–99 from a hash of `key` (e.g. "<workflow>:<contact>"): a contact's place in a holdout
    or control group, the same on every call, evenly spread over contacts."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


def in_control_group(*, workspace_id: int, contact_id: int, percent: int) -> bool:
    """Whether the contact is in the workspace's global control group (`percent` of contacts,
    always the same ones; raising the percentage only adds contacts)."""
    return bool(percent) and stable_percentile(f"control:{workspace_id}:{contact_id}") < percent


# --- Learning splits: Thompson sampling and what it saved -------------------------------------


def thompson_allocation(
    arms: Sequence[Arm], *, floor: float = 0.1, draws: int = 20_000, seed: int = 0
) -> list[float]:
    """The share of the next traffic each arm gets: its posterior probability to be best
    (Thompson sampling in its batched form — the share of posterior draws in which the arm's
    rate is the highest), mixed with a floor so that every arm keeps at least `floor` of the
    traffic and the estimates of the losing arms keep improving."""
    if not arms:
        raise ValueError("an allocation needs at least one arm")
    if not 0 <= floor * len(arms) <= 1:
        raise ValueError(f"a floor of {floor:.0%} per arm is more than {len(arms)} arms can have")
    for arm in arms:
        if arm.n < 0 or not 0 <= arm.conversions <= arm.n:
            raise ValueError(f"arm {arm.key}: conversions must be between 0 and n")
    prob_best, _ = _posterior(arms, draws=draws, seed=seed)
    rest = 1 - floor * len(arms)
    return [floor + rest * float(p) for p in prob_best]


def pick_by_shares(shares: Sequence[float], point: float) -> int:
    """The index of the arm whose slice of [0, 1) holds `point` (shares in order)."""
    total = sum(shares)
    running = 0.0
    for index, share in enumerate(shares):
        running += share / total
        if point < running:
            return index
    return len(shares) - 1


@dataclass(frozen=True)
class RegretSaved:
    expected: float  # successes gained over an even split of the same traffic (mean)
    low: float  # its 95 % interval over the posteriors
    high: float
    entered: int


def regret_saved(arms: Sequence[Arm], *, draws: int = 20_000, seed: int = 0) -> RegretSaved:
    """What the allocation used gained over an even split of the same traffic, in successes:
    Σ nᵢ·θᵢ − N·mean(θ), with each θᵢ drawn from the arm's Beta posterior — its mean and 95 %
    interval. Positive: more arms' traffic went where the rate was higher."""
    total = sum(arm.n for arm in arms)
    if not arms or not total:
        return RegretSaved(0.0, 0.0, 0.0, total)
    rng = np.random.default_rng(seed)
    samples = np.column_stack(
        [rng.beta(1 + arm.conversions, 1 + arm.n - arm.conversions, size=draws) for arm in arms]
    )
    sizes = np.array([arm.n for arm in arms], dtype=float)
    gained = samples @ sizes - total * samples.mean(axis=1)
    low, high = np.quantile(gained, [0.025, 0.975])
    return RegretSaved(float(gained.mean()), float(low), float(high), total)
