"""Demo data for scoring (`make dev`): a primary model whose rules have counted the sample
month, so the leads view ranks believable scores instead of every lead at 0."""

from __future__ import annotations

from typing import Any

from workspaces.models import Workspace

DEMO_RULES: list[dict[str, Any]] = [
    {"kind": "behavioural", "name": "Signed up", "event": "Signed Up", "points": 10},
    {"kind": "behavioural", "name": "Started a trial", "event": "Trial Started", "points": 15},
    {
        "kind": "behavioural",
        "name": "Viewed pricing",
        "event": "page",
        "where": [{"property": "path", "op": "eq", "value": "/pricing"}],
        "points": 5,
        "cap_per_day": 10,
    },
    {"kind": "behavioural", "name": "Ordered", "event": "Order Completed", "points": 20},
    {"kind": "behavioural", "name": "Clicked an email", "event": "email.clicked", "points": 3},
    {
        "kind": "fit",
        "name": "On a paid plan",
        "filter": {"all": [{"field": "plan", "op": "in", "value": ["pro", "enterprise"]}]},
        "points": 10,
    },
]


def demo_seed(*, workspace: Workspace, contacts: int, stdout: Any) -> None:
    from .models import RuleBackfill
    from .services.backfill import rule_backfill_run
    from .services.config import model_save, rule_save
    from .services.rescore import model_rescore

    model = model_save(
        workspace=workspace,
        data={
            "name": "Lead score",
            "description": "Demo: engagement and fit, decaying 10% a week.",
            "is_active": True,
            "mql_threshold": 60,
            "hysteresis": 10,
            "decay_mode": "percent",
            "decay_percent": 10,
            "decay_period_days": 7,
        },
    )
    rules = [
        rule_save(workspace=workspace, model=model, data={"is_active": True, **data})
        for data in DEMO_RULES
    ]
    # The sample month happened before the rules existed: count it, as a marketer would
    # from the rule's "Count past events" page.
    counted = 0
    for rule in rules:
        if rule.is_event_rule:
            backfill = RuleBackfill.objects.create(workspace=workspace, rule=rule, days=30)
            counted += rule_backfill_run(workspace=workspace, backfill=backfill).events_done
    model_rescore(workspace=workspace, model=model)
    stdout.write(f"  scoring model “{model.name}”: {len(rules)} rules, {counted:,} events counted")
