"""The global control group's report: conversion and revenue per contact of those marketing
reached against those the control group held back, with the lift's 95 % interval — on a
fixture whose answer is worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics import selectors
from contacts.models import Contact
from contacts.services import event_record
from messaging.models import Message

pytestmark = pytest.mark.django_db


def _people(ws, n: int, prefix: str) -> list[Contact]:
    return Contact.objects.bulk_create(
        [Contact(workspace=ws, email=f"{prefix}{i}@example.test") for i in range(n)]
    )


def _messages(ws, people, *, withheld: bool, source: str = "broadcast") -> None:
    now = timezone.now()
    Message.objects.bulk_create(
        [
            Message(
                workspace=ws, contact=person, channel="email", source_type=source,
                source_id=f"{source}-{person.pk}",
                status="skipped" if withheld else "delivered",
                error="control_group" if withheld else "",
                sent_at=None if withheld else now,
            )
            for person in people
        ]
    )  # fmt: skip


def _buy(ws, person, *, revenue: int, at) -> None:
    event_record(
        workspace=ws, contact=person, type="track", name="Order Completed",
        properties={"revenue": revenue}, timestamp=at,
    )  # fmt: skip


def control_group_data(ws):
    """100 contacts sent marketing, 30 of whom buy for 50; 100 held back, 10 of whom buy
    for 50. Plus what must not count: a purchase after the 7-day window, one before the
    first message, a test send, a contact both sent to and held back."""
    ws.control_group_percent = 10
    ws.save(update_fields=["control_group_percent"])
    treated, control = _people(ws, 100, "t"), _people(ws, 100, "c")
    _messages(ws, treated, withheld=False)
    _messages(ws, control, withheld=True)
    soon = timezone.now() + timedelta(hours=1)
    for person in treated[:30]:
        _buy(ws, person, revenue=50, at=soon)
    for person in control[:10]:
        _buy(ws, person, revenue=50, at=soon)
    _buy(ws, control[50], revenue=50, at=timezone.now() + timedelta(days=8))  # too late
    _buy(ws, control[51], revenue=50, at=timezone.now() - timedelta(days=1))  # before
    [tester] = _people(ws, 1, "test")
    _messages(ws, [tester], withheld=False, source="test")
    [both] = _people(ws, 1, "both")
    _messages(ws, [both], withheld=False, source="workflow")
    _messages(ws, [both], withheld=True, source="broadcast")
    return ws


@pytest.fixture
def fixture(ws):
    return control_group_data(ws)


def test_the_report_has_the_hand_computed_lift(fixture):
    period = selectors.period_ending_today(workspace=fixture, days=7)
    report = selectors.control_group_report(workspace=fixture, period=period)
    outcome = report.outcome

    assert (outcome.treated, outcome.control) == (100, 100)
    assert (outcome.treated_converted, outcome.control_converted) == (30, 10)
    assert report.mixed == 1 and report.percent == 10
    # conversion: 0.30 − 0.10 = 0.20; se = √(0.3·0.7/100 + 0.1·0.9/100) = √0.003 = 0.05477;
    # 95 %: 0.20 ± 1.96 · 0.05477 = [0.0926, 0.3074] — significant
    assert outcome.conversion.difference == pytest.approx(0.20)
    assert (outcome.conversion.low, outcome.conversion.high) == (
        pytest.approx(0.0926, abs=1e-4),
        pytest.approx(0.3074, abs=1e-4),
    )
    assert outcome.conversion.significant
    # revenue per contact: 15 vs 5; sample variances 52,500/99 = 530.30 and 22,500/99 = 227.27;
    # se = √(5.3030 + 2.2727) = 2.7524; 95 %: 10 ± 5.3946 = [4.605, 15.395]
    assert (outcome.revenue.treated, outcome.revenue.control) == (15, 5)
    assert (outcome.revenue.low, outcome.revenue.high) == (
        pytest.approx(4.605, abs=1e-3),
        pytest.approx(15.395, abs=1e-3),
    )


def test_a_small_control_group_is_not_significant_yet(ws):
    treated, control = _people(ws, 20, "t"), _people(ws, 20, "c")
    _messages(ws, treated, withheld=False)
    _messages(ws, control, withheld=True)
    soon = timezone.now() + timedelta(hours=1)
    for person in treated[:5] + control[:3]:
        _buy(ws, person, revenue=10, at=soon)
    report = selectors.control_group_report(
        workspace=ws, period=selectors.period_ending_today(workspace=ws, days=7)
    )
    # 0.25 − 0.15 = 0.10 ± 1.96·√(0.25·0.75/20 + 0.15·0.85/20) = ± 0.246: includes 0
    assert report.outcome.conversion.difference == pytest.approx(0.10)
    assert not report.outcome.conversion.significant


def test_the_page_shows_the_lift_to_its_workspace_only(fixture, owner_client, outsider_client):
    url = reverse("analytics:control_group")
    html = owner_client.get(url).content.decode()
    assert 'id="lift-conversion"' in html and "Control group (10 %)" in html
    assert "Conversion: +20% points" in html
    assert "1 contact both sent to and held back in the period" in html
    # another workspace's page knows nothing of these contacts
    other = outsider_client.get(url).content.decode()
    assert 'id="control-off"' in other and 'id="lift-conversion"' not in other
