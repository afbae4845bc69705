"""Scoring's step of the events_ingested pipeline (ORDER_SCORING, before segments and workflows).

For one batch, in one transaction and a handful of queries whatever its size:
1. load the workspace's active models and rules once;
2. match each event against behavioural/bounce rules in memory (name, then `where`);
3. lock the contacts' score rows; award points within daily/total caps, keyed on
   (rule, event) so a retried task never counts an event twice;
4. re-evaluate state rules (fit, unsubscribed) for contacts whose relevant fields changed,
   whose events a rule's filter reads, whom the model has not seen before, or who absorbed
   another profile in a merge — one SQL query for all rules; release inactivity penalties
   of contacts that acted;
5. flush: bulk-insert ledger entries, recompute scores (decay-aware; a merged profile's from
   its whole ledger, which now holds the absorbed profile's entries too), bulk-update rows,
   mirror Contact.score, move lifecycle stages on threshold crossings;
6. record `score.changed` / `lifecycle.changed` and hand them to later processors.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Abs, TruncDate

from contacts.hooks import IngestedBatch
from contacts.models import Contact, Event
from workspaces.errors import TendrilError
from workspaces.models import Workspace

from ..conditions import contacts_matching, dependencies, touched, where_matches, where_parse
from ..models import ScoreChange, ScoringRule
from .engine import FlushResult, RuleSet, ScoreWriter, ruleset_load
from .stream import (
    LIFECYCLE_CHANGED,
    SCORE_CHANGED,
    lifecycle_events_record,
    score_events_record,
    transitions_follow_up,
)

logger = logging.getLogger(__name__)

# Events the platform records that are still something the contact did.
CONTACT_ACTIONS = frozenset({"email.opened", "email.clicked", "sms.replied", "form.submitted"})


def is_activity(event: Event) -> bool:
    return event.source != "platform" or event.name in CONTACT_ACTIONS


@dataclass
class Plan:
    matches: list[tuple[Event, ScoringRule]] = field(default_factory=list)
    state_checks: dict[int, set[int]] = field(default_factory=dict)  # rule id -> contacts
    activity: dict[int, datetime] = field(default_factory=dict)  # contact -> latest action
    lock_ids: set[int] = field(default_factory=set)
    cause: dict[int, int] = field(default_factory=dict)  # contact -> latest event id
    contacts: dict[int, Contact] = field(default_factory=dict)  # loaded with the batch
    merged: set[int] = field(default_factory=set)  # profiles that absorbed another one

    @property
    def empty(self) -> bool:
        return not self.lock_ids


def scoring_process_batch(batch: IngestedBatch) -> None:
    ruleset = ruleset_load(workspace=batch.workspace)
    if ruleset.empty:
        return
    plan = plan_batch(batch, ruleset)
    if plan.empty:
        return
    with transaction.atomic():
        writer = ScoreWriter(workspace=batch.workspace, ruleset=ruleset, recount=plan.merged)
        capped = sorted({r.pk for _, r in plan.matches if r.cap_per_day or r.cap_total})
        writer.lock(plan.lock_ids, capped=capped, day=_single_day(batch, plan))
        awards_apply(writer, plan.matches)
        states_apply(writer, ruleset, plan)
        activity_apply(writer, ruleset, plan.activity)
        result = writer.flush()
        events = _publish(batch, result, plan)
    batch.add_events(events)


def _single_day(batch: IngestedBatch, plan: Plan) -> tuple[datetime, datetime] | None:
    """The one calendar day (workspace time) of the batch's capped events, if there is one:
    then the lock reads today's cap use too, and caps cost no query of their own."""
    zone = ZoneInfo(batch.workspace.timezone or "UTC")
    days = {
        e.timestamp.astimezone(zone).date() for e, r in plan.matches if r.cap_per_day or r.cap_total
    }
    if len(days) != 1:
        return None
    start = datetime.combine(days.pop(), datetime.min.time(), tzinfo=zone)
    return start, start + timedelta(days=1)


# --- planning (no queries) ---------------------------------------------------------------------


# Parsed `where` conditions by (rule id, version): parsed once per process, not per event.
_WHERE: dict[tuple[int, Any], tuple[Any, ...] | None] = {}


def _where(rule: ScoringRule, workspace: Workspace) -> tuple[Any, ...] | None:
    key = (rule.pk, rule.updated_at)
    if key not in _WHERE:
        if len(_WHERE) > 10_000:
            _WHERE.clear()
        try:
            _WHERE[key] = where_parse(
                workspace=workspace, event=rule.trigger_event, where=rule.where
            )
        except TendrilError as error:
            logger.warning("scoring rule %s has an invalid where: %s", rule.pk, error.message)
            _WHERE[key] = None
    return _WHERE[key]


def plan_batch(batch: IngestedBatch, ruleset: RuleSet) -> Plan:
    plan = Plan()
    names_by_contact: dict[int, set[str]] = defaultdict(set)
    for event in batch.events:
        names_by_contact[event.contact_id].add(event.name)
        plan.cause[event.contact_id] = event.pk
        plan.contacts[event.contact_id] = event.contact
        for rule in ruleset.event_rules.get(event.name, ()):
            conditions = _where(rule, batch.workspace)
            if conditions is not None and where_matches(conditions, event.properties):
                plan.matches.append((event, rule))
                plan.lock_ids.add(event.contact_id)
        if ruleset.inactivity_rules and is_activity(event):
            latest = plan.activity.get(event.contact_id)
            if latest is None or event.timestamp > latest:
                plan.activity[event.contact_id] = event.timestamp
    plan.lock_ids |= set(plan.activity)
    # A merge moved the absorbed profile's ledger (and maybe its score rows) to the survivor:
    # its scores are recounted from the whole ledger, its state rules re-evaluated.
    plan.merged = {c for c, fields in batch.changed_fields.items() if "merged" in fields}
    plan.lock_ids |= plan.merged
    _plan_states(batch, ruleset, plan, names_by_contact)
    return plan


def _plan_states(
    batch: IngestedBatch, ruleset: RuleSet, plan: Plan, names: dict[int, set[str]]
) -> None:
    state_rules = [rule for rules in ruleset.state_rules.values() for rule in rules]
    if not state_rules:
        return
    # Contacts that acted are checked for being new to a model (then every state rule runs).
    plan.lock_ids |= {e.contact_id for e in batch.events if is_activity(e)}
    contacts = set(batch.changed_fields) | set(names)
    for rule in state_rules:
        deps = dependencies(rule.state_filter)
        wanted = {
            c for c in contacts if touched(deps, batch.changed_fields.get(c, ()), names.get(c, ()))
        }
        if wanted:
            plan.state_checks.setdefault(rule.pk, set()).update(wanted)
            plan.lock_ids |= wanted


# --- applying -------------------------------------------------------------------------------------


def awards_apply(writer: ScoreWriter, matches: list[tuple[Event, ScoringRule]]) -> None:
    caps = _CapLedger(writer, [(e, r) for e, r in matches if r.cap_per_day or r.cap_total])
    for event, rule in matches:
        points = caps.allow(event, rule)
        writer.add(
            rule.model,
            event.contact_id,
            points=points,
            reason=rule.name,
            rule=rule,
            event_id=event.pk,
            key=f"r{rule.pk}:e{event.pk}",
            at=event.timestamp,
        )


class _CapLedger:
    """Points already awarded per (rule, contact) in total and per day, for capped rules."""

    def __init__(self, writer: ScoreWriter, capped: list[tuple[Event, ScoringRule]]):
        self.zone = ZoneInfo(writer.workspace.timezone or "UTC")
        self.total: dict[tuple[int, int], int] = defaultdict(int)
        self.daily: dict[tuple[int, int, Any], int] = defaultdict(int)
        if not capped:
            return
        if writer.cap_day is not None:  # read with the lock
            day = self.day(writer.cap_day[0])
            for (rule_id, contact_id), (total, today) in writer.cap_usage.items():
                self.total[(rule_id, contact_id)] = total
                self.daily[(rule_id, contact_id, day)] = today
            return
        rules = {r.pk for _, r in capped}
        contacts = {e.contact_id for e, _ in capped}
        base = ScoreChange.objects.for_workspace(writer.workspace).filter(
            rule_id__in=rules, contact_id__in=contacts
        )
        for row in base.values("rule_id", "contact_id").annotate(used=Sum(Abs("points"))):
            self.total[(row["rule_id"], row["contact_id"])] = row["used"] or 0
        since = datetime.combine(
            min(self.day(e.timestamp) for e, _ in capped), datetime.min.time(), tzinfo=self.zone
        )
        rows = (
            base.filter(at__gte=since)
            .annotate(day=TruncDate("at", tzinfo=self.zone))
            .values("rule_id", "contact_id", "day")
            .annotate(used=Sum(Abs("points")))
        )
        for row in rows:
            self.daily[(row["rule_id"], row["contact_id"], row["day"])] = row["used"] or 0

    def day(self, moment: datetime) -> Any:
        return moment.astimezone(self.zone).date()

    def allow(self, event: Event, rule: ScoringRule) -> int:
        if not (rule.cap_per_day or rule.cap_total):
            return rule.points
        key = (rule.pk, event.contact_id)
        day_key = (rule.pk, event.contact_id, self.day(event.timestamp))
        room = abs(rule.points)
        if rule.cap_total:
            room = min(room, max(0, rule.cap_total - self.total[key]))
        if rule.cap_per_day:
            room = min(room, max(0, rule.cap_per_day - self.daily[day_key]))
        self.total[key] += room
        self.daily[day_key] += room
        return room if rule.points > 0 else -room


def states_apply(writer: ScoreWriter, ruleset: RuleSet, plan: Plan) -> None:
    checks = {rule_id: set(contacts) for rule_id, contacts in plan.state_checks.items()}
    for model_id, contact_id in writer.new_rows:
        for rule in ruleset.state_rules.get(model_id, ()):
            checks.setdefault(rule.pk, set()).add(contact_id)
    if not checks:
        return
    rules = {rule.pk: rule for rules in ruleset.state_rules.values() for rule in rules}
    wanted = {c for contacts in checks.values() for c in contacts}
    missing = wanted - set(plan.contacts)
    if missing:  # contacts with changed fields but no event in the batch
        plan.contacts.update(Contact.objects.for_workspace(writer.workspace).in_bulk(list(missing)))
    for rule_id, contact_ids in checks.items():
        rule = rules[rule_id]
        try:
            held = contacts_matching(
                workspace=writer.workspace,
                tree=rule.state_filter,
                cache_key=(rule.pk, rule.updated_at),
                contacts={c: plan.contacts[c] for c in contact_ids if c in plan.contacts},
            )
        except TendrilError as error:
            logger.warning("scoring rule %s has an invalid filter: %s", rule.pk, error.message)
            continue
        for contact_id in contact_ids:
            if (rule.model_id, contact_id) in writer.rows:
                writer.state_set(
                    rule.model,
                    contact_id,
                    rule,
                    held=contact_id in held,
                    event_id=plan.cause.get(contact_id),
                )


def activity_apply(writer: ScoreWriter, ruleset: RuleSet, activity: dict[int, datetime]) -> None:
    """Acting again ends an inactivity penalty; the clock restarts from this action."""
    for model_id, rules in ruleset.inactivity_rules.items():
        model = ruleset.models[model_id]
        for contact_id, at in activity.items():
            if (model_id, contact_id) not in writer.rows:
                continue
            writer.activity(model, contact_id, at)
            for rule in rules:
                if str(rule.pk) in writer.row(model, contact_id).state:
                    writer.state_set(model, contact_id, rule, held=False)


# --- publishing -------------------------------------------------------------------------------


def _publish(batch: IngestedBatch, result: FlushResult, plan: Plan) -> list[Event]:
    workspace = batch.workspace
    seeds = {contact_id: f"e{event_id}" for contact_id, event_id in plan.cause.items()}
    ids = {o.contact_id for o in result.outcomes} | {t.contact_id for t in result.transitions}
    events: list[Event] = []
    if ids:
        contacts = _current_contacts(batch, result, plan, ids)
        events += score_events_record(
            workspace=workspace, outcomes=result.outcomes, contacts=contacts, seeds=seeds
        )
        events += lifecycle_events_record(
            workspace=workspace, transitions=result.transitions, contacts=contacts, seeds=seeds
        )
        transitions_follow_up(workspace=workspace, transitions=result.transitions)
    for outcome in result.outcomes:
        if outcome.model.is_primary and outcome.after != outcome.before:
            batch.mark_changed(outcome.contact_id, {"score"})
    for transition in result.transitions:
        batch.mark_changed(transition.contact_id, {"lifecycle_stage"})
    if result.duplicates:
        events += _events_of_earlier_attempt(workspace, result, seeds, ids)
    return events


def _current_contacts(
    batch: IngestedBatch, result: FlushResult, plan: Plan, ids: set[int]
) -> dict[int, Contact]:
    """The contacts the new events are about, as later processors should see them: the
    batch's own instances (no query) brought up to date with the new score and stage —
    every instance of a contact, since each of its events carries one."""
    missing = ids - set(plan.contacts)
    if missing:
        plan.contacts.update(Contact.objects.for_workspace(batch.workspace).in_bulk(list(missing)))
    changes: dict[int, dict[str, Any]] = defaultdict(dict)
    for outcome in result.outcomes:
        if outcome.model.is_primary:
            changes[outcome.contact_id]["score"] = outcome.after
    for transition in result.transitions:
        changes[transition.contact_id]["lifecycle_stage"] = transition.stage_to
    instances = [plan.contacts[c] for c in ids] + [
        e.contact for e in batch.events if e.contact_id in changes
    ]
    for contact in instances:
        for name, value in changes.get(contact.pk, {}).items():
            setattr(contact, name, value)
    return {c: plan.contacts[c] for c in ids}


def _events_of_earlier_attempt(
    workspace: Workspace, result: FlushResult, seeds: dict[int, str], done: set[int]
) -> list[Event]:
    """A retried batch: the score changes exist already; re-offer the events they recorded
    to the processors after us (which may be the ones that failed)."""
    message_ids = []
    for model_id, contact_id in result.duplicates:
        if contact_id in done or contact_id not in seeds:
            continue
        seed = seeds[contact_id]
        message_ids.append(f"{SCORE_CHANGED}:{model_id}:{contact_id}:{seed}")
        message_ids.append(f"{LIFECYCLE_CHANGED}:{contact_id}:{seed}")
    if not message_ids:
        return []
    return list(
        Event.objects.for_workspace(workspace)
        .filter(message_id__in=message_ids)
        .filter(~Q(contact_id__in=done))
        .select_related("contact")
    )
