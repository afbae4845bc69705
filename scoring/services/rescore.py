"""Rescoring a model after its definition changed — set-based, in chunks, in the background.

- State rules (fit, unsubscribed): who matches now is one SQL query per rule; who holds the
  rule is one query on `ContactScore.state`; only the difference is written.
- Rules switched off or deleted release what they held.
- Decay, threshold or activation changes make every row of the model due, and the normal
  refresh recomputes them (with `full`, from the whole ledger).

Bulk recalculation announces changed scores to segments as a changed `score` field and
records `lifecycle.changed` for stage moves; it does not write one `score.changed` per
contact (a rule edit on a big workspace would flood the stream).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contacts.models import Contact
from workspaces.models import Workspace

from ..decay import DecayPolicy
from ..models import ContactScore, ScoreChange, ScoringModel, ScoringRule
from .engine import FlushResult, RuleSet, ScoreWriter, ruleset_load
from .refresh import scores_refresh_due
from .stream import lifecycle_events_record, stream_publish, transitions_follow_up

CHUNK = 1000


def entries_expiry_recompute(*, workspace: Workspace, model: ScoringModel) -> int:
    """After decay settings change: every entry's `expires_at`, set-based (one UPDATE per
    distinct points value — there are few), then every row of the model is due."""
    policy = DecayPolicy.of(model)
    entries = ScoreChange.objects.for_workspace(workspace).filter(model=model, decays=True)
    updated = 0
    if policy.mode == "expire":
        updated = entries.update(expires_at=F("at") + policy.expire_after)
    elif policy.decays:
        for points in entries.values_list("points", flat=True).distinct():
            steps = policy.dead_after_steps(points)
            updated += entries.filter(points=points).update(
                expires_at=F("at") + policy.period * steps
            )
    else:
        updated = entries.exclude(expires_at=None).update(expires_at=None)
    ContactScore.objects.for_workspace(workspace).filter(model=model).update(
        valid_until=timezone.now()
    )
    return updated


def model_rescore(*, workspace: Workspace, model: ScoringModel, mark_due: bool = False) -> int:
    """Bring every contact's state rules under `model` up to date; returns contacts changed."""
    if mark_due:
        entries_expiry_recompute(workspace=workspace, model=model)
    ruleset = ruleset_load(workspace=workspace)
    if model.pk not in ruleset.models:
        return 0
    wanted = _state_differences(workspace, ruleset, model)
    contact_ids = sorted(wanted)
    for start in range(0, len(contact_ids), CHUNK):
        _apply_chunk(workspace, ruleset, model, contact_ids[start : start + CHUNK], wanted)
    if mark_due:
        _refresh_all(workspace, ruleset, model)
    return len(contact_ids)


def _state_differences(
    workspace: Workspace, ruleset: RuleSet, model: ScoringModel
) -> dict[int, dict[int, bool]]:
    """contact id -> {rule id: should hold} for every contact whose state must change."""
    from segments.filters import compile_filter

    rows = ContactScore.objects.for_workspace(workspace).filter(model=model)
    wanted: dict[int, dict[int, bool]] = defaultdict(dict)
    for rule in ruleset.state_rules.get(model.pk, ()):
        key = str(rule.pk)
        matching = set(
            compile_filter(workspace=workspace, tree=rule.state_filter).values_list("pk", flat=True)
        )
        held = dict(rows.filter(state__has_key=key).values_list("contact_id", f"state__{key}"))
        for contact_id in matching:
            if held.get(contact_id) != rule.points:
                wanted[contact_id][rule.pk] = True
        for contact_id in set(held) - matching:
            wanted[contact_id][rule.pk] = False
    stale = list(
        ScoringRule.objects.for_workspace(workspace)
        .filter(model=model)
        .exclude(pk__in=[r.pk for r in ruleset.rules])
        .values_list("pk", flat=True)
    )
    if stale:
        holding = rows.filter(state__has_any_keys=[str(pk) for pk in stale])
        for contact_id, state in holding.values_list("contact_id", "state"):
            for pk in stale:
                if str(pk) in state:
                    wanted[contact_id][pk] = False
    return wanted


@transaction.atomic
def _apply_chunk(
    workspace: Workspace,
    ruleset: RuleSet,
    model: ScoringModel,
    contact_ids: list[int],
    wanted: dict[int, dict[int, bool]],
) -> None:
    model = ruleset.models[model.pk]
    writer = ScoreWriter(workspace=workspace, ruleset=ruleset)
    writer.lock(contact_ids, models=[model])
    rules = {r.pk: r for r in ScoringRule.objects.for_workspace(workspace).filter(model=model)}
    for contact_id in contact_ids:
        for rule_id, hold in wanted[contact_id].items():
            rule = rules.get(rule_id)
            if rule is not None:
                rule.model = model
                writer.state_set(model, contact_id, rule, held=hold)
            else:  # the rule is gone entirely: drop its key without a ledger entry to attach
                row = writer.row(model, contact_id)
                row.state = {k: v for k, v in row.state.items() if k != str(rule_id)}
                writer.touch(model, contact_id)
    announce_changes(workspace, writer.flush())


def announce_changes(workspace: Workspace, result: FlushResult) -> None:
    """Tell segments about changed scores and record stage moves, without one score.changed
    per contact (a bulk recalculation would flood the stream)."""
    changed: dict[int, set[str]] = {}
    for outcome in result.outcomes:
        if outcome.model.is_primary and outcome.after != outcome.before:
            changed.setdefault(outcome.contact_id, set()).add("score")
    events = []
    if result.transitions:
        contacts = Contact.objects.for_workspace(workspace).in_bulk(
            [t.contact_id for t in result.transitions]
        )
        events = lifecycle_events_record(
            workspace=workspace, transitions=result.transitions, contacts=contacts
        )
        transitions_follow_up(workspace=workspace, transitions=result.transitions)
        for transition in result.transitions:
            changed.setdefault(transition.contact_id, set()).add("lifecycle_stage")
    stream_publish(workspace=workspace, events=events, changed=changed)


def _refresh_all(workspace: Workspace, ruleset: RuleSet, model: ScoringModel) -> None:
    """Every row of the model was marked due; recompute them from the whole ledger."""
    scores_refresh_due(workspace=workspace, model=model, full=True)
    scores_refresh_due(workspace=workspace)
