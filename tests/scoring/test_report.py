"""The validation report finds a known signal in generated data, and ignores noise."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from scoring.report import roc_auc, validation_report
from scoring.services import deal_record

from .conftest import behavioural, process, track

pytestmark = pytest.mark.django_db


def test_roc_auc_is_the_mann_whitney_probability_with_ties_counting_half():
    assert roc_auc([3, 4], [1, 2]) == 1.0
    assert roc_auc([1, 2], [3, 4]) == 0.0
    assert roc_auc([2], [2]) == 0.5
    assert roc_auc([3, 1], [2, 2]) == 0.5  # (1 + 1 + 0 + 0) / 4
    assert roc_auc([], [1]) is None


@pytest.fixture
def history(ws, model):
    """300 contacts. 100 requested a demo: half of them became customers (50%); of the 200
    who did not, 1 in 10 did (10%) — demo requesters convert 5× more. Half of each group
    also read the blog, independently of converting."""
    demo = behavioural(model, "Requested Demo", 20, name="Requested a demo")
    blog = behavioural(model, "Read Blog", 5, name="Read the blog")
    contacts = Contact.objects.bulk_create(
        [
            Contact(workspace=ws, email=f"gen{i}@example.test", lifecycle_stage="lead")
            for i in range(300)
        ]
    )
    events, winners = [], []
    earlier = timezone.now() - timedelta(hours=2)
    for i, contact in enumerate(contacts):
        did_demo = i < 100
        converts = (i % 2 == 0) if did_demo else (i % 10 == 0)
        reads_blog = ((i // 2) % 2 == 0) if did_demo else ((i // 10) % 2 == 0)
        events.append(track(ws, contact, "Visited Site", timestamp=earlier))
        if did_demo:
            events.append(track(ws, contact, "Requested Demo", timestamp=earlier))
        if reads_blog:
            events.append(track(ws, contact, "Read Blog", timestamp=earlier))
        if converts:
            winners.append(contact)
    process(ws, events)
    for contact in winners:
        deal_record(workspace=ws, contact=contact, value="1000")
    return demo, blog


def test_the_report_finds_the_signal_and_suggests_more_points_for_it(ws, model, history):
    demo, blog = history
    now = timezone.now()
    report = validation_report(
        workspace=ws, model=model, start=now - timedelta(days=1), end=now + timedelta(days=1)
    )
    assert (report.population, report.converted) == (300, 70)
    lifts = {row.rule.pk: row for row in report.rules}
    assert (lifts[demo.pk].with_signal, lifts[demo.pk].with_converted) == (100, 50)
    assert 4.5 < lifts[demo.pk].lift < 5.5
    assert 0.8 < lifts[blog.pk].lift < 1.25
    assert lifts[demo.pk].advice == "raise" and lifts[demo.pk].suggested > demo.points
    assert lifts[blog.pk].advice == "lower" and lifts[blog.pk].suggested < blog.points
    assert report.auc is not None and 0.7 < report.auc < 0.8  # demo alone separates: ≈ 0.75
    converted_by_band = [(b.label, round(b.rate, 2)) for b in report.bands if b.contacts]
    rates = [rate for _, rate in converted_by_band]
    assert rates == sorted(rates), converted_by_band
    assert report.funnel.customer == 70


def test_the_report_page_draws_its_charts(ws, model, history, owner_client):
    response = owner_client.get(reverse("scoring:report", args=[model.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<canvas") == 4 and "Requested a demo" in body
    assert (
        owner_client.get(
            reverse("scoring:report", args=[model.pk]), {"start": "yesterday"}
        ).status_code
        == 400
    )


def test_lift_comes_with_its_confidence_interval(ws, model, history):
    demo, blog = history
    now = timezone.now()
    report = validation_report(
        workspace=ws, model=model, start=now - timedelta(days=1), end=now + timedelta(days=1)
    )
    lifts = {row.rule.pk: row for row in report.rules}
    low, high = lifts[demo.pk].lift_interval
    assert 3 < low < lifts[demo.pk].lift < high < 8  # 50% vs 10% on 100 and 200 contacts
    assert lifts[demo.pk].clear_effect
    low, high = lifts[blog.pk].lift_interval
    assert low < 1 < high and not lifts[blog.pk].clear_effect


@pytest.fixture
def nothing_converts(ws, model):
    """600 contacts, 10 of them with the trial signal, and nobody converts: 0% vs 0%
    (the smoothed lift of old read 54×)."""
    trial = behavioural(model, "Trial Started", 15, name="Started a trial")
    contacts = Contact.objects.bulk_create(
        [
            Contact(workspace=ws, email=f"q{i}@example.test", lifecycle_stage="lead")
            for i in range(600)
        ]
    )
    earlier = timezone.now() - timedelta(hours=2)
    events = [track(ws, c, "Visited Site", timestamp=earlier) for c in contacts]
    events += [track(ws, c, "Trial Started", timestamp=earlier) for c in contacts[:10]]
    process(ws, events)
    return trial


def test_without_conversions_a_rule_has_not_enough_data_not_a_huge_lift(
    ws, model, nothing_converts, owner_client
):
    now = timezone.now()
    report = validation_report(
        workspace=ws, model=model, start=now - timedelta(days=1), end=now + timedelta(days=1)
    )
    row = next(r for r in report.rules if r.rule.pk == nothing_converts.pk)
    assert (row.with_signal, row.with_converted, row.without_converted) == (10, 0, 0)
    assert not row.enough_data and row.suggested is None and row.advice == "not enough data"
    html = owner_client.get(reverse("scoring:report", args=[model.pk])).content.decode()
    table = html.split('id="rule-lifts"')[1].split("</table>")[0]
    assert "not enough data" in table and "×" not in table
    assert "keep" not in table
