"""How node executors change the world: `LiveEffects` for real runs; test mode swaps in
`workflows.preview.simulation.SimulatedEffects`, which records instead of sending.

Everything here runs inside the engine's transaction (except `http_post`, which the engine
calls outside it), so a step's database side effects commit or roll back together with the
run's move to the next node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contacts.models import Contact
from workspaces.models import Workspace

from .. import integrations
from ..conditions import since_entry_resolve

SKIPPED_STATUSES = ("suppressed", "skipped")


class MessageAlreadySkipped(Exception):
    """A deferred message's row existed already, skipped: its step was not a send."""


@dataclass
class _PendingMessage:
    contact: Contact
    source_id: str
    context: dict[str, Any] | None
    info: dict[str, Any]  # the step's detail: filled in when the row is written


class LiveEffects:
    simulated = False

    def __init__(self, workspace: Workspace, *, deferred: bool = False):
        self.workspace = workspace
        # Deferred: tag changes are kept on the (locked) contact objects and written for the
        # whole chunk in one UPDATE, before any other service reads the contact and at the
        # end. Only for the all-or-nothing fast path, whose contacts are locked for the chunk.
        self.deferred = deferred
        self._pending: dict[int, Contact] = {}
        self._parsed: dict[str, Any] = {}  # filters parsed once per chunk, evaluated per contact
        self._sent: dict[int, int] = {}  # messages queued by this chunk, not yet in the step log
        self.node = ""  # the node being executed (set by the engine)
        self.now: datetime | None = None
        # Contact fields changed by this chunk: the events pipeline hears of them once, at the end.
        self.changed: dict[int, set[str]] = {}
        self._templates: dict[tuple[str, str], Any] = {}  # template versions, resolved once
        # Deferred: messages to create for the whole chunk, per template (see messages_write).
        self._messages: dict[tuple[str, str], list[_PendingMessage]] = {}

    # --- reads -------------------------------------------------------------------------------

    def evaluate(
        self,
        tree: dict[str, Any],
        contact: Contact,
        now: datetime,
        entered_at: datetime | None = None,
    ) -> bool:
        """Does the contact match `tree` now? `entered_at`: when their run entered the
        workflow, for event conditions "since entering" (resolved to a `between` window, so
        such a tree is parsed once per run rather than once per chunk)."""
        # Tags and fields are read from the contact object (deferred tags included).
        if not tree:
            return True
        tree = since_entry_resolve(tree, entered_at=entered_at, now=now)
        key = json.dumps(tree, sort_keys=True)
        if key not in self._parsed:
            self._parsed[key] = integrations.filter_parse(workspace=self.workspace, tree=tree)
        return integrations.filter_evaluate(
            workspace=self.workspace, tree=tree, contact=contact, now=now, parsed=self._parsed[key]
        )

    def in_segment(self, segment_id: int, contact: Contact) -> bool:
        return integrations.segment_contains(
            workspace=self.workspace, segment_id=segment_id, contact_id=contact.pk
        )

    def messages_sent_since(self, contact: Contact, since: datetime) -> int:
        """Messages workflows sent this contact since `since`, across all workflows."""
        from ..models import Outcome, StepLog

        logged = (
            StepLog.objects.for_workspace(self.workspace)
            .filter(contact_id=contact.pk, at__gte=since, outcome=Outcome.SENT)
            .count()
        )
        return logged + self._sent.get(contact.pk, 0)

    # --- contact profile ---------------------------------------------------------------------

    def contact_update(self, contact: Contact, data: dict[str, Any]) -> set[str]:
        self.sync()
        updated, changed = integrations.contact_update(
            workspace=self.workspace, contact=contact, data=data
        )
        for field in type(contact)._meta.concrete_fields:
            setattr(contact, field.attname, getattr(updated, field.attname))
        return changed

    def tags(self, contact: Contact, tags: list[str], *, add: bool) -> None:
        if self.deferred:
            new = integrations.tags_changed(contact.tags, tags, add=add)
            if new is not None:
                self._pending[contact.pk] = contact
        else:
            new = integrations.contact_tags(
                workspace=self.workspace, contact=contact, tags=tags, add=add
            )
        if new is not None:
            contact.tags = new
            self.changed.setdefault(contact.pk, set()).add("tags")

    def sync(self) -> None:
        """Write deferred tag changes now (before another service reads the contacts)."""
        if self._pending:
            integrations.contacts_tags_write(
                workspace=self.workspace, contacts=list(self._pending.values())
            )
            self._pending = {}

    def flush(self) -> None:
        """Write what is deferred; tell the events pipeline (after commit) which contacts this
        chunk changed."""
        self.sync()
        if self.changed:
            from contacts.services import events_enqueue_processing

            events_enqueue_processing(
                workspace=self.workspace, event_ids=[], changed_fields=dict(self.changed)
            )
            self.changed = {}

    def static_list(self, contact: Contact, segment_id: int, *, add: bool) -> None:
        self.sync()
        integrations.static_list_change(
            workspace=self.workspace, segment_id=segment_id, contact_id=contact.pk, add=add
        )

    # --- scoring -----------------------------------------------------------------------------

    def score_adjust(self, contact: Contact, points: int, reason: str) -> None:
        self.sync()
        integrations.score_adjust(
            workspace=self.workspace, contact=contact, points=points, reason=reason
        )

    def lifecycle_set(self, contact: Contact, stage: str, reason: str) -> None:
        self.sync()
        integrations.lifecycle_set(
            workspace=self.workspace, contact=contact, stage=stage, reason=reason
        )

    def owner_assign(self, contact: Contact, owner: Any | None) -> Any:
        self.sync()
        return integrations.lead_assign(workspace=self.workspace, contact=contact, owner=owner)

    def sales_task(
        self, contact: Contact, *, title: str, due_at: datetime | None, assignee: Any | None
    ) -> Any:
        self.sync()
        return integrations.sales_task_create(
            workspace=self.workspace,
            contact=contact,
            title=title,
            due_at=due_at,
            assignee=assignee,
            notify=True,
        )

    # --- messages ----------------------------------------------------------------------------

    def send_message(
        self,
        contact: Contact,
        *,
        channel: str,
        template: Any,
        source_id: str,
        context: dict[str, Any] | None,
    ) -> dict[str, Any]:
        key = (channel, str(template))
        if key not in self._templates:
            self._templates[key] = integrations.template_version(
                workspace=self.workspace, channel=channel, template_id=template
            )
        resolved = self._templates[key]
        self._sent[contact.pk] = self._sent.get(contact.pk, 0) + 1
        if self.deferred and resolved:
            # Written with the chunk's other messages of this template in one INSERT (before
            # the step logs, which carry the message id filled in then).
            info: dict[str, Any] = {"message_id": None, "status": "queued", "suppressed": False}
            self._messages.setdefault(key, []).append(
                _PendingMessage(contact, source_id, context, info)
            )
            return info
        self.sync()
        message = integrations.message_enqueue(
            workspace=self.workspace,
            contact=contact,
            channel=channel,
            template=resolved[0] if resolved else template,  # unknown: messaging says so
            topic=resolved[1] if resolved else None,
            source_id=source_id,
            context=context,
        )
        status = getattr(message, "status", "")
        return {
            "message_id": message.pk,
            "status": status,
            "suppressed": status in SKIPPED_STATUSES,
        }

    def messages_write(self) -> None:
        """Create the chunk's deferred messages: one bulk enqueue per template (one INSERT,
        one send task per batch), filling in the ids their step logs show.

        A message that already existed and was skipped or suppressed would change its step's
        outcome after the fact: the chunk is then redone the careful way, one at a time."""
        pending, self._messages = self._messages, {}
        for key, items in pending.items():
            version, topic = self._templates[key]
            results = integrations.messages_enqueue_many(
                workspace=self.workspace,
                channel=key[0],
                template=version,
                topic=topic,
                items=[(item.contact, item.source_id, item.context) for item in items],
            )
            for item, (message_id, status) in zip(items, results, strict=True):
                if status in SKIPPED_STATUSES:
                    raise MessageAlreadySkipped(f"message {message_id} is already {status}")
                item.info["message_id"], item.info["status"] = message_id, status

    # --- workflows ---------------------------------------------------------------------------

    def enroll(
        self, contact: Contact, *, workflow_id: int, key: str, context: dict[str, Any]
    ) -> dict[str, Any]:
        self.sync()
        from ..runs.enrolment import enrol_contact

        run = enrol_contact(
            workspace=self.workspace,
            workflow_id=workflow_id,
            contact=contact,
            key=key,
            context=context,
            strict=False,
        )
        return {"enrolled": run is not None, "run_id": run.pk if run else None}

    # --- the outside world (called outside the transaction) ----------------------------------

    def http_post(
        self,
        *,
        url: str,
        payload: dict[str, Any],
        secret: str,
        idempotency_key: str,
        source: str,
        name: str,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One signed, logged attempt through the outbound client (the engine retries)."""
        from workspaces.outbound import services as outbound

        endpoint = outbound.endpoint_ensure(
            workspace=self.workspace,
            source=source,
            kind="workflow",
            name=name,
            url=url,
            secret=secret,
        )
        response = outbound.delivery_send(
            workspace=self.workspace,
            endpoint=endpoint,
            event_type="workflow.webhook",
            payload=payload,
            message_id=f"msg_{idempotency_key.replace(':', '_')}",
            headers=headers,
        )
        return response.as_dict()
