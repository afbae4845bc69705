"""Holdouts: a stable, random share of those who enter a workflow is held out (their run ends
at once with the exit reason "holdout"), and analytics compares their conversions and revenue
with the treated contacts'."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, Event
from contacts.services import event_record
from workflows.models import RunStatus, StepLog, WorkflowRun
from workflows.runs.enrolment import Candidate, enrol, in_holdout
from workflows.services import workflow_update
from workspaces.errors import ValidationFailed

from .conftest import chain, make_workflow

pytestmark = pytest.mark.django_db

GRAPH = chain(
    ("t", "trigger.api", {}),
    ("tag", "action.tag_add", {"tags": ["welcomed"]}),
)


def _people(ws, n: int, prefix: str = "p") -> list[Contact]:
    return Contact.objects.bulk_create(
        [Contact(workspace=ws, email=f"{prefix}{i}@example.test") for i in range(n)]
    )


def _enter(ws, workflow, people, key: str = "k") -> list[WorkflowRun]:
    runs, refused = enrol(
        workspace=ws,
        candidates=[Candidate(workflow.pk, "t", person, key, {"type": "api"}) for person in people],
        dispatch=False,
    )
    assert not refused
    return runs


def test_the_held_out_share_enters_and_leaves_at_once_without_any_step(ws):
    workflow = make_workflow(ws, GRAPH, holdout_percent=20, reentry="always")
    people = _people(ws, 400)

    runs = _enter(ws, workflow, people)

    held = [run for run in runs if run.status == RunStatus.EXITED]
    assert 40 <= len(held) <= 120  # 20 % of 400 is 80 (binomial sd 8: ± 5 sd)
    assert {run.contact_id for run in held} == {p.pk for p in people if in_holdout(workflow, p.pk)}
    stored = WorkflowRun.objects.filter(pk__in=[run.pk for run in held])
    assert {(r.status, r.context["exit_reason"], r.next_step_at is None) for r in stored} == {
        ("exited", "holdout", True)
    }
    assert all(r.finished_at is not None for r in stored)
    assert not StepLog.objects.filter(run__in=stored).exists()
    # only the treated entered, as far as the contact's timeline and segments know
    entered = Event.objects.filter(workspace=ws, name="workflow.entered")
    assert entered.count() == len(runs) - len(held)
    assert not entered.filter(contact_id__in=[run.contact_id for run in held]).exists()

    # the same contacts are held out the next time they enter: the share is stable
    WorkflowRun.objects.filter(workflow=workflow).update(status=RunStatus.COMPLETED)
    again = _enter(ws, workflow, people, key="k2")
    assert {r.contact_id for r in again if r.status == RunStatus.EXITED} == {
        r.contact_id for r in held
    }


def test_no_holdout_holds_nobody_out(ws):
    workflow = make_workflow(ws, GRAPH)
    runs = _enter(ws, workflow, _people(ws, 50))
    assert {run.status for run in runs} == {RunStatus.ACTIVE}


@pytest.mark.parametrize("bad", [-1, 51, "ten", True, 12.5])
def test_a_holdout_share_outside_0_to_50_is_refused_by_name(ws, bad):
    workflow = make_workflow(ws, GRAPH)
    with pytest.raises(ValidationFailed) as caught:
        workflow_update(workspace=ws, workflow=workflow, data={"holdout_percent": bad})
    assert "holdout_percent" in caught.value.fields
    workflow.refresh_from_db()
    assert workflow.holdout_percent == 0


def test_the_api_sets_the_holdout_and_names_a_bad_value(ws, tenant):
    from rest_framework.test import APIClient

    workflow = make_workflow(ws, GRAPH)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}")
    url = f"/api/v1/workflows/{workflow.pk}/"
    bad = api.patch(url, {"holdout_percent": 80}, format="json")
    assert bad.status_code == 400 and "holdout_percent" in bad.json()["error"]["fields"]
    good = api.patch(url, {"holdout_percent": 10}, format="json")
    assert good.status_code == 200 and good.json()["holdout_percent"] == 10


def _convert(ws, contact, at, revenue=None):
    properties = {"revenue": revenue} if revenue is not None else {}
    event_record(
        workspace=ws,
        contact=contact,
        type="track",
        name="Order Completed",
        properties=properties,
        timestamp=at,
    )


def test_the_lift_page_compares_treated_and_held_out(ws, owner_client, outsider_client):
    workflow = make_workflow(ws, GRAPH, name="Welcome", holdout_percent=50)
    runs = _enter(ws, workflow, _people(ws, 200))
    treated = [r for r in runs if r.status == RunStatus.ACTIVE]
    held = [r for r in runs if r.status == RunStatus.EXITED]
    contacts = {c.pk: c for c in Contact.objects.filter(workspace=ws)}
    now = timezone.now()
    # half of the treated buy for 40 within the window; a fifth of the held out do
    for run in treated[: len(treated) // 2]:
        _convert(ws, contacts[run.contact_id], now + timedelta(hours=1), revenue=40)
    for run in held[: len(held) // 5]:
        _convert(ws, contacts[run.contact_id], now + timedelta(hours=1), revenue=40)
    # a conversion after the 7-day window, and one before entering, do not count
    _convert(ws, contacts[held[-1].contact_id], now + timedelta(days=8), revenue=40)
    _convert(ws, contacts[held[-2].contact_id], now - timedelta(days=1), revenue=40)

    from analytics import selectors

    period = selectors.period_ending_today(workspace=ws, days=7)
    report = selectors.workflow_holdout(workspace=ws, workflow_id=workflow.pk, period=period)
    assert (report.treated, report.held_out) == (len(treated), len(held))
    assert report.treated_converted == len(treated) // 2
    assert report.held_out_converted == len(held) // 5
    assert report.conversion.treated == pytest.approx((len(treated) // 2) / len(treated))
    assert report.conversion.significant
    assert report.revenue.treated == pytest.approx(40 * (len(treated) // 2) / len(treated))

    url = reverse("analytics:workflow_holdout", args=[workflow.pk])
    html = owner_client.get(url).content.decode()
    assert 'id="lift-conversion"' in html and "significant" in html
    assert "Held out (50 %)" in html
    assert outsider_client.get(url).status_code == 404


def test_the_lift_page_explains_a_workflow_without_holdout(ws, owner_client):
    workflow = make_workflow(ws, GRAPH, name="No holdout")
    html = owner_client.get(reverse("analytics:workflow_holdout", args=[workflow.pk])).content
    assert b'id="holdout-off"' in html
