"""The scoring pages are Django forms: labels in words, bad input next to its field, and a
rejected form changes nothing."""

import re

import pytest
from django.urls import reverse

from scoring.models import AssignmentRule, SalesRep, ScoringModel, ScoringRule
from scoring.services import scoring_settings
from tests.conftest import add_member
from workspaces.roles import Role

pytestmark = pytest.mark.django_db


def error_next_to(html: str, field_id: str) -> str:
    """The error text of the field whose input has this id ('' if it has none)."""
    match = re.search(
        rf'<div class="field[^"]*has-error">\s*<label for="{field_id}">.*?</div>', html, re.S
    )
    return match.group(0) if match else ""


def test_the_model_form_is_labelled_in_words_and_refuses_a_bad_threshold(ws, model, member_client):
    url = reverse("scoring:model", args=[model.pk])
    page = member_client.get(url).content.decode()
    assert '<label for="id_mql_threshold">MQL at score ≥</label>' in page
    assert "An MQL leaves only below threshold − this." in page
    assert "Mql threshold" not in page and "Decay period days" not in page
    response = member_client.post(
        url, {"name": "Renamed", "mql_threshold": "lots", "decay_mode": "none"}
    )
    assert response.status_code == 400
    assert "Enter a whole number." in error_next_to(response.content.decode(), "id_mql_threshold")
    model.refresh_from_db()
    assert (model.name, model.mql_threshold) == ("Default", 50)


def test_a_taken_model_name_is_said_next_to_the_name(ws, model, member_client):
    response = member_client.post(
        reverse("scoring:model_create"),
        {
            "name": "default",
            "mql_threshold": "60",
            "hysteresis": "10",
            "decay_mode": "none",
            "decay_percent": "0",
            "decay_period_days": "30",
            "expire_after_days": "90",
        },
    )
    assert response.status_code == 400
    assert "another model has this name" in error_next_to(response.content.decode(), "id_name")
    assert ScoringModel.objects.count() == 1


def test_a_rule_with_a_bad_cap_is_refused_next_to_the_cap(ws, model, member_client):
    url = reverse("scoring:rule_create", args=[model.pk])
    response = member_client.post(
        url, {"kind": "behavioural", "name": "Demo", "points": "5", "cap_per_day": "0"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "greater than or equal to 1" in error_next_to(html, "r-cap_per_day")
    assert '<label for="r-cap_per_day">At most points per day</label>' in html
    assert not ScoringRule.objects.exists()


def test_the_kind_switch_keeps_what_was_typed_without_complaining(ws, model, member_client):
    url = reverse("scoring:rule_create", args=[model.pk])
    html = member_client.get(url, {"kind": "negative", "name": "", "points": "-3"}).content.decode()
    assert 'name="signal"' in html and 'value="-3"' in html
    assert "has-error" not in html and "This field is required" not in html


def test_routing_refuses_bad_json_and_a_bad_capacity_in_place(ws, member_client):
    rep = add_member(ws, "rep@acme.test", Role.SALES)
    url = reverse("scoring:routing")
    response = member_client.post(url, {"name": "DACH", "filter": "{nope", "reps": [rep.pk]})
    assert response.status_code == 400
    assert "Not valid JSON" in error_next_to(response.content.decode(), "id_filter")
    response = member_client.post(
        url, {"action": "capacity", "user": rep.pk, "max_open_leads": "five"}
    )
    assert response.status_code == 400
    assert "Max open leads: Enter a whole number." in response.content.decode()
    assert not AssignmentRule.objects.exists() and not SalesRep.objects.exists()


def test_handoff_settings_refuse_a_bad_due_time_and_keep_the_old_ones(ws, owner_client):
    url = reverse("scoring:integrations")
    response = owner_client.post(
        url, {"slack_webhook_url": "https://hooks.example.com/x", "task_due_hours": "0"}
    )
    assert response.status_code == 400
    assert "greater than or equal to 1" in error_next_to(
        response.content.decode(), "id_task_due_hours"
    )
    current = scoring_settings(workspace=ws)
    assert (current.slack_webhook_url, current.task_due_hours) == ("", 24)


def test_counting_past_events_names_a_bad_window(ws, model, owner_client):
    rule = ScoringRule.objects.create(
        workspace=ws, model=model, kind="behavioural", name="Demo", event="Demo", points=5
    )
    url = reverse("scoring:rule_history", args=[model.pk, rule.pk])
    response = owner_client.get(url, {"days": "eleven"})
    assert response.status_code == 400
    assert "Choose a window of 7, 30, 90, 365 days." in response.content.decode()


# --- a lead's actions ------------------------------------------------------------------------

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_a_lead_action_refused_by_the_service_says_why_next_to_its_field(
    ws, model, contact, member_client
):
    response = member_client.post(
        reverse("scoring:disqualify", args=[contact.pk]), {"reason": " "}, **HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why the lead is disqualified." in error_next_to(html, "id_reason")
    assert '<label for="id_reason">Why?</label>' in html
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "lead"


def test_a_bad_due_time_or_owner_is_named_and_nothing_is_added(ws, model, contact, member_client):
    from scoring.models import SalesTask

    url = reverse("scoring:task_create", args=[contact.pk])
    response = member_client.post(url, {"title": "Call", "due_at": "next tuesday"}, **HTMX)
    assert response.status_code == 400
    assert "Give the due time as a date and time." in response.content.decode()
    response = member_client.post(
        reverse("scoring:assign", args=[contact.pk]), {"owner": "999999"}, **HTMX
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    contact.refresh_from_db()
    assert contact.owner_id is None and not SalesTask.objects.exists()


def test_marking_one_notification_read_leaves_the_others(ws, model, contact, member, member_client):
    from scoring.models import Notification
    from scoring.services import sales_task_create

    for title in ("One", "Two"):
        sales_task_create(workspace=ws, contact=contact, title=title, assignee=member)
    first, second = Notification.objects.filter(user=member).order_by("pk")
    member_client.post(reverse("scoring:notifications_read"), {"id": [str(first.pk), "x"]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
