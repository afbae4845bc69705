"""The decision views in a real browser (issue #17): a workflow's lift against its holdout and
a broadcast's A/B call with each variant's chance to be best. Screenshots go to
artifacts/decisions/ (git-ignored) for the reviewer."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from contacts.models import Contact
from contacts.services import event_record
from messaging.models import Message
from messaging.services import layout_save
from messaging.services.broadcasts import (
    BroadcastInput,
    VariantInput,
    broadcast_save,
    broadcast_send,
)
from tests.conftest import browser_login
from tests.messaging.conftest import LAYOUT, make_contact, make_template
from tests.messaging.test_broadcasts import static_segment
from tests.workflows.conftest import chain, make_workflow
from workflows.models import RunStatus
from workflows.runs.enrolment import Candidate, enrol

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "decisions"


def _shot(page, name):  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_marketer_reads_a_workflows_lift_against_its_holdout(page, ws, owner):
    workflow = make_workflow(
        ws,
        chain(("t", "trigger.api", {}), ("tag", "action.tag_add", {"tags": ["welcomed"]})),
        name="Welcome series",
        holdout_percent=50,
    )
    people = Contact.objects.bulk_create(
        [Contact(workspace=ws, email=f"p{i}@example.test") for i in range(200)]
    )
    runs, _ = enrol(
        workspace=ws,
        candidates=[Candidate(workflow.pk, "t", p, "k", {"type": "api"}) for p in people],
        dispatch=False,
    )
    by_id = {p.pk: p for p in people}
    treated = [r for r in runs if r.status == RunStatus.ACTIVE]
    soon = timezone.now() + timedelta(hours=2)
    for run in treated[: len(treated) // 2]:  # half the treated buy; none of the held out
        event_record(
            workspace=ws,
            contact=by_id[run.contact_id],
            name="Order Completed",
            properties={"revenue": 30},
            timestamp=soon,
        )

    browser_login(page, owner)
    page.goto(f"/workflows/{workflow.pk}/")
    page.click("#holdout-link")
    page.wait_for_selector("#lift-conversion")
    assert "held out (50 %)" in page.inner_text("#holdout").lower()
    assert "significant" in page.inner_text("#lift-conversion")
    assert "not significant" not in page.inner_text("#lift-conversion")
    _shot(page, "workflow-holdout")

    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "workflow-holdout-phone")


def test_a_marketer_reads_the_ab_call_on_a_broadcast(page, ws, owner):
    layout = layout_save(workspace=ws, name="Default", html=LAYOUT)
    template = make_template(ws, layout)
    people = [make_contact(ws, email=f"r{i}@example.com") for i in range(8)]
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="Spring sale",
            segment_id=static_segment(ws, people).pk,
            email_template=template,
            ab_enabled=True,
            ab_sample_percent=50,
            ab_wait_minutes=60,
            ab_min_recipients=2,
            variants=[
                VariantInput("A", subject="Spring sale"),
                VariantInput("B", subject="20% off"),
            ],
        ),
    )
    broadcast_send(workspace=ws, broadcast=broadcast)
    Message.objects.filter(broadcast=broadcast, variant__label="B").update(
        clicked_at=timezone.now()
    )

    browser_login(page, owner)
    page.goto(f"/messages/broadcasts/{broadcast.pk}/")
    page.wait_for_selector("#ab-call")
    table = page.inner_text("#ab-results")
    assert "chance to be best" in table.lower() and "control" in table
    _shot(page, "broadcast-ab")
