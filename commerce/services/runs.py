"""The batch job: every product's reorder interval, then, per chunk of contacts with any
commerce activity, their recommendations and reorder dates (nightly from beat, or on demand
from the catalogue page / API). Progress is on the CommerceRun row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from commerce.models import CommerceRun, ProductPartner, Recommendation
from commerce.recommend import partners_load, purchased_products, recommendations_compute
from contacts.services import events_enqueue_processing
from workspaces.errors import Conflict
from workspaces.models import Workspace

from .reorder import REORDER_ATTRIBUTE, product_intervals_refresh, reorder_predict

CHUNK_CONTACTS = 1000


def recommendations_forget(*, workspace: Workspace, contact_ids: Iterable[int]) -> None:
    """Drop stored recommendations (the contact bought something): reads compute them anew."""
    Recommendation.objects.for_workspace(workspace).filter(
        contact_id__in=list(contact_ids)
    ).delete()


def partners_store(*, workspace: Workspace, partners: dict[int, list[tuple[int, int]]]) -> int:
    """Replace the stored co-purchase partners (what sends read between runs)."""
    rows = [(p, q, n) for p, found in partners.items() for q, n in found]
    with transaction.atomic(), connection.cursor() as cursor:
        ProductPartner.objects.for_workspace(workspace).delete()
        cursor.execute(
            "INSERT INTO commerce_productpartner (workspace_id, product_id, partner_id, together,"
            " created_at, updated_at) SELECT %s, u.p, u.q, u.n, now(), now() "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS u(p, q, n)",
            [workspace.pk, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )
    return len(rows)


def recommendations_store(
    *,
    workspace: Workspace,
    contact_ids: list[int],
    partners: dict[int, list[tuple[int, int]]] | None = None,
) -> int:
    """Compute and store these contacts' recommendations (one upsert); how many stored."""
    computed = recommendations_compute(
        workspace_id=workspace.pk, contact_ids=contact_ids, partners=partners
    )
    now = timezone.now()
    rows = [
        Recommendation(workspace=workspace, contact_id=cid, items=items, computed_at=now)
        for cid, items in computed.items()
    ]
    Recommendation.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["workspace", "contact"],
        update_fields=["items", "computed_at", "updated_at"],
    )
    return len(rows)


@transaction.atomic
def commerce_run_start(*, workspace: Workspace, trigger: str = "manual") -> CommerceRun:
    """Queue a run (the task starts after commit). Refused while one is queued or running."""
    stale = timezone.now() - timedelta(seconds=settings.CELERY_LONG_TASK_SOFT_TIME_LIMIT + 120)
    runs = CommerceRun.objects.for_workspace(workspace)
    runs.filter(
        status__in=[CommerceRun.Status.QUEUED, CommerceRun.Status.RUNNING], created_at__lt=stale
    ).update(status=CommerceRun.Status.FAILED, failure="did not finish in time")
    if runs.filter(status__in=[CommerceRun.Status.QUEUED, CommerceRun.Status.RUNNING]).exists():
        raise Conflict("a computation is already under way", fields={"run": ["already running"]})
    run = CommerceRun.objects.create(workspace=workspace, trigger=trigger)
    from commerce.tasks import commerce_run_task

    transaction.on_commit(lambda: commerce_run_task.delay(workspace.pk, run.pk))
    return run


def _active_contacts(workspace: Workspace) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT contact_id FROM commerce_productactivity WHERE workspace_id = %s "
            "ORDER BY contact_id",
            [workspace.pk],
        )
        return [row[0] for row in cursor.fetchall()]


def commerce_run_execute(*, workspace: Workspace, run_id: int) -> CommerceRun | None:
    run = CommerceRun.objects.for_workspace(workspace).filter(pk=run_id).first()
    if run is None or run.is_finished:
        return run
    try:
        product_intervals_refresh(workspace=workspace)
        contacts = _active_contacts(workspace)
        # Co-purchases once for the whole workspace, not once per chunk.
        products = purchased_products(workspace_id=workspace.pk)
        partners = partners_load(workspace_id=workspace.pk, products=products) if products else {}
        partners_store(workspace=workspace, partners=partners)
        run.status, run.started_at = CommerceRun.Status.RUNNING, timezone.now()
        run.contacts_total, run.contacts_done = len(contacts), 0
        run.save(update_fields=["status", "started_at", "contacts_total", "contacts_done"])
        for start in range(0, len(contacts), CHUNK_CONTACTS):
            chunk = contacts[start : start + CHUNK_CONTACTS]
            with transaction.atomic():
                recommendations_store(workspace=workspace, contact_ids=chunk, partners=partners)
                changed = reorder_predict(workspace=workspace, contact_ids=chunk)
                events_enqueue_processing(
                    workspace=workspace,
                    event_ids=[],
                    changed_fields={cid: [REORDER_ATTRIBUTE] for cid in changed},
                )
                run.contacts_done += len(chunk)
                run.save(update_fields=["contacts_done", "updated_at"])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM commerce_reorderprediction WHERE workspace_id = %s",
                [workspace.pk],
            )
            run.predictions = int(cursor.fetchone()[0])
        run.status, run.finished_at = CommerceRun.Status.COMPLETED, timezone.now()
        run.save(update_fields=["status", "finished_at", "predictions", "updated_at"])
    except Exception as error:
        run.status, run.finished_at = CommerceRun.Status.FAILED, timezone.now()
        run.failure = f"{type(error).__name__}: {error}"[:2000]
        run.save(update_fields=["status", "finished_at", "failure", "updated_at"])
        raise
    return run
