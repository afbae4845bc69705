"""A noisy neighbour does not hurt others: pipeline work waits in per-workspace lists and a
worker takes it in turns (config/fair_queue.py), so a quiet workspace's event goes through
while another workspace's backlog is still waiting — and a worker killed mid-flush loses and
repeats nothing (the items it took are done again from their PendingProcessing rows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from config.celery_app import app
from config.fair_queue import DOORBELLS, fair_purge, fair_push, fair_take, fair_waiting, ring_key
from config.fast_publish import client, queue_of
from contacts.models import Contact, Event, PendingProcessing
from contacts.services import NewEvent, events_enqueue_processing, events_record
from contacts.services.pending import pending_recover
from contacts.tasks import process_events
from segments.selectors import segment_member_ids
from segments.services import segment_create
from tests.support.worker import running_worker, wait_for


@pytest.fixture
def broker() -> Iterator[None]:
    """Tasks go to the test Redis instead of running eagerly; nothing left behind."""
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        app.control.purge()
        fair_purge(process_events)
        yield
        fair_purge(process_events)
        app.control.purge()


def _push(workspace_id: int, event_id: int, weight: int = 1) -> None:
    args = (workspace_id, [event_id], {}, None)
    fair_push(process_events, workspace_id, args, weight=weight, argsrepr="(test)")


def test_a_quiet_workspace_is_served_in_the_first_turn_of_a_flood(broker):
    for n in range(100):
        _push(1, n)
    _push(2, 999)
    taken = fair_take(process_events, max_items=2, max_weight=1_000)
    assert [2, [999], {}, None] in taken
    assert fair_waiting(process_events) == {1: 99}  # the flood waits in its own list


def test_workspaces_alternate_and_the_ring_empties_with_their_lists(broker):
    for n in range(3):
        _push(1, n)
        _push(2, 100 + n)
    taken = fair_take(process_events, max_items=100, max_weight=1_000)
    order = [item[0] for item in taken]
    assert sorted(order) == [1, 1, 1, 2, 2, 2]
    assert all(a != b for a, b in zip(order, order[1:], strict=False))  # turns alternate
    assert [item[1][0] for item in taken if item[0] == 1] == [0, 1, 2]  # FIFO per workspace
    assert not client().exists(ring_key(process_events))


def test_a_flush_takes_about_its_event_budget_and_no_more(broker):
    for n in range(10):
        _push(1, n, weight=100)
    taken = fair_take(process_events, max_items=16, max_weight=250)
    assert len(taken) == 3  # 100 + 100 + 100: the item crossing the budget is taken whole
    assert fair_waiting(process_events) == {1: 7}


def test_a_flood_does_not_grow_the_celery_queue(broker):
    for n in range(DOORBELLS * 3):
        _push(1, n)
    assert client().llen(queue_of(process_events)) == DOORBELLS
    assert fair_waiting(process_events) == {1: DOORBELLS * 3}


def _flood(workspace, count: int) -> list[int]:
    """`count` events of `workspace`, each its own pipeline item (as many single /v1/track)."""
    contacts = Contact.objects.bulk_create(
        [Contact(workspace=workspace, email=f"f{n}@flood.test") for n in range(count)]
    )
    with transaction.atomic():
        ids = events_record(
            workspace=workspace,
            events=[NewEvent(contact.pk, "Flooded") for contact in contacts],
        )
        for event_id in ids:
            events_enqueue_processing(workspace=workspace, event_ids=[event_id])
    return [event_id for event_id in ids if event_id]


@pytest.mark.integration
def test_a_quiet_workspace_goes_through_while_another_floods(
    transactional_db, tenant, other_tenant
):
    noisy, quiet = tenant.workspace, other_tenant.workspace
    segment_create(workspace=noisy, name="Flooded", filter={"event": "Flooded"})
    probed = segment_create(workspace=quiet, name="Demo", filter={"event": "Demo Requested"})
    person = Contact.objects.create(workspace=quiet, email="quiet@globex.test")
    with running_worker():
        _flood(noisy, 3_000)
        with transaction.atomic():
            (event_id,) = events_record(
                workspace=quiet, events=[NewEvent(person.pk, "Demo Requested")]
            )
            events_enqueue_processing(workspace=quiet, event_ids=[event_id])
        wait_for(
            lambda: person.pk in segment_member_ids(segment=probed),
            timeout=60,
            interval=0.05,
            message="the quiet workspace's event through the pipeline",
        )
        # In line behind the flood (one FIFO queue) it would have waited for all 3,000.
        backlog = PendingProcessing.objects.filter(workspace=noisy).count()
        assert backlog > 1_000, f"the flood's backlog was {backlog} when the quiet event was done"
        wait_for(
            lambda: not PendingProcessing.objects.exists(),
            timeout=300,
            interval=0.5,
            message="the flood worked off",
        )


@pytest.mark.integration
def test_a_worker_killed_mid_flush_loses_and_repeats_no_event(
    transactional_db, tenant, other_tenant
):
    segments = {
        tenant.workspace.pk: segment_create(
            workspace=tenant.workspace, name="Flooded", filter={"event": "Flooded"}
        ),
        other_tenant.workspace.pk: segment_create(
            workspace=other_tenant.workspace, name="Flooded", filter={"event": "Flooded"}
        ),
    }
    dying = {"TENDRIL_FAULT_POINTS": "events.before_process"}
    with running_worker(extra_env=dying) as proc:
        _flood(tenant.workspace, 40)
        _flood(other_tenant.workspace, 3)
        proc.wait(timeout=60)  # it took a flush's items off the lists, then died
    assert PendingProcessing.objects.count() == 43  # nothing done, all on record
    assert sum(fair_waiting(process_events).values()) < 43  # what it took is gone from Redis

    with running_worker(purge=False):
        PendingProcessing.objects.update(due_at=timezone.now() - timedelta(seconds=1))
        pending_recover()  # (beat's sweep, every 10 s)

        def done() -> bool:
            return not PendingProcessing.objects.exists() and all(
                len(segment_member_ids(segment=segment)) == (40 if ws == tenant.workspace.pk else 3)
                for ws, segment in segments.items()
            )

        wait_for(done, timeout=120, interval=0.5, message="every event through, once")
    entered = Counter(
        Event.objects.filter(name="segment.entered").values_list("contact_id", flat=True)
    )
    assert len(entered) == 43 and set(entered.values()) == {1}
