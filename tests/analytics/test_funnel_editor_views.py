"""The funnel editor's exclusion rows, its breakdown and the CSV export: saved, run, told
next to the part at fault, and kept to the workspace."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import Funnel
from tests.conftest import add_member, login_client
from workspaces.roles import Role

from .test_funnels import page, person, track
from .test_funnels_views import form

pytestmark = pytest.mark.django_db

EXCLUSION_KIND = re.compile(r'name="exclusion-\d+-kind"')
CREATE = reverse("analytics:funnel_create")


def exclusion_rows(*rows):
    """The exclusion formset's fields: (kind, value, from_step, to_step) per row."""
    data = {"exclusion-TOTAL_FORMS": str(len(rows)), "exclusion-INITIAL_FORMS": "0"}
    for n, (kind, value, start, stop) in enumerate(rows):
        data.update(
            {
                f"exclusion-{n}-kind": kind,
                f"exclusion-{n}-value": value,
                f"exclusion-{n}-op": "eq",
                f"exclusion-{n}-from_step": str(start),
                f"exclusion-{n}-to_step": str(stop),
            }
        )
    return data


@pytest.fixture
def viewer_client(ws):
    return login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))


@pytest.fixture
def journeys(ws):
    return journeys_make(ws)


def journeys_make(ws):
    """Yesterday, four pricing visitors: pro ×2 (one signed up), free ×1 (signed up), one
    who booked a demo before signing up (plan pro)."""
    yesterday = timezone.now() - timedelta(days=1)
    people = []
    for plan, signs_up, demo in (
        ("pro", True, False),
        ("pro", False, False),
        ("free", True, False),
        ("pro", True, True),
    ):
        contact = person(ws)
        page(ws, contact, "https://acme.test/pricing", yesterday)
        track(ws, contact, "Plan Viewed", yesterday + timedelta(minutes=1), {"plan": plan})
        if demo:
            track(ws, contact, "Demo Booked", yesterday + timedelta(minutes=30))
        if signs_up:
            track(ws, contact, "Signed Up", yesterday + timedelta(hours=1))
        people.append(contact)
    return people


def funnel_form(**extra):
    rows = (("event", "Plan Viewed"), ("event", "Signed Up"))
    return {**form(name="Plans", rows=rows), **extra}


def test_an_exclusion_and_a_breakdown_are_run_without_saving(viewer_client, ws, journeys):
    query = {
        **funnel_form(breakdown_kind="property", breakdown_name="plan", breakdown_top="5"),
        **exclusion_rows(("event", "Demo Booked", 1, 2)),
        "run": "1",
        "days": "7",
    }
    response = viewer_client.get(CREATE, query)
    html = response.content.decode()
    assert response.status_code == 200, response.context["exclusions"].errors
    assert "[3, 2]" in html  # four entered, the demo booker left out; two signed up
    assert 'id="funnel-excluded"' in html and "<strong>1</strong> contact left out" in html
    result = response.context["result"]
    assert {row.value: row.counts for row in result.rows} == {"pro": [2, 1], "free": [1, 1]}
    assert 'id="funnel-breakdown"' in html and "plan (property of step 1)" in html
    assert not Funnel.objects.exists()


def test_exclusion_rows_are_added_and_removed_in_place(viewer_client):
    added = viewer_client.get(
        CREATE, {**funnel_form(), "exclusion_action": "add"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert added.lstrip().startswith('<div id="funnel-exclusions"')
    assert len(EXCLUSION_KIND.findall(added)) == 1 and "funnel-steps" not in added
    two = {**funnel_form(), **exclusion_rows(("event", "A", 1, 2), ("page", "/jobs", 1, 2))}
    removed = viewer_client.get(CREATE, {**two, "exclusion_action": "remove:0"}).content.decode()
    assert len(EXCLUSION_KIND.findall(removed)) == 1 and 'value="/jobs"' in removed
    assert 'value="A"' not in removed
    bad = viewer_client.get(CREATE, {**two, "exclusion_action": "explode:0"})
    assert bad.status_code == 400 and b"exclusion_action" in bad.content
    assert not Funnel.objects.exists()


def test_the_exclusion_and_breakdown_are_saved_and_shown_again(member_client, ws):
    data = {
        **funnel_form(breakdown_kind="field", breakdown_name="country", breakdown_top="12"),
        **exclusion_rows(("event", "Demo Booked", 1, "")),
    }
    response = member_client.post(CREATE, data)
    assert response.status_code == 302
    funnel = Funnel.objects.get(workspace=ws)
    assert funnel.exclusions == [{"event": "Demo Booked", "from_step": 1, "to_step": 2}]
    assert funnel.breakdown == {"field": "country", "top": 12}
    html = member_client.get(response.url).content.decode()
    assert 'name="exclusion-0-value"' in html and 'value="Demo Booked"' in html
    assert 'value="country"' in html and '<option value="field" selected>' in html


def test_a_bad_exclusion_is_told_on_its_row_naming_the_step(member_client, ws):
    data = {**funnel_form(), **exclusion_rows(("event", "Demo Booked", 2, 5))}
    response = member_client.post(CREATE, data)
    html = response.content.decode()
    assert response.status_code == 400
    errors = response.context["exclusions"].forms[0].errors
    assert "from_step" in errors and "1 to 1" in errors["from_step"][0]
    assert 'data-error="exclusion-0-from_step"' in html and "Exclusion 1 · After step" in html
    assert not Funnel.objects.exists()


def test_a_bad_breakdown_is_told_next_to_its_field(member_client, ws):
    data = funnel_form(breakdown_kind="field", breakdown_name="shoe_size")
    response = member_client.post(CREATE, data)
    assert response.status_code == 400
    assert "unknown field 'shoe_size'" in response.context["form"].errors["breakdown_name"][0]
    too_many = member_client.post(CREATE, funnel_form(breakdown_top="21"))
    assert too_many.status_code == 400 and "breakdown_top" in too_many.context["form"].errors
    assert not Funnel.objects.exists()


def test_the_csv_gives_every_step_overall_and_per_value(member_client, ws, owner, journeys):
    funnel = Funnel.objects.create(
        workspace=ws,
        name="Plans",
        steps=[{"event": "Plan Viewed"}, {"event": "Signed Up"}],
        exclusions=[{"event": "Demo Booked", "from_step": 1, "to_step": 2}],
        breakdown={"property": "plan", "top": 1},
        created_by=owner,
    )
    page_html = member_client.get(reverse("analytics:funnel", args=[funnel.pk])).content.decode()
    assert 'id="funnel-export"' in page_html
    response = member_client.get(reverse("analytics:funnel_export", args=[funnel.pk]), {"days": 7})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["breakdown", "value", "step", "step_label", "contacts"]
    assert [row[1:5] for row in rows[1:]] == [
        ["(all)", "1", "Plan Viewed", "3"],
        ["(all)", "2", "Signed Up", "2"],
        ["pro", "1", "Plan Viewed", "2"],
        ["pro", "2", "Signed Up", "1"],
        ["(other)", "1", "Plan Viewed", "1"],
        ["(other)", "2", "Signed Up", "1"],
    ]


def test_another_workspaces_funnel_cannot_be_exported(outsider_client, ws, owner, journeys):
    funnel = Funnel.objects.create(
        workspace=ws, name="Plans", steps=[{"event": "Plan Viewed"}, {"event": "Signed Up"}]
    )
    url = reverse("analytics:funnel_export", args=[funnel.pk])
    assert outsider_client.get(url).status_code == 404


def test_an_anonymous_visitor_cannot_export(client, ws):
    funnel = Funnel.objects.create(workspace=ws, name="x", steps=[{"event": "A"}, {"event": "B"}])
    response = client.get(reverse("analytics:funnel_export", args=[funnel.pk]))
    assert response.status_code == 302 and "/login/" in response.url


def test_another_workspaces_funnel_rows_and_run_are_a_404(outsider_client, ws):
    funnel = Funnel.objects.create(
        workspace=ws,
        name="Plans",
        steps=[{"event": "Plan Viewed"}, {"event": "Signed Up"}],
        exclusions=[{"event": "Demo Booked", "from_step": 1, "to_step": 2}],
    )
    url = reverse("analytics:funnel", args=[funnel.pk])
    for query in (
        {**funnel_form(), "exclusion_action": "add"},
        {**funnel_form(breakdown_kind="property", breakdown_name="plan"), "run": "1"},
    ):
        assert outsider_client.get(url, query, HTTP_HX_REQUEST="true").status_code == 404
