"""Rescore from history: count a behavioural rule's past events.

A rule scores the events that arrive after it is saved. When a marketer adds "Trial started
+25" to a workspace where people started trials last week, those contacts would otherwise
stay unscored. After the save the rule page says what counting the past would change
(`rule_backfill_estimate`), and on request a Celery task replays the matching events of the
chosen window through the rule (`rule_backfill_run`), in chunks, with progress.

Each award is keyed on (rule, event) exactly as the pipeline keys it, so an event already
counted — live, by an earlier backfill, or by a retried chunk — is never counted again, and
daily/total caps hold across the past and the present. Entries carry the event's own time,
so decay treats a month-old signal as a month old.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from contacts.models import Event
from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

from ..conditions import where_matches, where_parse
from ..models import RuleBackfill, ScoreChange, ScoringRule
from .engine import ScoreWriter, ruleset_load
from .pipeline import awards_apply
from .rescore import announce_changes

WINDOWS = (7, 30, 90, 365)
DEFAULT_DAYS = 90
CHUNK = 1000


@dataclass(frozen=True)
class BackfillEstimate:
    days: int
    events: int  # past events the rule matches in the window
    already_counted: int  # of those, the ones that already scored
    contacts: int  # contacts with at least one not-yet-counted event
    points: int  # the most it adds: uncounted events × the rule's points (caps may cut it)

    @property
    def to_count(self) -> int:
        return self.events - self.already_counted


def _check(rule: ScoringRule, days: int) -> None:
    if not rule.is_event_rule:
        raise ValidationFailed(
            "Only rules on an event count past events; fit rules are rescored on save.",
            fields={"rule": "not an event rule"},
        )
    if not rule.is_active or not rule.model.is_active:
        raise ValidationFailed(
            "Switch the rule and its model on before counting past events.",
            fields={"rule": "inactive"},
        )
    if days not in WINDOWS:
        raise ValidationFailed(
            f"Choose a window of {', '.join(map(str, WINDOWS))} days.", fields={"days": "unknown"}
        )


def _matching(workspace: Workspace, rule: ScoringRule, days: int) -> Iterator[Event]:
    """The window's events of the rule's name that meet its `where`, oldest first."""
    conditions = where_parse(workspace=workspace, event=rule.trigger_event, where=rule.where)
    since = timezone.now() - timedelta(days=days)
    events = (
        Event.objects.for_workspace(workspace)
        .filter(name=rule.trigger_event, timestamp__gte=since, contact_id__isnull=False)
        .only("id", "contact_id", "timestamp", "properties")
        .order_by("timestamp", "id")
    )
    for event in events.iterator(chunk_size=CHUNK):
        if where_matches(conditions, event.properties):
            yield event


def _counted(workspace: Workspace, rule: ScoringRule, event_ids: list[int]) -> set[int]:
    keys = [f"r{rule.pk}:e{pk}" for pk in event_ids]
    found: set[int] = set()
    for start in range(0, len(keys), CHUNK):
        found.update(
            ScoreChange.objects.for_workspace(workspace)
            .filter(model_id=rule.model_id, key__in=keys[start : start + CHUNK])
            .values_list("event_id", flat=True)
        )
    return found


def rule_backfill_estimate(
    *, workspace: Workspace, rule: ScoringRule, days: int = DEFAULT_DAYS
) -> BackfillEstimate:
    """What counting the rule's past events would change, before anything is written."""
    _check(rule, days)
    pairs = [(e.pk, e.contact_id) for e in _matching(workspace, rule, days)]
    counted = _counted(workspace, rule, [pk for pk, _ in pairs])
    contacts = {contact for pk, contact in pairs if pk not in counted}
    to_count = len(pairs) - len(counted)
    return BackfillEstimate(
        days=days,
        events=len(pairs),
        already_counted=len(counted),
        contacts=len(contacts),
        points=to_count * rule.points,
    )


@transaction.atomic
def rule_backfill_start(
    *, workspace: Workspace, rule: ScoringRule, days: int, actor: User | None
) -> RuleBackfill:
    """Queue a backfill; one at a time per rule (a second request shows the running one)."""
    _check(rule, days)
    ScoringRule.objects.for_workspace(workspace).select_for_update().filter(pk=rule.pk).first()
    running = RuleBackfill.objects.for_workspace(workspace).filter(
        rule=rule, status__in=[RuleBackfill.Status.PENDING, RuleBackfill.Status.RUNNING]
    )
    if running.exists():
        return running.first()  # type: ignore[return-value]
    backfill = RuleBackfill.objects.create(
        workspace=workspace, rule=rule, days=days, created_by=actor
    )
    from ..tasks import rule_backfill_task

    transaction.on_commit(lambda: rule_backfill_task.delay(workspace.pk, backfill.pk))
    return backfill


def rule_backfill_run(*, workspace: Workspace, backfill: RuleBackfill) -> RuleBackfill:
    """Replay the window's matching events through the rule, chunk by chunk, with progress."""
    rule = backfill.rule
    try:
        _check(rule, backfill.days)
    except ValidationFailed as error:
        return _finish(backfill, RuleBackfill.Status.FAILED, error=error.message)
    events = list(_matching(workspace, rule, backfill.days))
    backfill.status, backfill.events_total = RuleBackfill.Status.RUNNING, len(events)
    backfill.save(update_fields=["status", "events_total", "updated_at"])
    changed: set[int] = set()
    for start in range(0, len(events), CHUNK):
        chunk = events[start : start + CHUNK]
        points, contacts = _award_chunk(workspace, rule, chunk)
        changed |= contacts
        backfill.events_done += len(chunk)
        backfill.points_added += points
        backfill.contacts_changed = len(changed)
        backfill.save(
            update_fields=["events_done", "points_added", "contacts_changed", "updated_at"]
        )
    return _finish(backfill, RuleBackfill.Status.DONE)


@transaction.atomic
def _award_chunk(
    workspace: Workspace, rule: ScoringRule, events: list[Event]
) -> tuple[int, set[int]]:
    ruleset = ruleset_load(workspace=workspace)
    live = next((r for r in ruleset.rules if r.pk == rule.pk), None)
    if live is None:  # switched off meanwhile: stop awarding
        return 0, set()
    writer = ScoreWriter(workspace=workspace, ruleset=ruleset)
    capped = [live.pk] if live.cap_per_day or live.cap_total else None
    writer.lock({e.contact_id for e in events}, capped=capped)
    awards_apply(writer, [(event, live) for event in events])
    pending = [entry for entries in writer.entries.values() for entry in entries]
    result = writer.flush()
    duplicates = {(key, event_id) for key, ids in result.duplicates.items() for event_id in ids}
    awarded = [
        e for e in pending if ((e.model_id, e.contact_id), e.event_id or 0) not in duplicates
    ]
    announce_changes(workspace, result)
    return sum(e.points for e in awarded), {e.contact_id for e in awarded}


def _finish(backfill: RuleBackfill, status: str, *, error: str = "") -> RuleBackfill:
    backfill.status, backfill.error = status, error[:300]
    backfill.finished_at = timezone.now()
    backfill.save(update_fields=["status", "error", "finished_at", "updated_at"])
    return backfill
