"""The `events_ingested` hook: how scoring, segments and workflows learn about new events.

Contacts never imports those apps. Each keeps its step in `<app>/processors.py`, imported
from its AppConfig.ready() so the decorator registers it:

    from contacts.hooks import on_events_ingested

    @on_events_ingested(order=20, name="segments")
    def refresh_segments(batch: IngestedBatch) -> None: ...

After an ingestion transaction commits, ONE Celery task per request
(`contacts.tasks.process_events`) builds an IngestedBatch and runs the processors in
`order`: scoring (10) → segments (20) → workflows (30). A processor that records new
events (score.changed, segment.entered …) adds them with `batch.add_events(...)`, so later
processors in the same pass see them — "score ≥ 80" can move a segment, and entering the
segment can start a workflow, in one task.

The `consent_changed` hook (below) tells other apps, inside the writer's transaction, that a
contact's consent for a channel changed — messaging keeps the consent log from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from workspaces.models import Workspace

    from .models import Contact, Event

logger = logging.getLogger(__name__)

ORDER_SCORING = 10
ORDER_SEGMENTS = 20
ORDER_WORKFLOWS = 30


@dataclass
class IngestedBatch:
    workspace: Workspace
    events: list[Event] = field(default_factory=list)
    # Contacts whose profile changed (identify traits, API edits, imports), with the
    # contact-field / attribute names that changed: segments re-evaluate only what depends on them.
    changed_fields: dict[int, set[str]] = field(default_factory=dict)

    @property
    def contact_ids(self) -> set[int]:
        return {event.contact_id for event in self.events} | set(self.changed_fields)

    def add_events(self, events: Iterable[Event]) -> None:
        self.events.extend(events)

    def mark_changed(self, contact_id: int, fields: Iterable[str]) -> None:
        self.changed_fields.setdefault(contact_id, set()).update(fields)


Processor = Callable[[IngestedBatch], None]
_processors: list[tuple[int, str, Processor]] = []


def on_events_ingested(*, order: int, name: str) -> Callable[[Processor], Processor]:
    def register(func: Processor) -> Processor:
        if any(existing == name for _, existing, _ in _processors):
            return func  # app reloaded (tests, autoreload): keep the first registration
        _processors.append((order, name, func))
        _processors.sort(key=lambda item: item[0])
        return func

    return register


def registered_processors() -> list[str]:
    return [name for _, name, _ in _processors]


def events_ingested(batch: IngestedBatch) -> None:
    """Run every processor on the batch, in order. A failing processor is logged and re-raised
    so the task retries; processors must therefore be idempotent."""
    for _, name, func in list(_processors):
        try:
            func(batch)
        except Exception:
            logger.exception(
                "events_ingested processor %s failed for workspace %s", name, batch.workspace.pk
            )
            raise


# --- consent_changed ----------------------------------------------------------------------
# Every change of a contact's consent — identify traits, an import, a management API or UI
# edit, a form, a merge, messaging's unsubscribes and double opt-in — is announced here by
# `contact_set_consent` (and by merges). Contacts never imports the apps that listen;
# messaging registers its consent log in its AppConfig.ready():
#
#     from contacts.hooks import ConsentChange, on_consent_changed
#
#     @on_consent_changed(name="consent_log")
#     def consent_log_record(changes: list[ConsentChange]) -> None: ...
#
# Listeners run synchronously in the writer's transaction: the log is the proof of consent,
# so it commits — or rolls back — with the change it records. A listener that fails makes
# the change fail.


@dataclass
class ConsentChange:
    """A contact's consent for `channel` ("email" or "sms") went from `previous` to `status`."""

    contact: Contact  # stored (has an id) by the time listeners see it
    channel: str
    status: str
    previous: str
    source: str  # who decided: "api", "snippet", "import", "form:<id>", "merge", "unsubscribe" …
    at: datetime  # when the decision was made
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """The address the decision is about, as the contact has it now."""
        return self.contact.email if self.channel == "email" else self.contact.phone


ConsentListener = Callable[[list[ConsentChange]], None]
_consent_listeners: list[tuple[str, ConsentListener]] = []
# Changes made inside a `consent_changes_collected()` block wait here for its end.
_collected: ContextVar[list[ConsentChange] | None] = ContextVar("consent_collected", default=None)


def on_consent_changed(*, name: str) -> Callable[[ConsentListener], ConsentListener]:
    def register(func: ConsentListener) -> ConsentListener:
        if not any(existing == name for existing, _ in _consent_listeners):
            _consent_listeners.append((name, func))
        return func

    return register


def registered_consent_listeners() -> list[str]:
    return [name for name, _ in _consent_listeners]


def consent_changed(change: ConsentChange) -> None:
    """Announce one change: at once, or at the end of the enclosing
    `consent_changes_collected()` block. A contact not stored yet can only be announced
    from inside such a block (it gets its id before the block ends)."""
    pending = _collected.get()
    if pending is not None:
        pending.append(change)
    elif change.contact.pk is None:
        raise RuntimeError(
            "consent_changed: the contact is not stored yet; change its consent inside "
            "consent_changes_collected() and store it before the block ends."
        )
    else:
        _consent_notify([change])


@contextmanager
def consent_changes_collected() -> Iterator[None]:
    """Hold the consent changes made inside the block and announce them together when it
    ends — one listener call (one INSERT of log rows) for a whole chunk of an import — with
    the ids their contacts have by then. Left by an exception, the block announces nothing:
    the writes it made are being undone. A change whose contact is still not stored goes to
    an enclosing block, or is dropped with the contact that was never stored."""
    outer = _collected.get()
    pending: list[ConsentChange] = []
    token = _collected.set(pending)
    try:
        yield
    finally:
        _collected.reset(token)
    stored = [change for change in pending if change.contact.pk is not None]
    if outer is not None:
        outer.extend(change for change in pending if change.contact.pk is None)
    _consent_notify(stored)


def _consent_notify(changes: list[ConsentChange]) -> None:
    if not changes:
        return
    for _, func in list(_consent_listeners):
        func(changes)


# --- email_consent_requested ------------------------------------------------------------------
# A form's consent box asks for email consent: subscribed, or — under double opt-in — pending
# until the contact confirms by a link. Sending that link is the email app's job, so the app
# that sends email registers how the request is carried out, in its AppConfig.ready():
#
#     from contacts.hooks import on_email_consent_requested
#
#     on_email_consent_requested(name="messaging")(form_consent_request)
#
# Without one (messaging not installed) contacts records the status itself.

ConsentRequester = Callable[..., None]  # (*, workspace, contact, source, double_opt_in)
_consent_requesters: list[tuple[str, ConsentRequester]] = []


def on_email_consent_requested(*, name: str) -> Callable[[ConsentRequester], ConsentRequester]:
    def register(func: ConsentRequester) -> ConsentRequester:
        if not any(existing == name for existing, _ in _consent_requesters):
            _consent_requesters.append((name, func))
        return func

    return register


def email_consent_requested(
    *, workspace: Workspace, contact: Contact, source: str, double_opt_in: bool
) -> bool:
    """Hand the request to the registered app; False when none is registered."""
    for _, func in list(_consent_requesters):
        func(workspace=workspace, contact=contact, source=source, double_opt_in=double_opt_in)
    return bool(_consent_requesters)
