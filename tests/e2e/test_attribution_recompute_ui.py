"""Attribution recomputed in a real browser (issue #17): the owner lengthens the click
window, the settings page and the report show the recompute's progress polled by htmx (the
old figures marked meanwhile), and the report switches to the new figures by itself when the
last batch is in. The test plays the Celery worker, one batch at a time, so each state can
be seen. Screenshots go to artifacts/attribution/ (git-ignored)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from analytics.attribution import attribution_process_events, attribution_state, recompute
from analytics.attribution.recompute import attribution_recompute_run
from contacts.models import Contact
from messaging.models import Broadcast
from tests.analytics.events import events_add
from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "attribution"


def _shot(page, name):  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sale(ws, broadcast, clicked_days_before):
    contact = Contact.objects.create(workspace=ws)
    bought = timezone.now() - timedelta(days=1)
    properties = {"channel": "email", "source_type": "broadcast", "source_id": str(broadcast.pk)}
    events_add(
        ws,
        contact,
        "email.clicked",
        bought - timedelta(days=clicked_days_before),
        mark=False,
        message_id=contact.pk,
        broadcast_id=broadcast.pk,
        **properties,
    )
    order = events_add(ws, contact, "Order Completed", bought, mark=False, revenue=100)
    attribution_process_events(workspace=ws, events=order)


def test_the_owner_lengthens_the_click_window_and_watches_the_recompute(
    page, ws, owner, monkeypatch
):
    spring = Broadcast.objects.create(workspace=ws, name="Spring sale", segment_id=0)
    _sale(ws, spring, clicked_days_before=2)  # in the 5-day window
    _sale(ws, spring, clicked_days_before=8)  # only in a 10-day one
    queued = []  # the worker is this test: the task is not sent
    monkeypatch.setattr("analytics.attribution.config._enqueue", lambda *task: queued.append(task))

    browser_login(page, owner)
    page.goto("/analytics/attribution/settings/")
    page.fill("#id_click_window_days", "10")
    page.click("text=Save settings")
    page.wait_for_selector("#attribution-recompute [role=progressbar]")
    assert "waiting for a worker" in page.inner_text("#attribution-recompute")
    assert queued == [(ws.pk, 1)]

    page.goto("/analytics/attribution/?days=7")
    assert page.inner_text("#attributed-revenue") == "$100.00"  # the old figures, marked
    assert "Until this is complete" in page.inner_text("#attribution-recompute")

    generation = attribution_state(workspace=ws).pending_generation
    recompute._begin(ws, generation)
    recompute._batch(ws, generation, 1)  # one of the two conversions
    page.wait_for_selector("#recompute-counts:has-text('1 of 2 conversions · 50%')")
    _shot(page, "recompute-in-progress")

    assert attribution_recompute_run(workspace=ws, generation=generation, batch_size=1)
    # the poll finds it done and the report reloads itself with the new figures
    page.wait_for_selector("#attributed-revenue:has-text('$200.00')")
    assert page.query_selector("#attribution-recompute") is None
    _shot(page, "recompute-done")
