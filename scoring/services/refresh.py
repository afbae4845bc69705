"""The periodic refresh: bring scores whose `valid_until` has passed up to date.

Only rows that are due are touched — a contact whose points do not decay, or whose rounded
score will not move for another week, is not read at all. Each pass claims up to `limit`
due rows with `FOR UPDATE SKIP LOCKED` (two workers never fight over a row, and the
pipeline, which locks the same rows, simply waits or is waited for), applies inactivity
penalties that have started, recomputes, and writes everything back in bulk.

Decay does not record `score.changed` events (a decaying workspace would flood the stream
with them); the primary score's change is announced to segments as a changed `score`
field, and lifecycle moves (an MQL decaying out) as `lifecycle.changed` events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from workspaces.models import Workspace

from ..models import ContactScore, ScoringModel
from .engine import ScoreWriter, ruleset_load
from .stream import (
    lifecycle_events_record,
    score_events_record,
    stream_publish,
    transitions_follow_up,
)

REFRESH_BATCH = 2000


def scores_refresh_due(
    *,
    workspace: Workspace,
    now: datetime | None = None,
    limit: int = REFRESH_BATCH,
    model: ScoringModel | None = None,
    full: bool = False,
) -> int:
    """Refresh due rows until none are left; returns how many were refreshed. `full`
    recomputes from the whole ledger (after a model's decay settings changed)."""
    total = 0
    moment = now or timezone.now()
    while True:
        done = _refresh_pass(workspace=workspace, now=moment, limit=limit, model=model, full=full)
        total += done
        if done < limit:
            return total


@transaction.atomic
def _refresh_pass(
    *, workspace: Workspace, now: datetime, limit: int, model: ScoringModel | None, full: bool
) -> int:
    ruleset = ruleset_load(workspace=workspace)
    if ruleset.empty:
        return 0
    model_ids = [model.pk] if model is not None else list(ruleset.models)
    due = list(
        ContactScore.objects.for_workspace(workspace)
        .filter(valid_until__lte=now, model_id__in=model_ids)
        .select_for_update(skip_locked=True)
        .order_by("valid_until")[:limit]
    )
    if not due:
        return 0
    writer = ScoreWriter(workspace=workspace, ruleset=ruleset, now=now, full=full)
    writer.adopt(due)
    seen = _last_seen(workspace, ruleset, due)
    for row in due:
        model = ruleset.models[row.model_id]
        # The pipeline does not write a row just because its contact acted; what the contact
        # did last is the later of the row's note and Contact.last_seen_at (ingestion's).
        since = max(filter(None, [row.last_activity_at, seen.get(row.contact_id), row.created_at]))
        row.last_activity_at = since if since != row.created_at else row.last_activity_at
        for rule in ruleset.inactivity_rules.get(row.model_id, ()):
            started = since + timedelta(days=rule.inactive_days or 0)
            if str(rule.pk) not in row.state and started <= now:
                writer.state_set(model, row.contact_id, rule, held=True)
        writer.touch(model, row.contact_id)
    result = writer.flush()
    penalised = [o for o in result.outcomes if o.entries]
    ids = {o.contact_id for o in penalised} | {t.contact_id for t in result.transitions}
    events = []
    if ids:
        contacts = Contact.objects.for_workspace(workspace).in_bulk(list(ids))
        events += score_events_record(workspace=workspace, outcomes=penalised, contacts=contacts)
        events += lifecycle_events_record(
            workspace=workspace, transitions=result.transitions, contacts=contacts
        )
        transitions_follow_up(workspace=workspace, transitions=result.transitions)
    changed: dict[int, set[str]] = {}
    for outcome in result.outcomes:
        if outcome.model.is_primary and outcome.after != outcome.before:
            changed.setdefault(outcome.contact_id, set()).add("score")
    for transition in result.transitions:
        changed.setdefault(transition.contact_id, set()).add("lifecycle_stage")
    stream_publish(workspace=workspace, events=events, changed=changed)
    return len(due)


def _last_seen(
    workspace: Workspace, ruleset: object, due: list[ContactScore]
) -> dict[int, datetime]:
    wanted = [row.contact_id for row in due if row.model_id in ruleset.inactivity_rules]  # type: ignore[attr-defined]
    if not wanted:
        return {}
    return dict(
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=wanted, last_seen_at__isnull=False)
        .values_list("pk", "last_seen_at")
    )


def workspaces_with_scoring() -> list[int]:
    """Workspaces that have an active model (the fan-out of the periodic job)."""
    return sorted(
        set(ScoringModel.objects.filter(is_active=True).values_list("workspace_id", flat=True))
    )
