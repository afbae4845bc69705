"""The scoring engine: lock contacts' scores, add ledger entries, recompute, write back in bulk.

Every path that changes a score goes through `ScoreWriter` — the pipeline processor, the
workflow/sales services, the periodic decay refresh, a rescore after a rule edit — so
thresholds, hysteresis, `Contact.score` and lifecycle transitions behave the same everywhere.

A writer is used inside one transaction:

    writer = ScoreWriter(workspace=ws, ruleset=ruleset_load(workspace=ws))
    writer.lock(contact_ids)                  # SELECT … FOR UPDATE (creating missing rows)
    writer.add(model, contact_id, points=5, reason="Visited pricing", key="r1:e9", ...)
    writer.state_set(model, contact_id, rule, held=True, reason=...)
    result = writer.flush()                   # bulk writes; returns outcomes and transitions
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact, LifecycleStage
from workspaces.models import Workspace

from ..decay import DecayPolicy, Entry, round_score
from ..models import ContactScore, ScoreChange, ScoreSource, ScoringModel, ScoringRule
from . import sql

# Stages the score may promote to MQL, and the stage a demoted MQL returns to. SQL,
# customer and "other" (disqualified) belong to people, not to the score.
PROMOTABLE = (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD)
DEMOTED_TO = LifecycleStage.LEAD


@dataclass
class RuleSet:
    """A workspace's active models and their active rules, loaded once per batch."""

    models: dict[int, ScoringModel]
    rules: list[ScoringRule]
    primary: ScoringModel | None = None
    event_rules: dict[str, list[ScoringRule]] = field(default_factory=dict)
    state_rules: dict[int, list[ScoringRule]] = field(default_factory=dict)
    inactivity_rules: dict[int, list[ScoringRule]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.models


# Each process keeps the rule sets it loaded, stamped with a version that lives in the
# cache (Redis). Any save or delete of a model or rule stamps a new version (now, and again
# when its transaction commits), so the pipeline pays one cache read per batch instead of
# reloading rules — and never scores with rules older than the last committed edit.
_RULESETS: dict[int, tuple[str, RuleSet]] = {}
_MAX_RULESETS = 10_000


def _version_key(workspace_id: int) -> str:
    return f"scoring:ruleset:{workspace_id}"


def rules_changed(workspace_id: int) -> None:
    def stamp() -> None:
        try:
            cache.set(_version_key(workspace_id), uuid.uuid4().hex, timeout=None)
        except Exception:  # noqa: BLE001 — no cache: every load goes to the database anyway
            _RULESETS.pop(workspace_id, None)

    stamp()
    transaction.on_commit(stamp)


def _version(workspace_id: int) -> str | None:
    try:
        version = cache.get(_version_key(workspace_id))
        if version is None:
            cache.add(_version_key(workspace_id), uuid.uuid4().hex, timeout=None)
            version = cache.get(_version_key(workspace_id))
        return str(version) if version else None
    except Exception:  # noqa: BLE001 — the cache is an optimisation, not a dependency
        return None


def ruleset_load(*, workspace: Workspace) -> RuleSet:
    version = _version(workspace.pk)
    cached = _RULESETS.get(workspace.pk)
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    ruleset = _ruleset_query(workspace)
    if version is not None:
        if len(_RULESETS) >= _MAX_RULESETS:
            _RULESETS.clear()
        _RULESETS[workspace.pk] = (version, ruleset)
    return ruleset


def _ruleset_query(workspace: Workspace) -> RuleSet:
    models = {m.pk: m for m in ScoringModel.objects.for_workspace(workspace).filter(is_active=True)}
    rules = list(
        ScoringRule.objects.for_workspace(workspace).filter(
            is_active=True, model_id__in=list(models)
        )
    )
    ruleset = RuleSet(models=models, rules=rules)
    ruleset.primary = next((m for m in models.values() if m.is_primary), None)
    for rule in rules:
        rule.model = models[rule.model_id]
        if rule.is_event_rule:
            ruleset.event_rules.setdefault(rule.trigger_event, []).append(rule)
        elif rule.state_filter:
            ruleset.state_rules.setdefault(rule.model_id, []).append(rule)
        elif rule.is_inactivity_rule and rule.inactive_days:
            ruleset.inactivity_rules.setdefault(rule.model_id, []).append(rule)
    return ruleset


@dataclass
class Outcome:
    """One contact's score under one model changed (or crossed a threshold)."""

    model: ScoringModel
    contact_id: int
    before: int
    after: int
    crossed: str | None  # "up" (became qualified), "down" (lost it) or None
    entries: list[ScoreChange]

    @property
    def delta(self) -> int:
        return self.after - self.before

    @property
    def reasons(self) -> list[str]:
        return [f"{e.points:+d} {e.reason}" for e in self.entries]


@dataclass
class Transition:
    contact_id: int
    stage_from: str
    stage_to: str
    reason: str
    model: ScoringModel | None = None


@dataclass
class FlushResult:
    outcomes: list[Outcome] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    # Keyed entries that already existed (a retried batch): (model id, contact id) -> event ids.
    duplicates: dict[tuple[int, int], list[int]] = field(default_factory=dict)


Key = tuple[int, int]  # (model id, contact id)


class ScoreWriter:
    def __init__(
        self,
        *,
        workspace: Workspace,
        ruleset: RuleSet,
        now: datetime | None = None,
        full: bool = False,
        recount: Iterable[int] = (),
    ):
        # full: recompute from the whole ledger even for models without decay (after the
        # model's decay settings changed, the stored score is no base to add to).
        self.full = full
        # Contacts whose rows are recomputed from the whole ledger, under every model, as soon
        # as they are locked: a merged profile, whose ledger now holds the entries of the
        # profile it absorbed (its stored score is no base to add to either).
        self.recount = set(recount)
        self.workspace = workspace
        self.ruleset = ruleset
        self.now = now or timezone.now()
        self.rows: dict[Key, ContactScore] = {}
        self.new_rows: set[Key] = set()
        self.entries: dict[Key, list[ScoreChange]] = defaultdict(list)
        self.touched: set[Key] = set()
        self.policies = {pk: DecayPolicy.of(m) for pk, m in ruleset.models.items()}
        # Read with the lock: each row's live decaying entries, and points used by capped
        # rules — {(rule id, contact id): (in total, within `cap_day`)}.
        self.live: dict[Key, list[Entry]] = {}
        self.cap_usage: dict[tuple[int, int], tuple[int, int]] = {}
        self.cap_day: tuple[datetime, datetime] | None = None

    # --- rows ----------------------------------------------------------------------------

    def lock(
        self,
        contact_ids: set[int] | list[int],
        models: list[ScoringModel] | None = None,
        *,
        capped: list[int] | None = None,
        day: tuple[datetime, datetime] | None = None,
    ) -> None:
        """Lock the ContactScore rows of these contacts (creating missing ones) and read their
        live entries and the use of `capped` rules within `day` — one round trip when all
        rows exist, two when some are new."""
        model_ids = [m.pk for m in (models or self.ruleset.models.values())]
        wanted = {(m, c) for m in model_ids for c in contact_ids} - set(self.rows)
        if not wanted:
            return
        self.cap_day = day
        self._keep_locked(
            self._locked(sorted({c for _, c in wanted}), model_ids, capped or []), wanted
        )
        missing = sorted(wanted - set(self.rows))
        if not missing:
            self._touch_recounted(wanted)
            return
        created = sql.rows_insert_missing(
            workspace_id=self.workspace.pk,
            now=self.now,
            rows=[(m, c, self._first_inactivity_due(m, self.now)) for m, c in missing],
        )
        self._keep(created, set(missing))
        for row in created:
            key = (row.model_id, row.contact_id)
            self.new_rows.add(key)
            self.live[key] = []
        raced = set(missing) - set(self.rows)
        if raced:  # another transaction created them meanwhile: lock theirs
            again = self._locked(sorted({c for _, c in raced}), model_ids, capped or [])
            self._keep_locked(again, raced)
        self._touch_recounted(wanted)

    def _touch_recounted(self, keys: set[Key]) -> None:
        self.touched |= {key for key in keys if key[1] in self.recount and key in self.rows}

    def _whole_ledger(self, key: Key) -> bool:
        return self.full or key[1] in self.recount

    def _locked(
        self, contact_ids: list[int], model_ids: list[int], capped: list[int]
    ) -> list[sql.LockedRow]:
        return sql.rows_lock(
            workspace_id=self.workspace.pk,
            now=self.now,
            contact_ids=contact_ids,
            model_ids=model_ids,
            decaying=[m for m in model_ids if self.policies[m].decays or self.full],
            capped=capped,
            day=self.cap_day,
            recount=sorted(self.recount.intersection(contact_ids)),
        )

    def _keep_locked(self, locked: list[sql.LockedRow], wanted: set[Key]) -> None:
        self._keep([row for row, _, _ in locked], wanted)
        for row, live, usage in locked:
            key = (row.model_id, row.contact_id)
            if key not in wanted:
                continue
            if live is not None:
                self.live[key] = live
            for rule_id, used in usage.items():
                self.cap_usage[(rule_id, row.contact_id)] = used

    def _keep(self, rows: list[ContactScore], wanted: set[Key]) -> None:
        for row in rows:
            key = (row.model_id, row.contact_id)
            if key in wanted:
                row.model = self.ruleset.models[row.model_id]
                self.rows[key] = row

    def adopt(self, rows: list[ContactScore]) -> None:
        """Take rows the caller already locked (the due refresh claims them itself)."""
        self._keep(rows, {(row.model_id, row.contact_id) for row in rows})

    def row(self, model: ScoringModel, contact_id: int) -> ContactScore:
        return self.rows[(model.pk, contact_id)]

    # --- inputs --------------------------------------------------------------------------

    def add(
        self,
        model: ScoringModel,
        contact_id: int,
        *,
        points: int,
        reason: str,
        rule: ScoringRule | None = None,
        source: str = ScoreSource.RULE,
        event_id: int | None = None,
        key: str = "",
        at: datetime | None = None,
        decays: bool = True,
    ) -> ScoreChange | None:
        if points == 0:
            return None
        at = min(at or self.now, self.now)
        policy = self.policies.get(model.pk) or DecayPolicy.of(model)
        entry = ScoreChange(
            workspace=self.workspace,
            contact_id=contact_id,
            model=model,
            rule=rule,
            points=points,
            reason=reason[:300],
            source=source,
            event_id=event_id,
            key=key,
            at=at,
            created_at=self.now,
            decays=decays,
            expires_at=policy.expires_at(points, at) if decays else None,
        )
        self.entries[(model.pk, contact_id)].append(entry)
        self.touched.add((model.pk, contact_id))
        return entry

    def state_set(
        self,
        model: ScoringModel,
        contact_id: int,
        rule: ScoringRule,
        *,
        held: bool,
        event_id: int | None = None,
    ) -> None:
        """Hold (or release) a state rule's points: the ledger gets the difference."""
        row = self.row(model, contact_id)
        current = int(row.state.get(str(rule.pk), 0))
        target = rule.points if held else 0
        if current == target and (str(rule.pk) in row.state) == held:
            return
        state = dict(row.state)
        if held:
            state[str(rule.pk)] = target
        else:
            state.pop(str(rule.pk), None)
        row.state = state
        self.touched.add((model.pk, contact_id))
        self.add(
            model,
            contact_id,
            points=target - current,
            reason=rule.name if held else f"No longer: {rule.name}",
            rule=rule,
            source=ScoreSource.FIT,
            event_id=event_id,
            decays=False,
        )

    def activity(self, model: ScoringModel, contact_id: int, at: datetime) -> None:
        """Note the contact's latest action. Written only with a row that changes anyway (or
        a new one): the inactivity clock is checked lazily by the refresh, which also reads
        Contact.last_seen_at — no write per event just to move a timestamp."""
        row = self.row(model, contact_id)
        at = min(at, self.now)
        if row.last_activity_at is None or at > row.last_activity_at:
            row.last_activity_at = at
            if (model.pk, contact_id) in self.new_rows:
                self.touched.add((model.pk, contact_id))

    def touch(self, model: ScoringModel, contact_id: int) -> None:
        """Recompute this row even without new input (a due refresh)."""
        self.touched.add((model.pk, contact_id))

    # --- output --------------------------------------------------------------------------

    def flush(self) -> FlushResult:
        result = FlushResult()
        if not self.touched:
            return result
        self._insert_entries(result)
        live = self._live_entries()
        for key in sorted(self.touched):
            outcome = self._recompute(key, live.get(key, []))
            if outcome is not None:
                result.outcomes.append(outcome)
        self._save_rows(result)
        self._move_stages_on_crossings(result)
        self.entries.clear()
        self.touched.clear()
        return result

    def _insert_entries(self, result: FlushResult) -> None:
        """Insert the new entries; keyed ones that exist already (a retried batch) are
        dropped here, and reported in `result.duplicates`."""
        pending = [e for key in sorted(self.entries) for e in self.entries[key]]
        inserted = {
            id(e)
            for e in sql.entries_insert(
                workspace_id=self.workspace.pk, now=self.now, entries=pending
            )
        }
        for key, items in self.entries.items():
            for entry in items:
                if id(entry) not in inserted:
                    result.duplicates.setdefault(key, []).append(entry.event_id or 0)
            self.entries[key] = [e for e in items if id(e) in inserted]

    def _live_entries(self) -> dict[Key, list[Entry]]:
        """Live decaying entries of touched rows under decaying models: read with the lock
        (plus what this flush inserted), else one query per model (rows the refresh adopted)."""
        by_model: dict[int, list[int]] = defaultdict(list)
        live: dict[Key, list[Entry]] = defaultdict(list)
        for key in self.touched:
            if not (self.policies[key[0]].decays or self._whole_ledger(key)):
                continue
            if key in self.live:
                live[key] = self.live[key] + [
                    (e.points, e.at) for e in self.entries.get(key, []) if e.decays
                ]
            else:
                by_model[key[0]].append(key[1])
        for model_id, contact_ids in by_model.items():
            rows = (
                ScoreChange.objects.for_workspace(self.workspace)
                .filter(model_id=model_id, contact_id__in=contact_ids, decays=True)
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=self.now))
                .values_list("contact_id", "points", "at")
            )
            for contact_id, points, at in rows:
                live[(model_id, contact_id)].append((points, at))
        return live

    def _recompute(self, key: Key, live: list[Entry]) -> Outcome | None:
        row = self.rows[key]
        model = self.ruleset.models[key[0]]
        policy = self.policies[key[0]]
        new_entries = self.entries.get(key, [])
        before = row.score
        if policy.decays or self._whole_ledger(key):
            after = round_score(row.state_points + policy.total(live, self.now))
            decay_due = policy.next_change(live, self.now, static=row.state_points)
        else:
            after = before + sum(e.points for e in new_entries)
            decay_due = None
        row.valid_until = _earliest(decay_due, self._inactivity_due(row))
        row.score = after
        row.computed_at = self.now
        crossed = self._qualify(row, model, after)
        if after != before:
            row.last_delta = after - before
            row.last_changed_at = self.now
        if after == before and crossed is None and not new_entries:
            return None
        return Outcome(model, key[1], before, after, crossed, new_entries)

    def _qualify(self, row: ContactScore, model: ScoringModel, score: int) -> str | None:
        if not row.qualified and score >= model.mql_threshold:
            row.qualified, row.qualified_at = True, self.now
            return "up"
        if row.qualified and score < model.exit_threshold:
            row.qualified = False
            return "down"
        return None

    def _inactivity_due(self, row: ContactScore) -> datetime | None:
        """When the first not-yet-held inactivity penalty of the row's model starts."""
        since = row.last_activity_at or row.created_at or self.now
        dues = [
            since + timedelta(days=rule.inactive_days or 0)
            for rule in self.ruleset.inactivity_rules.get(row.model_id, [])
            if str(rule.pk) not in row.state
        ]
        return min(dues) if dues else None

    def _first_inactivity_due(self, model_id: int, since: datetime) -> datetime | None:
        rules = self.ruleset.inactivity_rules.get(model_id, [])
        return min((since + timedelta(days=r.inactive_days or 0) for r in rules), default=None)

    def _save_rows(self, result: FlushResult) -> None:
        """Write the rows, and mirror the primary model's scores into Contact.score."""
        primary = self.ruleset.primary
        changed = {
            o.contact_id: o.after
            for o in result.outcomes
            if primary is not None and o.model.pk == primary.pk and o.after != o.before
        }
        if primary is not None:
            # A recounted row may keep its stored score and still differ from Contact.score
            # (the row came over from the absorbed profile): mirror it regardless.
            changed |= {
                c: row.score
                for (m, c), row in self.rows.items()
                if m == primary.pk and c in self.recount and (m, c) in self.touched
            }
        rows = [self.rows[key] for key in sorted(self.touched)]
        sql.rows_update(
            workspace_id=self.workspace.pk, now=self.now, rows=rows, contact_scores=changed
        )

    def _move_stages_on_crossings(self, result: FlushResult) -> None:
        primary = self.ruleset.primary
        if primary is None:
            return
        mine = [o for o in result.outcomes if o.model.pk == primary.pk]
        up = {o.contact_id: o for o in mine if o.crossed == "up"}
        down = {o.contact_id: o for o in mine if o.crossed == "down"}
        if up or down:
            result.transitions.extend(self._move_stages(primary, up, down))

    def _move_stages(
        self, model: ScoringModel, up: dict[int, Outcome], down: dict[int, Outcome]
    ) -> list[Transition]:
        contacts = Contact.objects.for_workspace(self.workspace)
        stages = dict(contacts.filter(pk__in=[*up, *down]).values_list("pk", "lifecycle_stage"))
        promote = [pk for pk in up if stages.get(pk) in PROMOTABLE]
        demote = [pk for pk in down if stages.get(pk) == LifecycleStage.MQL]
        if promote:
            contacts.filter(pk__in=promote).update(
                lifecycle_stage=LifecycleStage.MQL, updated_at=self.now
            )
        if demote:
            contacts.filter(pk__in=demote).update(lifecycle_stage=DEMOTED_TO, updated_at=self.now)
        return [
            Transition(
                pk,
                stages[pk],
                LifecycleStage.MQL,
                f"Score {up[pk].after} reached {model.name}'s threshold of {model.mql_threshold}",
                model,
            )
            for pk in promote
        ] + [
            Transition(
                pk,
                LifecycleStage.MQL,
                DEMOTED_TO,
                f"Score {down[pk].after} fell below {model.exit_threshold} "
                f"({model.mql_threshold} − {model.hysteresis})",
                model,
            )
            for pk in demote
        ]


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None
