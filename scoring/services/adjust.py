"""Scores and stages changed from outside the pipeline: workflows, sales reps, the API.

These services record their events AND enqueue them through the pipeline themselves
(after commit), so a caller outside the pipeline has nothing else to do.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, LifecycleStage
from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import User, Workspace

from ..models import ScoreChange, ScoreSource, ScoringModel
from .engine import ScoreWriter, Transition, ruleset_load
from .stream import (
    lifecycle_events_record,
    score_events_record,
    stream_publish,
    transitions_follow_up,
)


def _own(workspace: Workspace, contact: Contact) -> None:
    if contact.workspace_id != workspace.pk:
        raise NotFound("No such contact.")


@transaction.atomic
def score_adjust(
    *,
    workspace: Workspace,
    contact: Contact,
    points: int,
    reason: str,
    source: str = ScoreSource.WORKFLOW,
    model: ScoringModel | None = None,
) -> ScoreChange:
    """Add (or take away) points by hand or from a workflow. The points decay like earned
    points under the model's decay settings. Records `score.changed` (and `lifecycle.changed`
    when a threshold is crossed) and enqueues them through the pipeline itself."""
    _own(workspace, contact)
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise ValidationFailed(
            "Points must be a non-zero whole number.", fields={"points": "non-zero integer"}
        )
    if not reason or not reason.strip():
        raise ValidationFailed("Say why the score changes.", fields={"reason": "required"})
    if source not in ScoreSource.values:
        raise ValidationFailed(f"Unknown source '{source}'.", fields={"source": "unknown"})
    ruleset = ruleset_load(workspace=workspace)
    if model is None:
        model = ruleset.primary
        if model is None:
            raise ValidationFailed(
                "The workspace has no active primary scoring model.", fields={"model": "required"}
            )
    elif model.workspace_id != workspace.pk:
        raise NotFound("No such scoring model.")
    elif model.pk not in ruleset.models:
        raise ValidationFailed(
            f"Scoring model “{model.name}” is not active.", fields={"model": "inactive"}
        )
    model = ruleset.models[model.pk]
    writer = ScoreWriter(workspace=workspace, ruleset=ruleset)
    writer.lock([contact.pk], models=[model])
    entry = writer.add(model, contact.pk, points=points, reason=reason.strip(), source=source)
    assert entry is not None
    result = writer.flush()
    fresh = Contact.objects.for_workspace(workspace).in_bulk([contact.pk])
    events = score_events_record(workspace=workspace, outcomes=result.outcomes, contacts=fresh)
    events += lifecycle_events_record(
        workspace=workspace, transitions=result.transitions, contacts=fresh
    )
    transitions_follow_up(workspace=workspace, transitions=result.transitions)
    changed = {contact.pk: {"score"}} if model.is_primary else {}
    if result.transitions:
        changed.setdefault(contact.pk, set()).add("lifecycle_stage")
    stream_publish(workspace=workspace, events=events, changed=changed)
    contact.score = fresh[contact.pk].score
    contact.lifecycle_stage = fresh[contact.pk].lifecycle_stage
    return entry


@transaction.atomic
def lifecycle_stage_set(
    *,
    workspace: Workspace,
    contact: Contact,
    stage: str,
    reason: str,
    actor: User | None = None,
) -> bool:
    """Move a contact to `stage`. Returns False if it was already there. Records
    `lifecycle.changed` and enqueues it through the pipeline itself; a move into MQL hands
    the lead to sales, and every move is sent to the CRM webhook if one is set."""
    _own(workspace, contact)
    if stage not in LifecycleStage.values:
        raise ValidationFailed(
            f"Unknown lifecycle stage '{stage}'.",
            fields={"stage": f"one of {', '.join(LifecycleStage.values)}"},
        )
    locked = Contact.objects.for_workspace(workspace).select_for_update().get(pk=contact.pk)
    if locked.lifecycle_stage == stage:
        return False
    transition = Transition(
        locked.pk, locked.lifecycle_stage, stage, reason.strip() or "Set by hand"
    )
    Contact.objects.for_workspace(workspace).filter(pk=locked.pk).update(
        lifecycle_stage=stage, updated_at=timezone.now()
    )
    locked.lifecycle_stage = stage
    contact.lifecycle_stage = stage
    events = lifecycle_events_record(
        workspace=workspace, transitions=[transition], contacts={locked.pk: locked}, actor=actor
    )
    transitions_follow_up(workspace=workspace, transitions=[transition])
    stream_publish(workspace=workspace, events=events, changed={locked.pk: {"lifecycle_stage"}})
    return True
