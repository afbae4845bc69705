"""Model validation: hold a scoring model against what really happened in a period.

Population: every contact the model had scored before the period ended. Outcome: the
contact converted in the period — became a customer / won a deal (or, with outcome="sql",
was accepted by sales or went further). Each contact's score is read *from the ledger* at
its cutoff: the moment it converted, or the end of the period — decay included, exactly
as it stood then.

- Conversion by score band (bands are cut at the model's threshold and its halves).
- Funnel in the period: MQL → SQL → customer, from `lifecycle.changed`.
- ROC AUC of score vs conversion, by the Mann–Whitney U statistic (ties count half):
  the probability that a random converter outscored a random non-converter.
- Per rule: conversion rate with and without its signal (a behavioural rule fired in the
  period before the cutoff; a state rule held at the cutoff), the lift between the two, and
  a suggested point value. Suggestions treat the model as naive Bayes — a rule's points
  should be proportional to the log of its lift — scaled so the rules with enough data keep
  their current total weight: a rule that predicts conversion 5× gains points, a rule whose
  signal changes nothing (lift ≈ 1) drifts to 0, a rule with lift < 1 goes negative.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from contacts.models import Event
from workspaces.models import Workspace

from .decay import DecayPolicy, round_score
from .models import ContactScore, RuleKind, ScoreChange, ScoringModel, ScoringRule

MIN_SIGNAL = 10  # contacts on each side of a rule before it gets a lift or a suggestion
# Conversions (both sides together) before a rule's lift means anything: at 0% vs 0% the
# smoothed ratio is only the ratio of the two group sizes (it showed 3,016×).
MIN_CONVERSIONS = 5
SMOOTH = 0.5  # Laplace-style smoothing for rates in the lift
Z95 = 1.959964
OUTCOMES = ("customer", "sql")


@dataclass
class Band:
    label: str
    contacts: int = 0
    converted: int = 0

    @property
    def rate(self) -> float:
        return self.converted / self.contacts if self.contacts else 0.0


@dataclass
class RuleLift:
    rule: ScoringRule
    with_signal: int = 0
    with_converted: int = 0
    without_signal: int = 0
    without_converted: int = 0
    suggested: int | None = None

    @property
    def rate_with(self) -> float:
        return self.with_converted / self.with_signal if self.with_signal else 0.0

    @property
    def rate_without(self) -> float:
        return self.without_converted / self.without_signal if self.without_signal else 0.0

    @property
    def lift(self) -> float:
        smoothed_with = (self.with_converted + SMOOTH) / (self.with_signal + 2 * SMOOTH)
        smoothed_without = (self.without_converted + SMOOTH) / (self.without_signal + 2 * SMOOTH)
        return smoothed_with / smoothed_without

    @property
    def lift_interval(self) -> tuple[float, float]:
        """95% interval of the lift (a ratio of two rates): Katz's log method on the
        smoothed counts."""
        a, n1 = self.with_converted + SMOOTH, self.with_signal + 2 * SMOOTH
        c, n2 = self.without_converted + SMOOTH, self.without_signal + 2 * SMOOTH
        spread = Z95 * math.sqrt(max(0.0, 1 / a - 1 / n1 + 1 / c - 1 / n2))
        centre = math.log(self.lift)
        return math.exp(centre - spread), math.exp(centre + spread)

    @property
    def rate_with_interval(self) -> tuple[float, float]:
        return wilson_interval(self.with_converted, self.with_signal)

    @property
    def rate_without_interval(self) -> tuple[float, float]:
        return wilson_interval(self.without_converted, self.without_signal)

    @property
    def enough_data(self) -> bool:
        return (
            self.with_signal >= MIN_SIGNAL
            and self.without_signal >= MIN_SIGNAL
            and self.with_converted + self.without_converted >= MIN_CONVERSIONS
        )

    @property
    def clear_effect(self) -> bool:
        """The lift's interval leaves out 1: the signal tells something either way."""
        low, high = self.lift_interval
        return self.enough_data and (low > 1 or high < 1)

    @property
    def advice(self) -> str:
        if self.suggested is None:
            return "not enough data" if not self.enough_data else "keep"
        current = self.rule.points
        if self.suggested > current and self.suggested - current >= max(2, abs(current) * 0.2):
            return "raise"
        if self.suggested < current and current - self.suggested >= max(2, abs(current) * 0.2):
            return "lower"
        return "keep"


@dataclass
class Funnel:
    mql: int = 0
    sql: int = 0
    customer: int = 0
    mql_to_sql: float = 0.0
    sql_to_customer: float = 0.0
    mql_to_customer: float = 0.0


@dataclass
class ValidationReport:
    model: ScoringModel
    start: datetime
    end: datetime
    outcome: str
    population: int = 0
    converted: int = 0
    auc: float | None = None
    bands: list[Band] = field(default_factory=list)
    funnel: Funnel = field(default_factory=Funnel)
    rules: list[RuleLift] = field(default_factory=list)
    roc: list[tuple[float, float]] = field(default_factory=list)

    @property
    def base_rate(self) -> float:
        return self.converted / self.population if self.population else 0.0


def validation_report(
    *,
    workspace: Workspace,
    model: ScoringModel,
    start: datetime,
    end: datetime,
    outcome: str = "customer",
) -> ValidationReport:
    report = ValidationReport(model=model, start=start, end=end, outcome=outcome)
    population = _population(workspace, model, start, end)
    if not population:
        return report
    stages = _stage_reached(workspace, population, start, end)
    conversions = _conversions(workspace, population, start, end, outcome, stages)
    cutoffs = {c: conversions.get(c, end) for c in population}
    entries = _entries(workspace, model, population, end)
    policy = DecayPolicy.of(model)
    scores = {c: _score_at(entries.get(c, []), cutoffs[c], policy) for c in population}
    converted = set(conversions)
    report.population, report.converted = len(population), len(converted)
    report.bands = _bands(model, scores, converted)
    report.auc = roc_auc(
        [scores[c] for c in converted], [scores[c] for c in population if c not in converted]
    )
    report.roc = roc_points(scores, converted)
    report.funnel = _funnel(stages)
    report.rules = _rule_lifts(workspace, model, population, entries, cutoffs, converted, start)
    return report


def _population(
    workspace: Workspace, model: ScoringModel, start: datetime, end: datetime
) -> list[int]:
    """Contacts the model had scored before the end, and everyone active in the period
    (a contact no rule ever matched is a lead with score 0, not absent)."""
    scored = set(
        ContactScore.objects.for_workspace(workspace)
        .filter(model=model, created_at__lt=end)
        .values_list("contact_id", flat=True)
    )
    active = set(
        Event.objects.for_workspace(workspace)
        .filter(timestamp__gte=start, timestamp__lt=end)
        .exclude(source="platform")
        .values_list("contact_id", flat=True)
        .distinct()
    )
    return sorted(scored | active)


# --- outcomes ---------------------------------------------------------------------------------


def _stage_reached(
    workspace: Workspace, contacts: list[int], start: datetime, end: datetime
) -> dict[str, dict[int, datetime]]:
    """First time in the period each contact reached each stage (from lifecycle.changed)."""
    reached: dict[str, dict[int, datetime]] = defaultdict(dict)
    rows = (
        Event.objects.for_workspace(workspace)
        .filter(
            name="lifecycle.changed",
            timestamp__gte=start,
            timestamp__lt=end,
            contact_id__in=contacts,
        )
        .order_by("timestamp")
        .values_list("contact_id", "properties", "timestamp")
    )
    for contact_id, properties, timestamp in rows:
        stage = properties.get("to") if isinstance(properties, dict) else None
        if isinstance(stage, str):
            reached[stage].setdefault(contact_id, timestamp)
    return reached


def _conversions(
    workspace: Workspace,
    contacts: list[int],
    start: datetime,
    end: datetime,
    outcome: str,
    stages: dict[str, dict[int, datetime]],
) -> dict[int, datetime]:
    wanted = ("customer",) if outcome == "customer" else ("sql", "customer")
    found: dict[int, datetime] = {}
    for stage in wanted:
        for contact_id, at in stages.get(stage, {}).items():
            found[contact_id] = min(at, found.get(contact_id, at))
    if outcome == "customer":
        won = (
            Event.objects.for_workspace(workspace)
            .filter(
                name="deal.won", timestamp__gte=start, timestamp__lt=end, contact_id__in=contacts
            )
            .values_list("contact_id", "timestamp")
        )
        for contact_id, at in won:
            found[contact_id] = min(at, found.get(contact_id, at))
    return found


def _funnel(stages: dict[str, dict[int, datetime]]) -> Funnel:
    mql = set(stages.get("mql", {}))
    customer = set(stages.get("customer", {}))
    sql = set(stages.get("sql", {})) | customer  # a customer passed sales qualification
    funnel = Funnel(mql=len(mql), sql=len(sql), customer=len(customer))
    if mql:
        funnel.mql_to_sql = len(sql & mql) / len(mql)
        funnel.mql_to_customer = len(customer & mql) / len(mql)
    if sql:
        funnel.sql_to_customer = len(customer & sql) / len(sql)
    return funnel


# --- scores from the ledger ---------------------------------------------------------------------

LedgerRow = tuple[int, datetime, bool, int | None]  # points, at, decays, rule id


def _entries(
    workspace: Workspace, model: ScoringModel, contacts: list[int], end: datetime
) -> dict[int, list[LedgerRow]]:
    found: dict[int, list[LedgerRow]] = defaultdict(list)
    rows = (
        ScoreChange.objects.for_workspace(workspace)
        .filter(model=model, contact_id__in=contacts, at__lt=end)
        .values_list("contact_id", "points", "at", "decays", "rule_id")
    )
    for contact_id, points, at, decays, rule_id in rows:
        found[contact_id].append((points, at, decays, rule_id))
    return found


def _score_at(entries: list[LedgerRow], moment: datetime, policy: DecayPolicy) -> int:
    total = 0.0
    for points, at, decays, _ in entries:
        if at <= moment:
            total += policy.value(points, at, moment) if decays else points
    return round_score(total)


def _band_edges(threshold: int) -> list[tuple[str, float, float]]:
    half = max(1, threshold // 2)
    high = threshold + half
    return [
        ("≤ 0", -math.inf, 0),
        (f"1–{half - 1}" if half > 1 else "1", 1, half - 1),
        (f"{half}–{threshold - 1}", half, threshold - 1),
        (f"{threshold}–{high - 1} (MQL)", threshold, high - 1),
        (f"≥ {high}", high, math.inf),
    ]


def _bands(model: ScoringModel, scores: dict[int, int], converted: set[int]) -> list[Band]:
    edges = _band_edges(max(2, model.mql_threshold))
    bands = [Band(label) for label, _, _ in edges]
    for contact_id, score in scores.items():
        for band, (_, low, high) in zip(bands, edges, strict=True):
            if low <= score <= high:
                band.contacts += 1
                band.converted += contact_id in converted
                break
    return bands


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    """95% Wilson score interval of a rate; (0, 1) when there are no trials."""
    if not trials:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + Z95**2 / trials
    centre = (p + Z95**2 / (2 * trials)) / denominator
    spread = Z95 * math.sqrt(p * (1 - p) / trials + Z95**2 / (4 * trials**2)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def roc_auc(positives: list[float], negatives: list[float]) -> float | None:
    """Mann–Whitney U / (n₊·n₋): P(random positive outscores random negative), ties ½."""
    if not positives or not negatives:
        return None
    labelled = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum = 0.0
    index = 0
    while index < len(labelled):
        tie_end = index
        while tie_end + 1 < len(labelled) and labelled[tie_end + 1][0] == labelled[index][0]:
            tie_end += 1
        average_rank = (index + tie_end) / 2 + 1  # ranks are 1-based
        rank_sum += average_rank * sum(label for _, label in labelled[index : tie_end + 1])
        index = tie_end + 1
    n_pos, n_neg = len(positives), len(negatives)
    u = rank_sum - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def roc_points(
    scores: dict[int, int], converted: set[int], most: int = 25
) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) at each score cut, at most `most` points."""
    n_pos = len(converted)
    n_neg = len(scores) - n_pos
    if not n_pos or not n_neg:
        return []
    cuts = sorted(set(scores.values()), reverse=True)
    step = max(1, len(cuts) // most)
    points = [(0.0, 0.0)]
    for cut in cuts[::step] + [cuts[-1]]:
        above = [c for c, s in scores.items() if s >= cut]
        tp = sum(1 for c in above if c in converted)
        points.append(((len(above) - tp) / n_neg, tp / n_pos))
    return sorted(set(points))


# --- rules ---------------------------------------------------------------------------------------


def _rule_lifts(
    workspace: Workspace,
    model: ScoringModel,
    population: list[int],
    entries: dict[int, list[LedgerRow]],
    cutoffs: dict[int, datetime],
    converted: set[int],
    start: datetime,
) -> list[RuleLift]:
    rules = list(ScoringRule.objects.for_workspace(workspace).filter(model=model))
    lifts = {rule.pk: RuleLift(rule) for rule in rules}
    for contact_id in population:
        cutoff = cutoffs[contact_id]
        fired = _signals(entries.get(contact_id, []), start, cutoff)
        is_converted = contact_id in converted
        for rule_id, lift in lifts.items():
            if rule_id in fired:
                lift.with_signal += 1
                lift.with_converted += is_converted
            else:
                lift.without_signal += 1
                lift.without_converted += is_converted
    _suggest([lift for lift in lifts.values() if lift.rule.is_active])
    kinds = {RuleKind.BEHAVIOURAL: 0, RuleKind.FIT: 1, RuleKind.NEGATIVE: 2}
    return sorted(lifts.values(), key=lambda row: (kinds.get(row.rule.kind, 3), -row.lift))


def _signals(entries: list[LedgerRow], start: datetime, cutoff: datetime) -> set[int]:
    """Rules whose signal the contact showed: fired in [start, cutoff] (event rules) or
    held at the cutoff (state rules: their entries net to non-zero)."""
    fired: set[int] = set()
    held: dict[int, int] = defaultdict(int)
    for points, at, decays, rule_id in entries:
        if rule_id is None or at > cutoff:
            continue
        if decays:
            if at >= start:
                fired.add(rule_id)
        else:
            held[rule_id] += points
    return fired | {rule_id for rule_id, net in held.items() if net}


def _suggest(lifts: list[RuleLift]) -> None:
    informative = [lift for lift in lifts if lift.enough_data]
    weight = sum(abs(lift.rule.points) for lift in informative)
    evidence = sum(abs(math.log(lift.lift)) for lift in informative)
    if evidence < 0.05 or not weight:
        return  # nothing here predicts anything: no basis to move points
    scale = weight / evidence
    for lift in informative:
        lift.suggested = round(scale * math.log(lift.lift))
