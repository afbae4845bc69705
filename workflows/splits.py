"""A/B splits (branch.ab): what each variant did, the call on it, and the smart allocation.

- `split_counts`: per variant, the runs that took it and how many of them succeeded on the
  node's metric — reached the workflow's goal (`conversion`, the default) or clicked a message
  sent further down the flow (`clicks`);
- `split_decision`: those counts through workspaces.experiments.ab_decide (chance to be best,
  expected loss, two-proportion test, sample-ratio check, a call only at 95 % with the node's
  minimum per variant), what is still needed, and for a smart split what it saved;
- `smart_shares`: a smart split's traffic shares — Thompson sampling with a floor per variant —
  cached per node and recomputed from the results at most every
  WORKFLOWS_SMART_SPLIT_REFRESH_SECONDS, so a decision costs one cache read.

It reads graphs as their JSON (nodes and edges) and imports neither graph nor nodes: the
branch.ab executor uses it (import-linter: no cycles between the app's modules).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Value

from workspaces.experiments import (
    Arm,
    Decision,
    RegretSaved,
    ab_decide,
    regret_saved,
    thompson_allocation,
)

from . import integrations
from .models import Outcome, RunStatus, StepLog, Workflow

METRICS = {"conversion": "reached the goal", "clicks": "clicked a later message"}
DEFAULT_METRIC = "conversion"
DEFAULT_MIN_SAMPLE = 500
DEFAULT_FLOOR = 10  # percent of the traffic each variant of a smart split keeps at least
SMART = "smart"
MESSAGE_TYPES = ("action.email", "action.sms")


def metric_of(config: Mapping[str, Any]) -> str:
    return str(config.get("metric") or DEFAULT_METRIC)


def variant_names(config: Mapping[str, Any]) -> list[str]:
    return [str(v["name"]) for v in config.get("variants") or [] if isinstance(v, dict)]


def message_nodes_after(graph: Mapping[str, Any], node_id: str) -> list[str]:
    """The email and SMS nodes a contact can reach after this node (a graph's JSON)."""
    types = {n.get("id"): n.get("type") for n in graph.get("nodes") or [] if isinstance(n, dict)}
    following: dict[str, list[str]] = defaultdict(list)
    for edge in graph.get("edges") or []:
        if isinstance(edge, dict):
            following[edge.get("source")].append(edge.get("target"))
    seen: set[str] = set()
    stack = list(following[node_id])
    while stack:
        current = stack.pop()
        if current in seen or current == node_id:
            continue
        seen.add(current)
        stack.extend(following[current])
    return sorted(n for n in seen if types.get(n) in MESSAGE_TYPES)


def split_counts(
    *,
    workflow: Workflow,
    node_id: str,
    metric: str,
    message_nodes: list[str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, tuple[int, int]]:
    """Port -> (runs that took it, of those the ones that succeeded on `metric`): one query."""
    logs = (
        StepLog.objects.for_workspace(workflow.workspace_id)
        .filter(workflow_id=workflow.pk, node_id=node_id, outcome=Outcome.PASSED)
        .exclude(port="")
    )
    if since is not None:
        logs = logs.filter(at__gte=since)
    if until is not None:
        logs = logs.filter(at__lt=until)
    success: Q | None = Q(run__status=RunStatus.CONVERTED)
    if metric == "clicks":  # no message after the split: nothing to click
        clicked = integrations.runs_clicked(
            workspace_id=workflow.workspace_id, node_ids=message_nodes
        )
        success = Q(run_id__in=clicked) if message_nodes else None
    rows = logs.values("port").annotate(
        entered=Count("run_id", distinct=True),
        succeeded=Count("run_id", distinct=True, filter=success) if success else Value(0),
    )
    return {row["port"]: (row["entered"], row["succeeded"]) for row in rows}


@dataclass(frozen=True)
class SplitDecision:
    node_id: str
    metric: str
    smart: bool
    min_sample: int
    arms: list[dict[str, Any]]  # per variant: port, entered, successes, rate, chance to be best …
    decision: Decision
    more_needed: int | None  # contacts still to enter (across variants) before a call is possible
    chosen: str | None  # the variant all traffic goes to, by the marketer's call
    regret: RegretSaved | None  # a smart split: successes gained over an even split

    @property
    def metric_label(self) -> str:
        return METRICS.get(self.metric, self.metric)

    @property
    def winner(self) -> str | None:
        """The winning port (the decision names arms in capitals, as the canvas does)."""
        return next((a["port"] for a in self.arms if a["key"] == self.decision.winner), None)

    @property
    def short(self) -> str:
        """The call in a few words, for the node on the canvas."""
        if self.chosen:
            return f"all to {self.chosen.upper()}"
        return f"{self.decision.winner} wins" if self.decision.winner else "no winner yet"

    @property
    def headline(self) -> str:
        if self.chosen:
            return f"All traffic goes to {self.chosen.upper()} (the marketer's call)."
        if self.decision.winner:
            best = next(a for a in self.arms if a["key"] == self.decision.winner)
            return (
                f"{self.decision.winner} wins: best with {best['prob_best']:.0%} probability "
                f"on contacts who {self.metric_label}."
            )
        if self.more_needed:
            return f"No winner yet — need {self.more_needed:,} more contacts through the split."
        return "No winner yet."

    def as_dict(self) -> dict[str, Any]:
        decision = self.decision
        return {
            "node": self.node_id,
            "metric": self.metric,
            "metric_label": self.metric_label,
            "smart": self.smart,
            "min_sample": self.min_sample,
            "arms": self.arms,
            "winner": self.winner,
            "leader": decision.leader,
            "reason": decision.reason,
            "headline": self.headline,
            "short": self.short,
            "more_needed": self.more_needed,
            "needed_per_arm": decision.needed_per_arm,
            "sample_ratio_mismatch": decision.sample_ratio_mismatch,
            "srm_p_value": None if self.smart else decision.srm_p_value,
            "chosen": self.chosen,
            "regret": asdict(self.regret) if self.regret is not None else None,
        }


def split_decision(
    *,
    workflow: Workflow,
    node: Mapping[str, Any],
    graph: Mapping[str, Any],
    since: datetime | None = None,
    until: datetime | None = None,
) -> SplitDecision:
    """The results and the call of one A/B split node (`node`: its JSON, in `graph`)."""
    config = node.get("config") or {}
    variants = [v for v in config.get("variants") or [] if isinstance(v, dict)]
    metric = metric_of(config)
    smart = config.get("mode") == SMART
    min_sample = int(config.get("min_sample") or DEFAULT_MIN_SAMPLE)
    counts = split_counts(
        workflow=workflow,
        node_id=node["id"],
        metric=metric,
        message_nodes=message_nodes_after(graph, node["id"]),
        since=since,
        until=until,
    )
    arms = [
        Arm(str(v["name"]).upper(), *counts.get(str(v["name"]), (0, 0)), weight=v.get("weight", 1))
        for v in variants
    ]
    decision = ab_decide(arms, min_sample=min_sample, check_ratio=not smart)
    shares = (
        smart_shares(workflow=workflow, node_id=node["id"], config=config, graph=graph)
        if smart
        else {}
    )
    rows = [
        {
            "port": str(v["name"]),
            "key": result.key,
            "weight": v.get("weight"),
            "share": shares.get(str(v["name"])) if smart else None,
            "entered": result.n,
            "successes": result.conversions,
            "rate": result.rate,
            "prob_best": result.prob_best,
            "expected_loss": result.expected_loss,
            "p_value": result.p_value,
            "lift": result.lift,
        }
        for v, result in zip(variants, decision.arms, strict=True)
    ]
    chosen = (workflow.split_winners or {}).get(node["id"])
    return SplitDecision(
        node_id=node["id"],
        metric=metric,
        smart=smart,
        min_sample=min_sample,
        arms=rows,
        decision=decision,
        more_needed=_more_needed(decision, arms, min_sample),
        chosen=chosen if chosen in {r["port"] for r in rows} else None,
        regret=regret_saved(arms) if smart else None,
    )


def _more_needed(decision: Decision, arms: list[Arm], min_sample: int) -> int | None:
    """Contacts still to come through the split before the data can call a winner: each
    variant up to the minimum (or to the sample that would detect the observed difference,
    when larger). None when there is a winner, a mismatch, or no shortfall to name."""
    if decision.winner or decision.sample_ratio_mismatch:
        return None
    target = max(min_sample, decision.needed_per_arm or 0)
    return sum(max(0, target - arm.n) for arm in arms) or None


# --- the smart split -----------------------------------------------------------------------


def smart_shares(
    *,
    workflow: Workflow,
    node_id: str,
    config: Mapping[str, Any],
    graph: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Variant -> its share of the next contacts: Thompson sampling on the node's metric with a
    floor per variant (`floor`, percent). Cached per node (and config) for
    WORKFLOWS_SMART_SPLIT_REFRESH_SECONDS: one query and one posterior per refresh, not per
    contact. `graph` (the version's JSON) finds the messages a `clicks` metric counts."""
    names = variant_names(config)
    metric = metric_of(config)
    floor = int(config.get("floor", DEFAULT_FLOOR))
    fingerprint = hashlib.blake2b(
        json.dumps([names, metric, floor]).encode(), digest_size=6
    ).hexdigest()
    key = f"workflows:smart:{workflow.workspace_id}:{workflow.pk}:{node_id}:{fingerprint}"
    shares: dict[str, float] | None = cache.get(key)
    if shares is None:
        if graph is None and metric == "clicks":
            version = workflow.current_version
            graph = version.graph if version is not None else {}
        counts = split_counts(
            workflow=workflow,
            node_id=node_id,
            metric=metric,
            message_nodes=message_nodes_after(graph or {}, node_id),
        )
        arms = [Arm(name, *counts.get(name, (0, 0))) for name in names]
        shares = dict(zip(names, thompson_allocation(arms, floor=floor / 100), strict=True))
        cache.set(key, shares, timeout=settings.WORKFLOWS_SMART_SPLIT_REFRESH_SECONDS)
    return shares
