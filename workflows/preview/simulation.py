"""Test mode: take a real or sample contact through a workflow with simulated time.

The run is executed by the same engine (`engine.advance`) inside a database transaction
that is always rolled back: tags, fields, scores and list memberships really change — so
branches further on see them — and then vanish. What would leave the building is never
done: messages are rendered with messaging's preview instead of being queued, webhooks
are described instead of called, enrolments in other workflows and sales tasks are only
recorded. Celery work that services schedule with `transaction.on_commit` dies with the
rollback. Time jumps from wait to wait (and to the scripted events in between) instantly.
"""

from __future__ import annotations

import contextvars
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from contacts.models import Contact, LifecycleStage
from contacts.services import event_record
from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import Workspace

from .. import integrations
from ..engine import clock
from ..engine.effects import LiveEffects
from ..engine.engine import advance, finish
from ..graph.graph import Graph, graph_validate
from ..localtime import contact_zone
from ..models import RunStatus, Workflow, WorkflowRun, WorkflowVersion
from ..nodes.base import Node, Step, StepFailed

MAX_ITERATIONS = 500
SAMPLE_FIELDS = {
    "email", "phone", "first_name", "last_name", "company", "job_title", "country", "city",
    "timezone", "lifecycle_stage", "tags", "attributes", "score",
}  # fmt: skip

# True while a simulation runs in this context (lets code that would dispatch work stand down).
simulating: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "workflows_simulating", default=False
)


class _Rollback(Exception):
    pass


class SimulatedEffects(LiveEffects):
    """LiveEffects for what stays in the database (rolled back); records the rest."""

    simulated = True

    def __init__(self, workspace: Workspace):
        super().__init__(workspace)
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []

    def messages_sent_since(self, contact: Contact, since: datetime) -> int:
        sent_here = sum(1 for m in self.messages if datetime.fromisoformat(m["at"]) >= since)
        return super().messages_sent_since(contact, since) + sent_here

    def send_message(
        self,
        contact: Contact,
        *,
        channel: str,
        template: Any,
        source_id: str,
        context: dict[str, Any] | None,
    ) -> dict[str, Any]:
        try:
            preview = integrations.message_preview(
                workspace=self.workspace,
                contact=contact,
                channel=channel,
                template=template,
                context=context,
            )
        except ValueError as error:
            raise StepFailed(f"cannot render the {channel}: {error}", retryable=False) from error
        self.messages.append(
            {
                "node": self.node,
                "channel": channel,
                "at": self.now.isoformat(),
                "to": contact.email if channel == "email" else contact.phone,
                **preview,
            }
        )
        return {"simulated": True, "template": preview.get("template")}

    def http_post(
        self,
        *,
        url: str,
        payload: dict[str, Any],
        secret: str,
        idempotency_key: str,
        source: str = "",
        name: str = "",
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        from workspaces.outbound.signing import extra_headers

        self.calls.append({
            "node": self.node,
            "kind": "webhook",
            "url": url,
            "payload": payload,
            "headers": {
                **extra_headers(headers),
                "webhook-id": f"msg_{idempotency_key.replace(':', '_')}",
                "webhook-signature": "v1,<signed when sent>",
            },
        })  # fmt: skip
        return {"ok": True, "status": None, "simulated": True}

    def enroll(
        self, contact: Contact, *, workflow_id: int, key: str, context: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls.append({"node": self.node, "kind": "enroll_workflow", "workflow": workflow_id})
        return {"simulated": True, "workflow": workflow_id}

    def sales_task(
        self, contact: Contact, *, title: str, due_at: datetime | None, assignee: Any | None
    ) -> Any:
        self.calls.append(
            {
                "node": self.node,
                "kind": "sales_task",
                "title": title,
                "due_at": due_at.isoformat() if due_at else None,
                "assignee": getattr(assignee, "pk", None),
            }
        )
        return None


def _version(workflow: Workflow, which: str) -> WorkflowVersion:
    from ..selectors import workflow_draft

    if which == "current":
        version = workflow.current_version
    elif which == "draft":
        version = workflow_draft(workflow=workflow) or workflow.current_version
    else:
        try:
            version = workflow.versions.filter(pk=int(which)).first()
        except ValueError:
            version = None
    if version is None:
        raise NotFound(
            "That workflow has no such version to test.", fields={"version": ["not found"]}
        )
    return version


def _sample_contact(workspace: Workspace, sample: dict[str, Any]) -> Contact:
    unknown = set(sample) - SAMPLE_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(
            f"sample.{name}: unknown contact field.", fields={f"sample.{name}": ["unknown field"]}
        )
    if sample.get("lifecycle_stage", LifecycleStage.SUBSCRIBER) not in LifecycleStage.values:
        raise ValidationFailed(
            "sample.lifecycle_stage: unknown stage.",
            fields={"sample.lifecycle_stage": ["unknown stage"]},
        )
    values = {"email": "sample.contact@example.com", "first_name": "Sample", **sample}
    return Contact.objects.create(workspace=workspace, **values)


def _start_node(graph: Graph, trigger: dict[str, Any]) -> Node:
    triggers = graph.triggers()
    for node in triggers:
        if node.type == "trigger.event" and node.config.get("event") == trigger.get("name"):
            return node
    return triggers[0]


def _path_entry(log: Any) -> dict[str, Any]:
    return {
        "node": log.node_id,
        "type": log.node_type,
        "outcome": log.outcome,
        "port": log.port,
        "at": log.at.isoformat(),
        "error": log.error,
        "detail": log.detail,
    }


class _Simulation:
    def __init__(
        self,
        workspace: Workspace,
        workflow: Workflow,
        graph: Graph,
        contact: Contact,
        trigger: dict[str, Any],
        events: list[dict[str, Any]],
        max_days: int,
    ):
        self.workspace, self.workflow, self.graph, self.contact = (
            workspace,
            workflow,
            graph,
            contact,
        )
        self.now = clock.now()
        self.started = self.now
        self.horizon = self.now + timedelta(days=max_days)
        self.effects = SimulatedEffects(workspace)
        self.path: list[dict[str, Any]] = []
        self.pending = sorted(events, key=lambda e: e["after_hours"])
        start = _start_node(graph, trigger)
        self.run = WorkflowRun(
            workspace=workspace, workflow=workflow, contact=contact, status=RunStatus.ACTIVE, current_node=start.id,
            context={"trigger": {"node": start.id, "type": "test", "event": trigger.get("name", ""), "properties": trigger.get("properties") or {}}, "visits": {start.id: 1}},
        )  # fmt: skip
        if trigger.get("name"):
            event_record(
                workspace=workspace,
                contact=contact,
                name=trigger["name"],
                properties=trigger.get("properties") or {},
                timestamp=self.now,
                source="test",
            )

    def step(self) -> None:
        try:
            result = advance(
                self.run,
                graph=self.graph,
                workflow=self.workflow,
                contact=self.contact,
                now=self.now,
                effects=self.effects,
            )
            while result.external_node:
                self.path += [_path_entry(log) for log in result.logs]
                node_type = self.graph.type_of(result.external_node)
                self.effects.node = result.external_node
                response = node_type.external_call(self._step_for(result.external_node))  # type: ignore[misc]
                result = advance(
                    self.run,
                    graph=self.graph,
                    workflow=self.workflow,
                    contact=self.contact,
                    now=self.now,
                    effects=self.effects,
                    external=response,
                )
        except Exception as error:  # noqa: BLE001 — the test shows where and why it failed
            node = getattr(error, "workflow_node", None) or self.run.current_node
            self.path.append(
                {
                    "node": node,
                    "type": self.graph.node(node).type,
                    "outcome": "failed",
                    "port": "",
                    "at": self.now.isoformat(),
                    "error": f"{type(error).__name__}: {error}",
                    "detail": {},
                }
            )
            finish(self.run, RunStatus.FAILED, self.now, error=str(error))
            return
        self.path += [_path_entry(log) for log in result.logs]

    def _step_for(self, node_id: str) -> Step:
        return Step(
            workspace=self.workspace, workflow=self.workflow, run_id=self.run.pk, run_context=self.run.context, contact=self.contact,
            node=self.graph.node(node_id), now=self.now, zone=contact_zone(self.contact.timezone, self.workspace.timezone), effects=self.effects,
            entered_at=self.started,
        )  # fmt: skip

    def _event_due(self, before: datetime) -> dict[str, Any] | None:
        if (
            self.pending
            and self.started + timedelta(hours=self.pending[0]["after_hours"]) <= before
        ):
            return self.pending.pop(0)
        return None

    def _deliver(self, scripted: dict[str, Any]) -> bool:
        """Record a scripted event at its time; True when it ends the run's wait."""
        self.now = max(self.now, self.started + timedelta(hours=scripted["after_hours"]))
        event = event_record(
            workspace=self.workspace,
            contact=self.contact,
            name=scripted["name"],
            properties=scripted.get("properties") or {},
            timestamp=self.now,
            source="test",
        )
        self.path.append(
            {
                "node": self.run.current_node,
                "type": "event",
                "outcome": "event",
                "port": "",
                "at": self.now.isoformat(),
                "error": "",
                "detail": {"event": event.name, "properties": event.properties},
            }
        )
        if self.workflow.goal_filter and self.effects.evaluate(
            self.workflow.goal_filter, self.contact, self.now, self.started
        ):
            self.path.append(
                {
                    "node": self.run.current_node,
                    "type": "goal",
                    "outcome": "converted",
                    "port": "",
                    "at": self.now.isoformat(),
                    "error": "",
                    "detail": {"reason": "the workflow's goal was met"},
                }
            )
            finish(self.run, RunStatus.CONVERTED, self.now)
            return False
        for goal, ancestors in self.graph.goal_ancestors().items():
            tree = self.graph.node(goal).config.get("filter")
            if (
                self.run.current_node in ancestors
                and tree
                and self.effects.evaluate(tree, self.contact, self.now, self.started)
            ):
                self.run.current_node, self.run.status = goal, RunStatus.ACTIVE
                self.run.context.pop("wait", None)
                self.run.context["goal_jump"] = goal
                return True
        wait = self.run.context.get("wait") or {}
        if wait.get("condition"):
            return True
        if wait.get("event") == event.name:
            node = self.graph.node(self.run.current_node)
            from ..conditions import properties_match

            if properties_match(node.config.get("where"), event.properties):
                self.run.context["wait"] = {**wait, "resolved": True, "event_id": event.pk}
                return True
        return False

    def play(self) -> str:
        for _ in range(MAX_ITERATIONS):
            if self.run.status not in (RunStatus.ACTIVE, RunStatus.WAITING):
                return "finished"
            if self.run.status == RunStatus.ACTIVE:
                self.step()
                continue
            wake = self.run.next_step_at or self.now
            scripted = self._event_due(wake)
            if scripted is not None:
                if self._deliver(scripted):
                    self.step()
                continue
            if wake > self.horizon:
                return "still waiting"
            self.now = max(self.now, wake)
            self.step()
        return "stopped: too many steps"


def simulate(
    *,
    workspace: Workspace,
    workflow: Workflow,
    contact_id: int | None = None,
    sample: dict[str, Any] | None = None,
    version: str = "draft",
    trigger: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    max_days: int = 400,
) -> dict[str, Any]:
    """Run the workflow for one contact in simulated time; change nothing, send nothing."""
    chosen = _version(workflow, version)
    graph = graph_validate(chosen.graph, workspace=workspace)
    report: dict[str, Any] = {}
    token = simulating.set(True)
    try:
        with transaction.atomic():
            if contact_id is not None:
                contact = Contact.objects.for_workspace(workspace).filter(pk=contact_id).first()
                if contact is None:
                    raise NotFound(
                        "No such contact in this workspace.",
                        fields={"contact_id": ["unknown contact"]},
                    )
            else:
                contact = _sample_contact(workspace, sample or {})
            simulation = _Simulation(
                workspace, workflow, graph, contact, trigger or {}, list(events or []), max_days
            )
            ending = simulation.play()
            contact.refresh_from_db()
            report = {
                "version": chosen.number,
                "contact": {"id": contact.pk if contact_id else None, "email": contact.email, "tags": list(contact.tags), "score": contact.score, "lifecycle_stage": contact.lifecycle_stage, "attributes": contact.attributes},
                "status": simulation.run.status,
                "ended": ending,
                "final_node": simulation.run.current_node,
                "path": simulation.path,
                "messages": simulation.effects.messages,
                "actions": [p for p in simulation.path if p["type"].startswith("action.") and p["type"] not in ("action.email", "action.sms")],
                "calls": simulation.effects.calls,
                "simulated_until": simulation.now.isoformat(),
            }  # fmt: skip
            raise _Rollback
    except _Rollback:
        pass
    finally:
        simulating.reset(token)
    return report
