"""Funnel pages: list, build and save, run without saving, delete, roles and isolation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import Funnel
from tests.conftest import add_member, login_client
from workspaces.roles import Role

from .test_funnels import page, person, track

pytestmark = pytest.mark.django_db

KIND = re.compile(r'name="step-\d+-kind"')
STEPS = [{"page": "/pricing"}, {"event": "Signed Up"}]


@pytest.fixture
def viewer_client(ws):
    return login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))


@pytest.fixture
def funnel(ws, owner):
    return Funnel.objects.create(
        workspace=ws, name="Pricing to sign-up", steps=STEPS, window_days=30, created_by=owner
    )


@pytest.fixture
def visitors(ws):
    """Three pricing-page visitors yesterday; two signed up an hour later."""
    yesterday = timezone.now() - timedelta(days=1)
    people = [person(ws) for _ in range(3)]
    for contact in people:
        page(ws, contact, "https://acme.test/pricing", yesterday)
    for contact in people[:2]:
        track(ws, contact, "Signed Up", yesterday + timedelta(hours=1))
    return people


def form(name="Pricing to sign-up", rows=(("page", "/pricing"), ("event", "Signed Up")), **extra):
    """The editor's fields: the funnel's, and the step formset's (`step-<n>-<part>`)."""
    data = {"name": name, "window_days": "30", "step-TOTAL_FORMS": str(len(rows))}
    data["step-INITIAL_FORMS"] = str(len(rows))
    for n, (kind, value) in enumerate(rows):
        data.update({f"step-{n}-kind": kind, f"step-{n}-value": value, f"step-{n}-op": "eq"})
    return {**data, **extra}


def test_the_list_shows_saved_funnels_in_a_constant_number_of_queries(
    owner_client, ws, funnel, django_assert_num_queries
):
    with django_assert_num_queries(8) as first:  # session, user, membership, nav …, the funnels
        response = owner_client.get(reverse("analytics:funnels"))
    for i in range(5):
        Funnel.objects.create(workspace=ws, name=f"F{i}", steps=STEPS)
    with django_assert_num_queries(len(first.captured_queries)):
        response = owner_client.get(reverse("analytics:funnels"))
    html = response.content.decode()
    assert "Pricing to sign-up" in html and "F4" in html and "New funnel" in html


def test_a_funnel_page_draws_the_chart_and_the_table(owner_client, funnel, visitors):
    response = owner_client.get(reverse("analytics:funnel", args=[funnel.pk]) + "?days=7")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-chart="bar"' in html and "[3, 2]" in html
    assert "67%" in html and "1 h" in html  # 2 of 3; one hour from page to sign-up


def test_the_dashboard_partial_is_only_the_result(owner_client, funnel, visitors):
    url = reverse("analytics:funnel", args=[funnel.pk]) + "?partial=result&days=30"
    html = owner_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="funnel-result"') and "[3, 2]" in html
    assert "<html" not in html and "funnel-form" not in html


def test_saving_the_form_creates_the_funnel(member_client, ws):
    response = member_client.post(reverse("analytics:funnel_create"), form())
    funnel = Funnel.objects.get(workspace=ws)
    assert response.status_code == 302 and response.url == reverse(
        "analytics:funnel", args=[funnel.pk]
    )
    assert funnel.steps == STEPS and funnel.window_days == 30


def test_a_property_condition_is_saved_with_its_step(member_client, ws):
    data = form(**{"step-1-property": "plan", "step-1-operand": "pro"})
    member_client.post(reverse("analytics:funnel_create"), data)
    where = Funnel.objects.get(workspace=ws).steps[1]["where"]
    assert where == [{"property": "plan", "op": "eq", "value": "pro"}]


def test_a_bad_step_is_shown_next_to_its_row_and_nothing_is_saved(member_client, ws, funnel):
    rows = (("page", "/pricing"), ("event", "Signed Up"), ("event", " "))
    response = member_client.post(
        reverse("analytics:funnel", args=[funnel.pk]), form(name="Renamed", rows=rows)
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert response.context["formset"].forms[2].errors == {
        "value": ["must be an event name (1-200 characters)"]
    }
    assert 'data-error="step-2-value"' in html and "Step 3 · Event name or URL part" in html
    funnel.refresh_from_db()
    assert funnel.name == "Pricing to sign-up" and len(funnel.steps) == 2


def test_a_bad_condition_is_shown_on_its_part_and_nothing_is_saved(member_client, ws):
    data = form(**{"step-1-property": "plan", "step-1-op": "sounds_like"})
    response = member_client.post(reverse("analytics:funnel_create"), data)
    assert response.status_code == 400 and "op" in response.context["formset"].forms[1].errors
    assert 'data-error="step-1-op"' in response.content.decode()
    assert not Funnel.objects.exists()


def test_too_many_steps_or_too_few_are_told_above_the_rows(member_client, ws):
    rows = tuple(("event", f"E{n}") for n in range(9))
    too_many = member_client.post(reverse("analytics:funnel_create"), form(rows=rows))
    assert too_many.status_code == 400
    assert "at most 8 steps" in too_many.content.decode()
    too_few = member_client.post(reverse("analytics:funnel_create"), form(rows=rows[:1]))
    assert too_few.status_code == 400 and 'data-error="steps"' in too_few.content.decode()
    assert "2 to 8 steps" in too_few.content.decode()
    assert not Funnel.objects.exists()


def test_a_bad_window_is_next_to_its_field(viewer_client, ws):
    query = {**form(window_days="0"), "run": "1"}
    response = viewer_client.get(reverse("analytics:funnel_create"), query)
    assert response.status_code == 400
    assert response.context["form"].errors == {"window_days": ["must be from 1 to 365 days"]}


def test_a_saved_funnel_that_no_longer_parses_says_where(viewer_client, ws, owner):
    broken = Funnel.objects.create(
        workspace=ws, name="Old", steps=[{"page": "/pricing"}, {"event": " "}], created_by=owner
    )
    response = viewer_client.get(reverse("analytics:funnel", args=[broken.pk]))
    assert response.status_code == 400 and "value" in response.context["formset"].forms[1].errors


def test_run_shows_the_result_without_saving(viewer_client, ws, visitors):
    query = {**form(), "run": "1", "days": "7"}
    response = viewer_client.get(reverse("analytics:funnel_create"), query)
    assert response.status_code == 200 and "[3, 2]" in response.content.decode()
    assert not Funnel.objects.exists()


def test_run_keeps_the_csrf_token_out_of_the_address(viewer_client, ws, visitors):
    query = {**form(), "run": "1", "days": "7", "csrfmiddlewaretoken": "secret-token"}
    response = viewer_client.get(reverse("analytics:funnel_create"), query)
    assert response.status_code == 302
    assert "csrfmiddlewaretoken" not in response["Location"] and "run=1" in response["Location"]


def test_property_operators_are_in_words(viewer_client):
    html = viewer_client.get(reverse("analytics:funnel_create")).content.decode()
    assert ">does not contain</option>" in html and ">not_contains<" not in html


def test_rows_are_added_and_removed_without_saving(viewer_client):
    url = reverse("analytics:funnel_create")
    added = viewer_client.get(url, {**form(), "row_action": "add"}, HTTP_HX_REQUEST="true")
    html = added.content.decode()
    assert html.lstrip().startswith('<div id="funnel-steps"') and len(KIND.findall(html)) == 3
    removed = viewer_client.get(url, {**form(), "row_action": "remove:0"}).content.decode()
    assert len(KIND.findall(removed)) == 1 and 'value="Signed Up"' in removed
    assert 'value="/pricing"' not in removed
    assert not Funnel.objects.exists()
    unknown = viewer_client.get(url, {**form(), "row_action": "explode:1"})
    assert unknown.status_code == 400 and b"row_action" in unknown.content


def test_a_viewer_may_look_but_not_save_or_delete(viewer_client, funnel):
    url = reverse("analytics:funnel", args=[funnel.pk])
    page_html = viewer_client.get(url).content.decode()
    assert "Save funnel" not in page_html and "Delete funnel" not in page_html
    assert viewer_client.post(url, form(name="Mine now")).status_code == 403
    delete = reverse("analytics:funnel_delete", args=[funnel.pk])
    assert viewer_client.post(delete).status_code == 403
    funnel.refresh_from_db()
    assert funnel.name == "Pricing to sign-up"
    assert viewer_client.post(reverse("analytics:funnel_create"), form()).status_code == 403
    assert Funnel.objects.count() == 1


def test_delete_removes_the_funnel(member_client, funnel):
    response = member_client.post(reverse("analytics:funnel_delete", args=[funnel.pk]))
    assert response.status_code == 302 and not Funnel.objects.exists()
    assert member_client.get(reverse("analytics:funnel_delete", args=[funnel.pk])).status_code in (
        404,
        405,
    )


def test_another_workspaces_funnel_is_a_404(outsider_client, funnel, visitors):
    for name in ("analytics:funnel", "analytics:funnel_delete"):
        url = reverse(name, args=[funnel.pk])
        assert outsider_client.get(url).status_code in (404, 405)
        assert outsider_client.post(url, form(name="Stolen")).status_code == 404
    partial = reverse("analytics:funnel", args=[funnel.pk]) + "?partial=result"
    assert outsider_client.get(partial, HTTP_HX_REQUEST="true").status_code == 404
    assert (
        "Pricing to sign-up"
        not in outsider_client.get(reverse("analytics:funnels")).content.decode()
    )
    funnel.refresh_from_db()
    assert funnel.name == "Pricing to sign-up"


def test_another_workspaces_events_are_not_in_a_run(outsider_client, visitors):
    query = {**form(), "run": "1", "days": "7"}
    html = outsider_client.get(reverse("analytics:funnel_create"), query).content.decode()
    assert "[0, 0]" in html
