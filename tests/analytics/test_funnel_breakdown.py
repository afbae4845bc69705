"""Funnel breakdowns: each step's contacts split by a value of the entering contact — a
property of their step-1 event, a contact field or custom attribute, or the UTM source —
the N largest values kept and the rest summed as "(other)". Counts worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from analytics.funnels import breakdown_parse, funnel_compute, funnel_save, funnel_table
from analytics.funnels import compute as funnels_compute
from contacts.models import AttributeDefinition, Contact
from workspaces.errors import ValidationFailed

from .test_funnels import PERIOD, T0, person, track

pytestmark = pytest.mark.django_db

STEPS = [{"event": "Viewed Plan"}, {"event": "Signed Up"}]


def rows(ws, breakdown, steps=STEPS):
    result = funnel_compute(
        workspace=ws, steps=steps, window_days=30, breakdown=breakdown, **PERIOD
    )
    return {row.value: row.counts for row in result.rows}, result


@pytest.fixture
def plans(ws):
    """Who viewed which plan first (step 1) and who signed up after (step 2):
    pro 3 (2 signed up), free 2 (1), enterprise 1 (1), no plan 1 (0)."""
    journeys = [
        ("pro", True),
        ("pro", True),
        ("pro", False),
        ("free", True),
        ("free", False),
        ("enterprise", True),
        (None, False),
    ]
    people = []
    for plan, signs_up in journeys:
        contact = person(ws)
        track(ws, contact, "Viewed Plan", T0, {"plan": plan} if plan else {"other": 1})
        # a later view of another plan does not move the contact: step 1 is the first event
        track(ws, contact, "Viewed Plan", T0 + timedelta(minutes=5), {"plan": "free"})
        if signs_up:
            track(ws, contact, "Signed Up", T0 + timedelta(hours=1))
        people.append(contact)
    return people


def test_a_property_of_the_first_step_splits_every_step(ws, plans):
    by_value, result = rows(ws, {"property": "plan", "top": 20})
    assert by_value == {"pro": [3, 2], "free": [2, 1], "enterprise": [1, 1], "(none)": [1, 0]}
    assert [row.contacts for row in result.steps] == [7, 4]
    assert [row.value for row in result.rows][:2] == ["pro", "free"]
    pro = result.rows[0]
    assert pro.shares == [1.0, pytest.approx(2 / 3)] and pro.converted == pytest.approx(2 / 3)


def test_only_the_top_values_are_kept_and_the_rest_is_other(ws, plans):
    by_value, result = rows(ws, {"property": "plan", "top": 2})
    assert by_value == {"pro": [3, 2], "free": [2, 1], "(other)": [2, 1]}
    assert result.rows[-1].value == "(other)"
    assert sum(counts[0] for counts in by_value.values()) == result.entered


def test_a_nested_property_is_reached_with_dots(ws):
    for currency in ("EUR", "EUR", "USD"):
        track(ws, person(ws), "Viewed Plan", T0, {"cart": {"currency": currency}})
    by_value, _ = rows(ws, {"property": "cart.currency"})
    assert by_value == {"EUR": [2, 0], "USD": [1, 0]}


def test_a_contact_field_splits_the_funnel(ws, plans):
    for contact, country in zip(plans, ["DE", "DE", "FR", "FR", "FR", "", "DE"], strict=True):
        Contact.objects.filter(pk=contact.pk).update(country=country)
    by_value, result = rows(ws, {"field": "country"})
    # DE: pro✓ pro✓ none✗ → [3, 2]; FR: pro✗ free✓ free✗ → [3, 1]; none: enterprise✓
    assert by_value == {"DE": [3, 2], "FR": [3, 1], "(none)": [1, 1]}
    assert result.breakdown.label == "Country"


def test_a_custom_attribute_splits_the_funnel(ws, plans):
    AttributeDefinition.objects.create(workspace=ws, key="tier", type="string")
    for contact, tier in zip(
        plans, ["gold", "gold", "gold", None, None, "gold", None], strict=True
    ):
        Contact.objects.filter(pk=contact.pk).update(attributes={"tier": tier} if tier else {})
    by_value, _ = rows(ws, {"field": "tier"})
    assert by_value == {"gold": [4, 3], "(none)": [3, 1]}


def test_another_workspaces_contact_row_never_lends_its_field(ws, other_ws):
    mine = person(ws)
    Contact.objects.filter(pk=mine.pk).update(country="DE")
    track(ws, mine, "Viewed Plan", T0)
    # an event of the other workspace filed against our contact id does not enter our funnel
    track(other_ws, mine, "Viewed Plan", T0)
    by_value, _ = rows(ws, {"field": "country"})
    assert by_value == {"DE": [1, 0]}
    by_value, _ = rows(other_ws, {"field": "country"})
    assert by_value == {"(none)": [1, 0]}  # the contact row is not the other workspace's


def test_the_utm_medium_can_be_chosen(ws):
    for medium in ("email", "email", "cpc"):
        contact = person(ws)

        track(ws, contact, "Viewed Plan", T0, context={"campaign": {"medium": medium}})
    by_value, result = rows(ws, {"utm": "medium"})
    assert by_value == {"email": [2, 0], "cpc": [1, 0]}
    assert result.breakdown.label == "UTM medium of step 1"


def test_the_table_gives_every_step_overall_then_per_value(ws, plans):
    _, result = rows(ws, {"property": "plan", "top": 1})
    table = funnel_table(result)
    assert [row[1:5] for row in table] == [
        ["(all)", 1, "Viewed Plan", 7],
        ["(all)", 2, "Signed Up", 4],
        ["pro", 1, "Viewed Plan", 3],
        ["pro", 2, "Signed Up", 2],
        ["(other)", 1, "Viewed Plan", 4],
        ["(other)", 2, "Signed Up", 2],
    ]


@pytest.mark.parametrize(
    ("breakdown", "path", "words"),
    [
        ("plan", "breakdown", "must look like"),
        ({"property": "plan", "field": "country"}, "breakdown", "exactly one"),
        ({"property": " "}, "breakdown.property", "name"),
        ({"property": "plan", "top": 21}, "breakdown.top", "1 to 20"),
        ({"property": "plan", "top": 0}, "breakdown.top", "1 to 20"),
        ({"field": "shoe_size"}, "breakdown.field", "unknown field 'shoe_size'"),
        ({"field": "created_at"}, "breakdown.field", "a date"),
        ({"utm": "keyword"}, "breakdown.utm", "source, medium, campaign"),
        ({"property": "plan", "colour": "red"}, "breakdown.colour", "unknown key"),
    ],
)
def test_bad_breakdowns_are_rejected_naming_the_part(ws, breakdown, path, words):
    with pytest.raises(ValidationFailed) as caught:
        breakdown_parse(workspace=ws, breakdown=breakdown)
    assert path in caught.value.fields, caught.value.fields
    assert words in caught.value.fields[path]


def test_a_saved_funnel_keeps_its_breakdown_and_the_default_is_stored_as_nothing(ws, owner):
    data = {"name": "Plans", "steps": STEPS, "breakdown": {"property": " plan ", "top": 5}}
    funnel = funnel_save(workspace=ws, user=owner, data=data, instance=None)
    funnel.refresh_from_db()
    assert funnel.breakdown == {"property": "plan", "top": 5}
    funnel = funnel_save(workspace=ws, user=owner, data={**data, "breakdown": {}}, instance=funnel)
    funnel.refresh_from_db()
    assert funnel.breakdown == {}


def test_a_funnel_too_slow_to_count_is_stopped_with_a_clear_message(ws, monkeypatch):
    contact = person(ws)
    with connection.cursor() as cursor:  # 200,000 step-1 events: far more than 1 ms of work
        cursor.execute(
            "INSERT INTO contacts_event (workspace_id, contact_id, type, name, properties, "
            "context, timestamp, received_at, message_id, source) "
            "SELECT %s, %s, 'track', 'Viewed Plan', '{}', '{}', %s, now(), 'slow-' || n, 'api' "
            "FROM generate_series(1, 200000) n",
            [ws.pk, contact.pk, T0],
        )
    monkeypatch.setattr(funnels_compute, "QUERY_TIMEOUT_MS", 1)
    with pytest.raises(funnels_compute.FunnelTooSlow) as caught:
        rows(ws, {"property": "plan"})
    assert "longer than" in caught.value.message
    assert caught.value.status == 503
    monkeypatch.setattr(funnels_compute, "QUERY_TIMEOUT_MS", 60_000)
    by_value, _ = rows(ws, {"property": "plan"})  # the connection is fine afterwards
    assert by_value == {"(none)": [1, 0]}
