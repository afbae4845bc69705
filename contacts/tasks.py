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

# Pipeline work waits in per-workspace lists, taken in turns (config/fair_queue.py): the
# Celery messages of `contacts.process_events` are doorbells, and a flush takes up to
# FLUSH_EVERY items — one per workspace per turn round the ring — and about
# EVENTS_PIPELINE_FLUSH_EVENTS events. Under a stream of small requests the pipeline's fixed
# cost (rules, segments, triggers loaded; one query per stage) is paid once per flush and
# per workspace; while one workspace floods, another's event waits for at most the flush
# in progress and its own, not for the flood's backlog.
# The worker buffers doorbells (celery-batches) and flushes when it holds FLUSH_EVERY (at
# most prefetch × concurrency are held, so this must not exceed the prefetch multiplier),
# or after FLUSH_INTERVAL seconds.
FLUSH_EVERY = settings.CELERY_WORKER_PREFETCH_MULTIPLIER
FLUSH_INTERVAL = 0.02


@shared_task(
    base=Batches,
    name="contacts.process_events",
    flush_every=FLUSH_EVERY,
    flush_interval=FLUSH_INTERVAL,
)
def process_events(requests: list[Any]) -> None:
    """A doorbell (no arguments): take items round the ring and run them. Called with
    (workspace_id, event_ids, changed_fields, pending_id) — eager mode, a message from
    before the fair queue — it runs those.

    `pending_id` names the PendingProcessing row the work was recorded in: an item whose
    row is gone was done already (a re-delivery, or the recovery sweep's second copy) and is
    skipped; the rows are deleted once their events went through."""
    from config.fair_queue import fair_ring, fair_take

    from .services.pending import pending_done, pending_open

    work = [_arguments(*request.args, **request.kwargs) for request in requests if request.args]
    taken = fair_take(
        process_events, max_items=FLUSH_EVERY, max_weight=settings.EVENTS_PIPELINE_FLUSH_EVENTS
    )
    work += [_arguments(*item) for item in taken]
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
    # The smallest batches first: a quiet workspace's few events do not wait for a flood's.
    for workspace_id, (ids, changed, pending) in sorted(
        merged.items(), key=lambda entry: len(entry[1][0])
    ):
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
    if taken:  # more may wait behind what this flush took: make sure a worker looks
        fair_ring(process_events)


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


@shared_task(name="contacts.event_partitions_ensure", ignore_result=True)
def event_partitions_ensure() -> None:
    """Create the event table's monthly partitions ahead of time (beat)."""
    from .services.event_partitions import event_partitions_ensure as ensure
    from .services.event_retention import as_owner

    with as_owner():
        created = ensure()
    if created:
        logger.info("event partitions created: %s", ", ".join(created))


@shared_task(name="contacts.events_retention_apply", ignore_result=True)
def events_retention_apply() -> None:
    """Raw events past each workspace's retention leave (beat); what one run's time budget
    did not reach goes on at once in a new task."""
    from .services.event_retention import events_retention_apply as apply

    with dangerously_all_workspaces(reason="beat: every workspace's events past retention"):
        result = apply()
    if result.dropped or result.deleted:
        logger.info(
            "retention: partitions dropped %s, %d events deleted", result.dropped, result.deleted
        )
    if result.remaining:
        events_retention_apply.delay()


@shared_task(name="contacts.event_messages_prune", ignore_result=True)
def event_messages_prune() -> None:
    """Forget messageIds past the deduplication window (beat); a backlog goes on at once."""
    from .services.event_retention import event_messages_prune as prune

    with dangerously_all_workspaces(reason="beat: every workspace's old messageIds"):
        _deleted, remaining = prune()
    if remaining:
        event_messages_prune.delay()
