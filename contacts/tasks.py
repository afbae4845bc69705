"""Thin Celery wrappers around contacts services."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from celery import shared_task
from celery_batches import Batches
from django.conf import settings

from config.faults import fault_point
from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, in_workspace, workspace_task

logger = logging.getLogger(__name__)

# The worker runs the requests it holds together, per workspace, as one pipeline batch:
# each ingestion request still sends its own task message (acknowledged only once its
# events went through, acks_late), but under a stream of small requests the pipeline's
# fixed cost (rules, segments, triggers loaded; one query per stage) is paid once per
# flush instead of once per request. How many a worker holds is its prefetch
# (CELERY_WORKER_PREFETCH_MULTIPLIER × concurrency).
# A busy worker flushes as soon as it holds FLUSH_EVERY messages (at most prefetch ×
# concurrency can be held, so this must not exceed the prefetch multiplier); an idle one
# after FLUSH_INTERVAL seconds.
FLUSH_EVERY = settings.CELERY_WORKER_PREFETCH_MULTIPLIER
FLUSH_INTERVAL = 0.02


@shared_task(
    base=Batches,
    name="contacts.process_events",
    flush_every=FLUSH_EVERY,
    flush_interval=FLUSH_INTERVAL,
)
def process_events(requests: list[Any]) -> None:
    """process_events(workspace_id, event_ids, changed_fields, pending_id) — called per request.

    `pending_id` names the PendingProcessing row the work was recorded in: a request whose
    row is gone was done already (a re-delivery, or the recovery sweep's second copy) and is
    skipped; the rows are deleted once their events went through."""
    from .services.pending import pending_done, pending_open

    work = [_arguments(*request.args, **request.kwargs) for request in requests]
    # One batch holds requests of many workspaces; these rows are looked up by id.
    with dangerously_all_workspaces(reason="which of a batch's pending rows are still open"):
        open_ids = pending_open([item[3] for item in work if item[3] is not None])
    merged: dict[int, tuple[list[int], dict[str, set[str]], list[int]]] = defaultdict(
        lambda: ([], defaultdict(set), [])
    )
    for workspace_id, event_ids, changed_fields, pending_id in work:
        if pending_id is not None and pending_id not in open_ids:
            continue
        ids, changed, pending = merged[workspace_id]
        ids.extend(event_ids)
        if pending_id is not None:
            pending.append(pending_id)
        for contact_id, names in changed_fields.items():
            changed[contact_id].update(names)
    fault_point("events.before_process")
    for workspace_id, (ids, changed, pending) in merged.items():
        fields = {contact_id: sorted(found) for contact_id, found in changed.items()}
        try:
            in_workspace(workspace_id, _process, ids, fields)
        except Exception:
            # One bad batch must not hold back the others, nor lose its events: it goes
            # through the retrying single-request task instead.
            logger.exception("process_events failed for workspace %s; retrying", workspace_id)
            process_events_retry.apply_async((workspace_id, ids, fields, pending))
            continue
        fault_point("events.after_process")
        with dangerously_all_workspaces(reason="delete a batch's done pending rows by id"):
            pending_done(pending)


def _arguments(
    workspace_id: int,
    event_ids: list[int],
    changed_fields: dict[str, list[str]] | None = None,
    pending_id: int | None = None,
) -> tuple[int, list[int], dict[str, list[str]], int | None]:
    return workspace_id, event_ids, changed_fields or {}, pending_id


def _process(
    workspace: Workspace,
    event_ids: list[int],
    changed_fields: dict[str, list[str]],
    pending: list[int] | None = None,
) -> None:
    from .services import events_process
    from .services.pending import pending_done

    events_process(workspace=workspace, event_ids=event_ids, changed_fields=changed_fields)
    pending_done(pending or [])


# A merged batch that failed, retried on its own with backoff.
process_events_retry = workspace_task(
    name="contacts.process_events_retry",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)(_process)


@shared_task(name="contacts.processing_recover", ignore_result=True)
def processing_recover() -> None:
    """Publish again the pipeline work whose task was lost (beat)."""
    from .services.pending import pending_recover

    with dangerously_all_workspaces(reason="beat: recover every workspace's lost pipeline work"):
        pending_recover()
