"""The scheduler: claim due runs and hand them to workers.

Waits are rows. Every tick (celery beat, every second) claims due runs in batches with
`SELECT … FOR UPDATE SKIP LOCKED` — so several schedulers never claim the same run — and
gives each a lease: a fresh `lease` uuid, and `next_step_at` moved to the lease's expiry.
A worker that finishes the run clears the lease and sets the real next time; a worker that
dies leaves the run to become due again when the lease expires, and the next claim (with a
new lease) makes any late duplicate of the old task a no-op.

Claims are dispatched in chunks to `workflows.execute_runs`, grouped by workspace. A claim
is published before its transaction commits: a process that dies between the claim and the
publish (kill -9, a Redis outage making the publish fail) rolls the claim back, so the runs
stay due for the next tick instead of sitting out a lease nobody will use. A worker that
receives a chunk before that commit waits on the rows' locks, then sees the new lease.
Back-pressure: no more than WORKFLOWS_MAX_IN_FLIGHT runs are leased at once, so a backlog
(1,000,000 waits due at the same minute) is worked off at the workers' pace instead of
piling up in the broker and outliving its leases.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from config.faults import fault_point

from . import clock


def lease_seconds() -> float:
    return float(settings.WORKFLOWS_LEASE_SECONDS)


def chunk_size() -> int:
    return int(settings.WORKFLOWS_CHUNK_SIZE)


def max_in_flight() -> int:
    return int(settings.WORKFLOWS_MAX_IN_FLIGHT)


CLAIM_SQL = """
WITH due AS (
    SELECT id, next_step_at
    FROM workflows_workflowrun
    WHERE status IN ('active', 'waiting') AND NOT held AND next_step_at <= %(now)s {extra}
    ORDER BY next_step_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE workflows_workflowrun AS run
SET lease = gen_random_uuid(), next_step_at = %(lease_until)s
FROM due
WHERE run.id = due.id
RETURNING run.id, run.workspace_id, run.lease, due.next_step_at
"""

IN_FLIGHT_SQL = """
SELECT count(*) FROM workflows_workflowrun
WHERE lease IS NOT NULL AND status IN ('active', 'waiting') AND next_step_at > %(now)s
"""

Claim = tuple[int, int, str, str]  # run id, workspace id, lease, due (ISO)


def _claim(limit: int, now: datetime, ids: Iterable[int] | None = None) -> list[Claim]:
    extra = ""
    params: dict[str, Any] = {
        "now": now,
        "limit": limit,
        "lease_until": now + timedelta(seconds=lease_seconds()),
    }
    if ids is not None:
        extra = "AND id = ANY(%(ids)s)"
        params["ids"] = list(ids)
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL.format(extra=extra), params)
        rows = cursor.fetchall()
    return [(run_id, ws_id, str(lease), due.isoformat()) for run_id, ws_id, lease, due in rows]


def _claim_and_publish(limit: int, now: datetime, ids: Iterable[int] | None = None) -> int:
    """Claim and dispatch in one transaction: published before the claim commits (above)."""
    with transaction.atomic():
        claims = _claim(limit, now, ids)
        fault_point("workflows.claimed")
        dispatch(claims)
    return len(claims)


def in_flight(now: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(IN_FLIGHT_SQL, {"now": now})
        return int(cursor.fetchone()[0])


def dispatch(claims: list[Claim]) -> int:
    """Send claims to the workers, a chunk per task, grouped by workspace."""
    from ..tasks import execute_runs

    by_workspace: dict[int, list[list[Any]]] = defaultdict(list)
    for run_id, ws_id, lease, due in claims:
        by_workspace[ws_id].append([run_id, lease, due])
    tasks = 0
    size = chunk_size()
    for ws_id, items in by_workspace.items():
        for start in range(0, len(items), size):
            # (to the `steps` queue: CELERY_TASK_ROUTES)
            execute_runs.apply_async((ws_id, items[start : start + size]))
            tasks += 1
    return tasks


def tick(*, budget_seconds: float = 0.9, batch: int = 1000) -> int:
    """Claim and dispatch due runs for up to `budget_seconds`; returns how many."""
    started = time.monotonic()
    claimed = 0
    room = max_in_flight() - in_flight(clock.now())
    while room > 0 and time.monotonic() - started < budget_seconds:
        count = _claim_and_publish(min(batch, room), clock.now())
        claimed += count
        room -= count
        if count < batch:
            break
    return claimed


def claim_and_dispatch(run_ids: Iterable[int]) -> int:
    """Start these runs now if they are due (new enrolments, resolved waits): saves the wait
    for the next tick. Runs someone else holds are skipped; the tick gets them."""
    ids = list(run_ids)
    if not ids:
        return 0
    return _claim_and_publish(len(ids), clock.now(), ids)


def dispatch_after_commit(run_ids: Iterable[int]) -> None:
    ids = list(run_ids)
    if ids:
        transaction.on_commit(lambda: claim_and_dispatch(ids))
