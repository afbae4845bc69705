"""Thin Celery wrappers around contacts services."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from celery import shared_task
from celery_batches import Batches
from django.conf import settings

from workspaces.models import Workspace
from workspaces.scoping import in_workspace, workspace_task

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
    """process_events(workspace_id, event_ids, changed_fields) — called per request."""
    merged: dict[int, tuple[list[int], dict[str, set[str]]]] = defaultdict(
        lambda: ([], defaultdict(set))
    )
    for request in requests:
        workspace_id, event_ids, changed_fields = _arguments(*request.args, **request.kwargs)
        ids, changed = merged[workspace_id]
        ids.extend(event_ids)
        for contact_id, names in changed_fields.items():
            changed[contact_id].update(names)
    for workspace_id, (ids, changed) in merged.items():
        fields = {contact_id: sorted(found) for contact_id, found in changed.items()}
        try:
            in_workspace(workspace_id, _process, ids, fields)
        except Exception:
            # One bad batch must not hold back the others, nor lose its events: it goes
            # through the retrying single-request task instead.
            logger.exception("process_events failed for workspace %s; retrying", workspace_id)
            process_events_retry.apply_async((workspace_id, ids, fields))


def _arguments(
    workspace_id: int, event_ids: list[int], changed_fields: dict[str, list[str]] | None = None
) -> tuple[int, list[int], dict[str, list[str]]]:
    return workspace_id, event_ids, changed_fields or {}


def _process(
    workspace: Workspace, event_ids: list[int], changed_fields: dict[str, list[str]]
) -> None:
    from .services import events_process

    events_process(workspace=workspace, event_ids=event_ids, changed_fields=changed_fields)


# A merged batch that failed, retried on its own with backoff.
process_events_retry = workspace_task(
    name="contacts.process_events_retry",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)(_process)
