"""Writes of the scoring app. The public contract (workflows, the API and views call these):

- `score_adjust(*, workspace, contact, points, reason, source="workflow", model=None) -> ScoreChange`
- `lifecycle_stage_set(*, workspace, contact, stage, reason, actor=None) -> bool`
- `lead_assign(*, workspace, contact, owner=None, rule=None) -> User | None`
- `sales_task_create(*, workspace, contact, title, due_at=None, assignee=None, notify=True) -> SalesTask`

Each records its events (`score.changed`, `lifecycle.changed`, `lead.assigned`) and enqueues
them through the events_ingested pipeline itself, after commit: callers outside the pipeline
do nothing more. (Inside the pipeline, scoring's own processor uses the engine directly
and hands its events to `batch.add_events`.) docs/scoring.md describes them.
"""

from scoring.services.adjust import lifecycle_stage_set, score_adjust
from scoring.services.handoff import (
    lead_assign,
    lead_handoff,
    notification_create,
    notifications_mark_read,
    sales_task_complete,
    sales_task_create,
    scoring_settings,
)
from scoring.services.pipeline import scoring_process_batch
from scoring.services.refresh import scores_refresh_due
from scoring.services.sales import deal_record, lead_accept, lead_activity_log, lead_disqualify

__all__ = [
    "deal_record",
    "lead_accept",
    "lead_activity_log",
    "lead_assign",
    "lead_disqualify",
    "lead_handoff",
    "lifecycle_stage_set",
    "notification_create",
    "notifications_mark_read",
    "sales_task_complete",
    "sales_task_create",
    "score_adjust",
    "scores_refresh_due",
    "scoring_process_batch",
    "scoring_settings",
]
