"""Scores: thresholds with hysteresis, decay corrected on read and after the refresh."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, Event, LifecycleStage
from scoring.models import ContactScore, ScoreChange
from scoring.selectors import LeadFilters, lead_page, score_current, scores_corrected
from scoring.services import score_adjust, scores_refresh_due
from workspaces.errors import NotFound, ValidationFailed

from .conftest import behavioural, make_contact, process, track

pytestmark = pytest.mark.django_db


def stage(contact):
    return Contact.objects.get(pk=contact.pk).lifecycle_stage


def stored(contact):
    return Contact.objects.get(pk=contact.pk).score


def test_score_adjust_records_the_change_and_mirrors_it_on_the_contact(ws, model, contact):
    change = score_adjust(workspace=ws, contact=contact, points=15, reason="Met at the booth")
    assert change.points == 15 and change.model == model and change.source == "workflow"
    assert stored(contact) == 15 and contact.score == 15
    event = Event.objects.get(contact=contact, name="score.changed")
    assert event.properties["from"] == 0 and event.properties["to"] == 15
    assert event.properties["reasons"] == ["+15 Met at the booth"]


def test_crossing_the_threshold_makes_an_mql_and_records_lifecycle_changed(ws, model, contact):
    score_adjust(workspace=ws, contact=contact, points=49, reason="a")
    assert stage(contact) == LifecycleStage.LEAD
    score_adjust(workspace=ws, contact=contact, points=1, reason="b")
    assert stage(contact) == LifecycleStage.MQL
    change = Event.objects.get(contact=contact, name="lifecycle.changed")
    assert (change.properties["from"], change.properties["to"]) == ("lead", "mql")


def test_hysteresis_keeps_a_hovering_contact_from_flapping(ws, model, contact):
    moves = []
    for points in (50, -5, +4, -6, -1, +9, +2):
        score_adjust(workspace=ws, contact=contact, points=points, reason="x")
        moves.append((stored(contact), stage(contact)))
    assert moves == [
        (50, "mql"),
        (45, "mql"),  # below the threshold, above threshold − hysteresis (40)
        (49, "mql"),
        (43, "mql"),
        (42, "mql"),
        (51, "mql"),
        (53, "mql"),
    ]
    score_adjust(workspace=ws, contact=contact, points=-14, reason="x")  # 39 < 40
    assert (stored(contact), stage(contact)) == (39, "lead")
    score_adjust(workspace=ws, contact=contact, points=10, reason="x")  # 49: not yet again
    assert stage(contact) == "lead"
    score_adjust(workspace=ws, contact=contact, points=1, reason="x")  # 50
    assert stage(contact) == "mql"
    assert Event.objects.filter(contact=contact, name="lifecycle.changed").count() == 3


def test_the_score_does_not_demote_people_sales_moved_on(ws, model, contact):
    score_adjust(workspace=ws, contact=contact, points=60, reason="x")
    Contact.objects.filter(pk=contact.pk).update(lifecycle_stage=LifecycleStage.SQL)
    score_adjust(workspace=ws, contact=contact, points=-60, reason="x")
    assert stage(contact) == LifecycleStage.SQL


def test_score_adjust_refuses_nonsense_and_other_workspaces(ws, other_ws, model, contact):
    with pytest.raises(ValidationFailed) as error:
        score_adjust(workspace=ws, contact=contact, points=0, reason="x")
    assert "points" in error.value.fields
    with pytest.raises(ValidationFailed):
        score_adjust(workspace=ws, contact=contact, points=5, reason="  ")
    with pytest.raises(NotFound):
        score_adjust(workspace=other_ws, contact=contact, points=5, reason="x")
    assert not ScoreChange.objects.exists()


# --- decay ------------------------------------------------------------------------------------


@pytest.fixture
def halving(model):
    model.decay_mode, model.decay_percent, model.decay_period_days = "percent", 50, 1
    model.save()
    return model


def test_decay_is_correct_on_read_before_the_refresh_runs(ws, halving, contact):
    rule = behavioural(halving, "Requested Demo", 40)
    process(ws, [track(ws, contact, "Requested Demo")])
    assert stored(contact) == 40
    row = ContactScore.objects.get(contact=contact)
    assert row.valid_until is not None
    later = row.valid_until + timedelta(days=1, minutes=1)  # two halvings: 40 → 20 → 10
    assert scores_corrected(workspace=ws, model=halving, contact_ids=[contact.pk], now=later) == {
        contact.pk: 10
    }
    assert stored(contact) == 40  # nothing was written by reading
    assert rule.pk


def test_decay_is_correct_after_the_refresh_and_only_due_rows_are_touched(ws, halving, contact):
    behavioural(halving, "Requested Demo", 40)
    quiet = make_contact(ws)
    score_adjust(workspace=ws, contact=quiet, points=30, reason="x")
    process(ws, [track(ws, contact, "Requested Demo")])
    row = ContactScore.objects.get(contact=contact)
    # quiet's points were earned later: its first step is not due yet
    ScoreChange.objects.filter(contact=quiet).update(at=row.valid_until)
    ContactScore.objects.filter(contact=quiet).update(
        valid_until=row.valid_until + timedelta(days=1)
    )
    quiet_before = ContactScore.objects.get(contact=quiet).updated_at
    assert scores_refresh_due(workspace=ws, now=row.valid_until - timedelta(seconds=1)) == 0

    at = row.valid_until + timedelta(seconds=1)
    assert scores_refresh_due(workspace=ws, now=at) == 1
    assert (stored(contact), stored(quiet)) == (20, 30)
    assert ContactScore.objects.get(contact=quiet).updated_at == quiet_before
    row.refresh_from_db()
    assert row.valid_until > at and row.score == 20


def test_an_mql_that_decays_below_the_exit_threshold_goes_back_to_lead(ws, halving, contact):
    score_adjust(workspace=ws, contact=contact, points=60, reason="Webinar")
    assert stage(contact) == "mql"
    row = ContactScore.objects.get(contact=contact)
    scores_refresh_due(workspace=ws, now=row.valid_until + timedelta(seconds=1))  # 60 → 30
    assert (stored(contact), stage(contact)) == (30, "lead")
    change = Event.objects.filter(contact=contact, name="lifecycle.changed").latest("pk")
    assert change.properties["to"] == "lead" and "fell below 40" in change.properties["reason"]


def test_expired_points_leave_the_score_on_the_expiry_day(ws, model, contact):
    model.decay_mode, model.expire_after_days = "expire", 30
    model.save()
    score_adjust(workspace=ws, contact=contact, points=12, reason="x")
    row = ContactScore.objects.get(contact=contact)
    assert row.valid_until - timezone.now() > timedelta(days=29)
    after = row.valid_until + timedelta(seconds=1)
    assert score_current(workspace=ws, contact=contact) == 12
    assert (
        scores_corrected(workspace=ws, model=model, contact_ids=[contact.pk], now=after)[contact.pk]
        == 0
    )
    scores_refresh_due(workspace=ws, now=after)
    assert stored(contact) == 0
    assert ContactScore.objects.get(contact=contact).valid_until is None


def test_the_leads_list_shows_scores_corrected_on_read(ws, halving, contact, owner):
    score_adjust(workspace=ws, contact=contact, points=40, reason="x")
    ContactScore.objects.filter(contact=contact).update(valid_until=timezone.now())
    ScoreChange.objects.filter(contact=contact).update(
        at=timezone.now() - timedelta(days=1, hours=1)
    )
    page = lead_page(workspace=ws, filters=LeadFilters(), user=owner)
    assert [(c.pk, c.score) for c in page.object_list] == [(contact.pk, 20)]
