"""Preview on history: what a draft would have done over the last N days of this
workspace's real events — read-only, nothing written, nothing sent.

Two stages, so it stays fast on a large workspace:

1. Set-based (one SQL statement): which contacts had any event a trigger listens to in the
   window, how many such events, and a uniform sample of at most `sample` of those
   contacts (a fixed hash order on contact id: the same sample on every run). A snapshot
   trigger counts and samples the segment's members instead.
2. Per contact, for the sample only: their events of the names the graph listens to are
   loaded in one query, and each contact is walked through the graph in simulated time —
   the trigger's own `match` decides which events enrol (property conditions, segment,
   thresholds …), the re-entry rule decides which enrolments happen, waits move the clock
   (a wait for an event looks for the contact's real next event), branches and goals
   evaluate their filters at that moment, sends count a message on the contact-local day
   (after the workflow's send window). A contact still waiting when the window ends
   counts as waiting there.

Per-node numbers and messages per day are the sample's, scaled by contacts ÷ sample;
with a sample as large as the population they are exact for this model. What the replay
does not model is listed in `approximations` in the result.
"""

from __future__ import annotations

import time as clock_time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .. import integrations
from ..conditions import properties_match, since_entry_resolve, since_entry_used
from ..engine import clock
from ..graph.graph import Graph, graph_validate
from ..localtime import ALL_DAYS, contact_zone, next_window_start, parse_hhmm
from ..models import Workflow
from ..nodes import node_type
from ..nodes.base import DEFAULT, TIMEOUT, Node, duration_of
from ..nodes.branch_ab import choose

MAX_DAYS = 90
DEFAULT_DAYS = 30
DEFAULT_SAMPLE = 500
MAX_SAMPLE = 2000
MAX_STEPS = 200  # per enrolment: a loop with waits cannot outrun the window anyway
APPROXIMATIONS = [
    "Actions are not applied, so a branch on a tag or field a step before would set sees "
    "the contact as they are.",
    "Filters with event conditions see the contact's events up to now, not only up to the "
    "simulated moment.",
    "Consent, suppression lists, the daily cap and the workflow's suppression segment are "
    "not applied: message counts are an upper bound.",
]


@dataclass
class _Tally:
    entered: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)
    converted: Counter[str] = field(default_factory=Counter)
    messages: dict[str, Counter[date]] = field(
        default_factory=lambda: {"email": Counter(), "sms": Counter()}
    )
    enrolments: int = 0
    contacts_entered: int = 0


class _Replay:
    def __init__(
        self,
        workspace: Workspace,
        workflow: Workflow,
        graph: Graph,
        since: datetime,
        until: datetime,
    ):
        self.workspace, self.workflow, self.graph = workspace, workflow, graph
        self.since, self.until = since, until
        self.zone = contact_zone(None, workspace.timezone)
        self.tally = _Tally()
        self.parsed: dict[int, Any] = {}  # id(filter tree) -> parsed filter
        self.sample: list[int] = []  # the contacts walked
        self.events: dict[int, dict[int, Any]] = {}  # id(filter tree) -> contact -> events
        self.entered_at: datetime | None = None  # the enrolment being replayed

    # --- filters ---------------------------------------------------------------------------

    def holds(self, tree: Any, contact: Any, at: datetime) -> bool:
        if not tree:
            return True
        if since_entry_used(tree):  # "since entering": this enrolment's own window
            return self._holds_since_entry(tree, contact, at)
        key = id(tree)
        if key not in self.parsed:
            self.parsed[key] = integrations.filter_parse(workspace=self.workspace, tree=tree)
            # One query for the whole sample instead of one per evaluation: every moment
            # replayed is in the window, so the events it can look at from its start suffice.
            self.events[key] = integrations.filter_events_load(
                workspace=self.workspace,
                parsed=self.parsed[key],
                contact_ids=self.sample,
                since=self.since,
            )
        return integrations.filter_evaluate(
            workspace=self.workspace,
            tree=tree,
            contact=contact,
            now=at,
            parsed=self.parsed[key],
            events=self.events[key].get(contact.pk, {}),
        )

    def _holds_since_entry(self, tree: Any, contact: Any, at: datetime) -> bool:
        """A tree with an event condition "since entering", for the enrolment being replayed:
        its window resolved to [entry, at]. The events are loaded once per tree, as for any
        other (every moment replayed is in the window); the resolved tree is parsed per
        evaluation (it names this enrolment's own times)."""
        key = id(tree)
        if key not in self.events:
            wide = since_entry_resolve(tree, entered_at=self.since, now=clock.now())
            self.parsed[key] = integrations.filter_parse(workspace=self.workspace, tree=wide)
            self.events[key] = integrations.filter_events_load(
                workspace=self.workspace,
                parsed=self.parsed[key],
                contact_ids=self.sample,
                since=self.since,
            )
        resolved = since_entry_resolve(tree, entered_at=self.entered_at or at, now=at)
        return integrations.filter_evaluate(
            workspace=self.workspace,
            tree=resolved,
            contact=contact,
            now=at,
            parsed=integrations.filter_parse(workspace=self.workspace, tree=resolved),
            events=self.events[key].get(contact.pk, {}),
        )

    # --- one contact -----------------------------------------------------------------------

    def contact(self, contact: Any, events: list[Any], snapshot: Node | None) -> None:
        zone = contact_zone(contact.timezone, self.workspace.timezone)
        if snapshot is not None:
            candidates = [(self.since, snapshot)]
        else:
            candidates = [
                (event.timestamp, node)
                for event in events
                for node in self.graph.triggers()
                if self._matches(node, event, contact)
            ]
        reentry, days = self.workflow.reentry, self.workflow.reentry_days
        busy_until: datetime | None = None
        last_entry: datetime | None = None
        entered = False
        for at, trigger in candidates:
            if entered and reentry == Workflow.Reentry.NEVER:
                break
            if busy_until is not None and at < busy_until:
                continue  # one run at a time
            if (
                reentry == Workflow.Reentry.AFTER_DAYS
                and last_entry is not None
                and at < last_entry + timedelta(days=days or 0)
            ):
                continue
            if not self.holds(trigger.config.get("filter"), contact, at):
                continue
            entered, last_entry = True, at
            self.entered_at = at
            self.tally.enrolments += 1
            ended = self.walk(trigger.id, at, contact, zone, events)
            if ended is None:
                break  # still in the workflow when the window ends
            busy_until = ended
        if entered:
            self.tally.contacts_entered += 1

    def _matches(self, node: Node, event: Any, contact: Any) -> bool:
        spec = node_type(node.type)
        if spec is None or spec.trigger is None:
            return False
        if event.name not in spec.trigger.keys(node.config):
            return False
        return bool(spec.trigger.match(node.config, event, set(), contact))

    def walk(
        self, node_id: str, at: datetime, contact: Any, zone: ZoneInfo, events: list[Any]
    ) -> datetime | None:
        """Carry one enrolment from `node_id`; the time it ended, or None if it would still
        be waiting when the window closes."""
        current: str | None = node_id
        for _ in range(MAX_STEPS):
            if current is None:
                return at
            node = self.graph.node(current)
            self.tally.entered[current] += 1
            outcome = self.step(node, at, contact, zone, events)
            if outcome is None:  # the run ends here
                return at
            port, at = outcome
            if at >= self.until:
                self.tally.waiting[current] += 1
                return None
            current = self.graph.next(current, port)
        return at

    def step(
        self, node: Node, at: datetime, contact: Any, zone: ZoneInfo, events: list[Any]
    ) -> tuple[str, datetime] | None:
        """(port taken, time it is taken) for one node, or None when the run ends there."""
        config, kind = node.config, node.type
        if kind.startswith("trigger."):
            return DEFAULT, at
        if kind == "wait.duration":
            return DEFAULT, at + duration_of(config)
        if kind == "wait.until_datetime":
            moment = datetime.fromisoformat(config["at"])
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_zone(config, zone))
            return DEFAULT, max(at, moment)
        if kind == "wait.weekday_window":
            opens = next_window_start(
                at,
                _zone(config, zone),
                parse_hhmm(config.get("start", "09:00")),
                parse_hhmm(config.get("end", "17:00")),
                tuple(config["days"]),
            )
            return DEFAULT, opens
        if kind == "wait.until_event":
            deadline = at + duration_of(config["timeout"])
            for event in events:
                if (
                    at < event.timestamp <= deadline
                    and event.name == config["event"]
                    and properties_match(config.get("where"), event.properties)
                ):
                    return DEFAULT, event.timestamp
            return TIMEOUT, deadline
        if kind == "wait.until_condition":
            if self.holds(config["filter"], contact, at):
                return DEFAULT, at
            return TIMEOUT, at + duration_of(config["timeout"])
        if kind == "branch.condition":
            return ("yes" if self.holds(config["filter"], contact, at) else "no"), at
        if kind == "branch.multi":
            for branch in config["branches"]:
                if self.holds(branch["filter"], contact, at):
                    return branch["name"], at
            return DEFAULT, at
        if kind == "branch.ab":
            port, _ = choose(config, workflow=self.workflow, node_id=node.id, contact_id=contact.pk)
            return port, at
        if kind == "goal":
            if not config.get("filter") or self.holds(config["filter"], contact, at):
                self.tally.converted[node.id] += 1
                return None
            if config.get("if_not_met") == "end":
                return None
            return DEFAULT, at
        if kind in ("action.email", "action.sms"):
            return self.send(kind.split(".")[1], at, contact, zone)
        if kind == "action.exit":
            return None
        return DEFAULT, at  # other actions: not applied (see APPROXIMATIONS)

    def send(
        self, channel: str, at: datetime, contact: Any, zone: ZoneInfo
    ) -> tuple[str, datetime]:
        window = self.workflow.send_window
        if window:
            at = next_window_start(
                at,
                zone,
                parse_hhmm(window.get("start", "00:00")),
                parse_hhmm(window.get("end", "23:59")),
                tuple(window.get("days") or ALL_DAYS),
            )
        address = contact.email if channel == "email" else contact.phone
        if address and at < self.until:
            self.tally.messages[channel][at.astimezone(self.zone).date()] += 1
        return DEFAULT, at


def _zone(config: Any, fallback: ZoneInfo) -> ZoneInfo:
    from ..localtime import zone_named

    return zone_named(config.get("timezone")) or fallback


def _listened_names(graph: Graph) -> tuple[list[str], list[str], Node | None, list[str]]:
    """(event names triggers listen to, event names waits listen to, the snapshot trigger,
    triggers that cannot be replayed from events)."""
    trigger_names: set[str] = set()
    wait_names: set[str] = set()
    snapshot: Node | None = None
    skipped: list[str] = []
    for node in graph.nodes.values():
        spec = node_type(node.type)
        if spec is None:
            continue
        if node.type == "trigger.segment_snapshot":
            snapshot = node
        elif spec.is_trigger:
            keys = spec.trigger.keys(node.config) if spec.trigger else []
            events = [k for k in keys if not k.startswith("field:")]
            if events:
                trigger_names |= set(events)
            else:
                skipped.append(node.id)
        elif node.type == "wait.until_event":
            wait_names.add(node.config["event"])
    return sorted(trigger_names), sorted(wait_names), snapshot, skipped


def _clean(days: Any, sample: Any) -> tuple[int, int]:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(
            f"days: a whole number from 1 to {MAX_DAYS}.", fields={"days": [f"1 to {MAX_DAYS}"]}
        )
    if not isinstance(sample, int) or isinstance(sample, bool) or not 1 <= sample <= MAX_SAMPLE:
        raise ValidationFailed(
            f"sample: a whole number from 1 to {MAX_SAMPLE}.",
            fields={"sample": [f"1 to {MAX_SAMPLE}"]},
        )
    return days, sample


def preview_on_history(
    *,
    workspace: Workspace,
    workflow: Workflow,
    graph_data: dict[str, Any],
    days: int = DEFAULT_DAYS,
    sample: int = DEFAULT_SAMPLE,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What `graph_data` would have done for this workspace's last `days` days of events."""
    started = clock_time.perf_counter()
    days, sample = _clean(days, sample)
    graph = graph_validate(graph_data, workspace=workspace)
    until = now or clock.now()
    since = until - timedelta(days=days)
    trigger_names, wait_names, snapshot, skipped = _listened_names(graph)
    events_matched = 0
    if snapshot is not None:
        matched, ids = integrations.segment_sample(
            workspace=workspace, segment_id=snapshot.config["segment"], sample=sample
        )
    elif trigger_names:
        matched, events_matched, ids = integrations.event_hits(
            workspace=workspace, names=trigger_names, since=since, until=until, sample=sample
        )
    else:
        matched, ids = 0, []
    set_ms = round((clock_time.perf_counter() - started) * 1000)
    replay = _Replay(workspace, workflow, graph, since, until)
    replay.sample = list(ids)
    if ids:
        from contacts.models import Contact

        contacts = Contact.objects.for_workspace(workspace).in_bulk(ids)
        by_contact: dict[int, list[Any]] = defaultdict(list)
        names = sorted(set(trigger_names) | set(wait_names))
        if names:
            for event in integrations.events_of_contacts(
                workspace=workspace, contact_ids=ids, names=names, since=since, until=until
            ):
                by_contact[event.contact_id].append(event)
        for contact_id in ids:
            if contact_id in contacts:
                replay.contact(contacts[contact_id], by_contact.get(contact_id, []), snapshot)
    scale = matched / len(ids) if ids else 0.0
    return _result(replay, graph, since, until, matched, events_matched, ids, scale, skipped,
                   set_ms, started)  # fmt: skip


def _scaled(value: int, scale: float) -> int:
    return round(value * scale)


def _result(
    replay: _Replay,
    graph: Graph,
    since: datetime,
    until: datetime,
    matched: int,
    events_matched: int,
    ids: list[int],
    scale: float,
    skipped: list[str],
    set_ms: int,
    started: float,
) -> dict[str, Any]:
    tally = replay.tally
    zone = replay.zone
    first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    per_day = {
        channel: [{"date": d.isoformat(), "count": _scaled(counts[d], scale)} for d in dates]
        for channel, counts in tally.messages.items()
    }
    return {
        "days": (until - since).days,
        "from": since.isoformat(),
        "to": until.isoformat(),
        "timezone": zone.key,
        "matched": {"contacts": matched, "events": events_matched},
        "sample": {"size": len(ids), "scale": round(scale, 4), "exact": len(ids) == matched},
        "entered": {
            "contacts": _scaled(tally.contacts_entered, scale),
            "enrolments": _scaled(tally.enrolments, scale),
        },
        "nodes": {
            node_id: {
                "entered": _scaled(tally.entered[node_id], scale),
                "waiting_at_end": _scaled(tally.waiting[node_id], scale),
                "converted": _scaled(tally.converted[node_id], scale),
            }
            for node_id in graph.nodes
        },
        "messages": per_day,
        "totals": {
            channel: sum(item["count"] for item in items) for channel, items in per_day.items()
        },
        "not_replayed": [
            {"node": node_id, "reason": "this trigger does not come from events"}
            for node_id in skipped
        ],
        "approximations": APPROXIMATIONS,
        "timing_ms": {
            "set_based": set_ms,
            "total": round((clock_time.perf_counter() - started) * 1000),
        },
    }
