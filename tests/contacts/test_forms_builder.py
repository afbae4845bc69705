"""The hosted-form builder's field rows: add, remove and move them (htmx, nothing saved),
and validation that names the wrong row — every problem at once, nothing saved, the rows
kept as typed."""

import re

import pytest
from django.urls import reverse

from contacts.models import Form
from contacts.services import forms as form_services
from tests.conftest import add_member, login_client
from workspaces.errors import ValidationFailed
from workspaces.roles import Role

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def rows_post(rows, name="Webinar", **extra):
    """The builder's POST: its settings and `rows` as (key, label, type, required, options)."""
    data = {
        "name": name,
        "submit_label": "Register",
        "success_message": "See you there",
        "consent_enabled": "on",
        "consent_text": "Email me",
        "is_active": "on",
        "fields-TOTAL_FORMS": str(len(rows)),
        "fields-INITIAL_FORMS": "0",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "30",
    }
    for n, (key, label, kind, required, options) in enumerate(rows):
        data |= {f"fields-{n}-key": key, f"fields-{n}-label": label, f"fields-{n}-type": kind}
        data[f"fields-{n}-options"] = options
        if required:
            data[f"fields-{n}-required"] = "on"
    return data | extra


EMAIL = ("email", "Work email", "email", True, "")
COMPANY = ("company", "Company", "text", False, "")
PLAN = ("plan", "Plan", "select", True, "Free, Pro")


def row_html(html, n):
    """The markup of row n (0-based) of the builder."""
    parts = re.split(r'<div class="fb-row" data-row="', html)
    chunk = next(p for p in parts[1:] if p.startswith(f'{n}"'))
    return chunk.split('<div class="fb-foot">')[0]


def value_of(html, name):
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    if match is None:
        match = re.search(rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html)
    return match.group(1) if match else None


def row_keys(html):
    keys, n = [], 0
    while f'name="fields-{n}-key"' in html:
        keys.append(value_of(html, f"fields-{n}-key") or "")
        n += 1
    return keys


@pytest.fixture
def signup(ws):
    return form_services.form_create(
        workspace=ws,
        data={
            "name": "Newsletter",
            "fields": [{"key": "email", "label": "Work email", "type": "email", "required": True}],
        },
    )


# --- Row buttons ---------------------------------------------------------------------------------


def test_add_field_appends_an_empty_row_and_keeps_what_was_typed(member_client, ws):
    typed = rows_post([EMAIL, ("plan", "Your plan", "select", True, "Free, Pro")], name="")
    response = member_client.post(
        reverse("contacts:form_create"), {**typed, "row_action": "add"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert row_keys(html) == ["email", "plan", ""]
    assert value_of(html, "fields-TOTAL_FORMS") == "3"
    assert value_of(html, "fields-1-label") == "Your plan"
    assert value_of(html, "fields-1-options") == "Free, Pro"
    assert 'name="fields-1-required" id="id_fields-1-required" checked' in html
    assert "autofocus" in row_html(html, 2)  # typing goes straight into the new row
    assert "<html" not in html  # just the rows: htmx swaps them in
    assert "has-error" not in html  # a half-filled row is not judged before Save
    assert not Form.objects.exists()


def test_remove_drops_that_row_and_renumbers_the_rest(member_client):
    typed = rows_post([EMAIL, COMPANY, PLAN])
    response = member_client.post(
        reverse("contacts:form_create"), {**typed, "row_action": "remove:1"}, **HTMX
    )
    html = response.content.decode()
    assert row_keys(html) == ["email", "plan"]
    assert value_of(html, "fields-1-label") == "Plan"
    assert value_of(html, "fields-TOTAL_FORMS") == "2"
    assert not Form.objects.exists()


def test_moving_a_row_swaps_it_with_its_neighbour(member_client):
    url = reverse("contacts:form_create")
    typed = rows_post([EMAIL, COMPANY, PLAN])
    up = member_client.post(url, {**typed, "row_action": "up:2"}, **HTMX).content.decode()
    assert row_keys(up) == ["email", "plan", "company"]
    assert value_of(up, "fields-2-label") == "Company"
    down = member_client.post(url, {**typed, "row_action": "down:0"}, **HTMX).content.decode()
    assert row_keys(down) == ["company", "email", "plan"]
    # The first row cannot go up nor the last down: nothing moves.
    edge = member_client.post(url, {**typed, "row_action": "up:0"}, **HTMX).content.decode()
    assert row_keys(edge) == ["email", "company", "plan"]
    assert re.search(r'value="up:0"[^>]*disabled', edge)
    assert re.search(r'value="down:2"[^>]*disabled', edge)


def test_a_row_action_naming_no_row_is_refused(member_client):
    url = reverse("contacts:form_create")
    typed = rows_post([EMAIL])
    for action in ("remove:5", "up:x", "explode", "add:1"):
        response = member_client.post(url, {**typed, "row_action": action}, **HTMX)
        assert response.status_code == 400
        assert "row_action" in response.content.decode()
    assert not Form.objects.exists()


def test_add_field_stops_at_the_limit(member_client):
    typed = rows_post([EMAIL] + [(f"a{i}", f"A{i}", "text", False, "") for i in range(29)])
    response = member_client.post(
        reverse("contacts:form_create"), {**typed, "row_action": "add"}, **HTMX
    )
    html = response.content.decode()
    assert len(row_keys(html)) == form_services.MAX_FIELDS
    assert re.search(r'id="add-field"[^>]*disabled', html)


def test_row_buttons_on_an_existing_form_save_nothing(member_client, signup):
    typed = rows_post([EMAIL, COMPANY], name="Renamed")
    response = member_client.post(
        reverse("contacts:form_edit", args=[signup.pk]), {**typed, "row_action": "remove:0"}, **HTMX
    )
    assert response.status_code == 200 and row_keys(response.content.decode()) == ["company"]
    signup.refresh_from_db()
    assert signup.name == "Newsletter" and [f["key"] for f in signup.fields] == ["email"]


def test_row_buttons_404_for_the_outsider_and_are_refused_to_viewers(outsider_client, ws, signup):
    url = reverse("contacts:form_edit", args=[signup.pk])
    data = {**rows_post([EMAIL]), "row_action": "add"}
    response = outsider_client.post(url, data, **HTMX)
    assert response.status_code == 404
    assert "Work email" not in response.content.decode()
    viewer = login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))
    assert viewer.post(url, data, **HTMX).status_code == 403


# --- Saving: validation on the row that is wrong -------------------------------------------------


def test_saving_keeps_the_rows_order_and_skips_untouched_blank_rows(member_client, ws):
    blank = ("", "", "text", False, "")
    response = member_client.post(
        reverse("contacts:form_create"), rows_post([PLAN, blank, EMAIL, COMPANY])
    )
    assert response.status_code == 302
    form = Form.objects.get(workspace=ws)
    assert [f["key"] for f in form.fields] == ["plan", "email", "company"]
    assert form.fields[0]["options"] == ["Free", "Pro"]


def test_two_rows_mapped_to_one_attribute_and_a_missing_label_are_named_on_their_rows(
    member_client, ws
):
    plan_again = ("plan", "Plan again", "text", False, "")
    unlabelled_company = ("company", "", "text", False, "")
    typed = rows_post([EMAIL, PLAN, plan_again, unlabelled_company])
    response = member_client.post(reverse("contacts:form_create"), typed)
    html = response.content.decode()
    assert response.status_code == 400
    assert "data-error" not in row_html(html, 0) + row_html(html, 1)
    duplicate = row_html(html, 2)
    assert 'data-error="key"' in duplicate and "already mapped by “Plan”" in duplicate
    unlabelled = row_html(html, 3)
    assert 'data-error="label"' in unlabelled and "give the field a label" in unlabelled.lower()
    assert 'data-error="key"' not in unlabelled
    # Kept as typed, in the same order.
    assert row_keys(html) == ["email", "plan", "plan", "company"]
    assert value_of(html, "fields-2-label") == "Plan again"
    assert value_of(html, "fields-1-options") == "Free, Pro"
    assert not Form.objects.filter(workspace=ws).exists()


def test_a_row_with_a_label_but_no_mapping_is_named_not_dropped(member_client, ws):
    response = member_client.post(
        reverse("contacts:form_create"),
        rows_post([EMAIL, ("", "Favourite colour", "text", False, "")]),
    )
    assert response.status_code == 400
    row = row_html(response.content.decode(), 1)
    assert 'data-error="key"' in row and "choose the contact field or attribute" in row.lower()
    assert not Form.objects.filter(workspace=ws).exists()


def test_a_settings_error_and_row_errors_show_together(member_client, ws):
    response = member_client.post(
        reverse("contacts:form_create"),
        rows_post([EMAIL, ("plan", "Plan", "select", False, "")], name=""),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required" in html  # the name
    assert 'data-error="options"' in row_html(html, 1)
    assert not Form.objects.filter(workspace=ws).exists()


def test_a_form_level_problem_is_shown_above_the_rows(member_client, ws):
    response = member_client.post(reverse("contacts:form_create"), rows_post([COMPANY]))
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="fields-error"' in html and "needs an email (or phone) field" in html
    assert not Form.objects.filter(workspace=ws).exists()


def test_a_rejected_edit_changes_nothing_and_keeps_the_saved_name_in_the_title(
    member_client, signup
):
    response = member_client.post(
        reverse("contacts:form_edit", args=[signup.pk]),
        rows_post([EMAIL, ("email", "Email again", "email", False, "")], name="Renamed"),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "already mapped by “Work email”" in row_html(html, 1)
    assert "<title>Edit Newsletter" in html
    assert value_of(html, "name") == "Renamed"  # what they typed stays in the input
    signup.refresh_from_db()
    assert signup.name == "Newsletter" and len(signup.fields) == 1


# --- The service ---------------------------------------------------------------------------------


def test_the_service_reports_every_rows_problem_at_once(ws):
    fields = [
        {"key": "email", "label": "Email", "type": "email", "required": True},
        {"key": "plan", "label": "Plan", "type": "text"},
        {"key": "plan", "label": "", "type": "text"},
        {"key": "score", "label": "Score", "type": "rainbow"},
    ]
    with pytest.raises(ValidationFailed) as raised:
        form_services.form_create(workspace=ws, data={"name": "F", "fields": fields})
    assert set(raised.value.fields) == {
        "fields.2.key",
        "fields.2.label",
        "fields.3.key",
        "fields.3.type",
    }
    assert not Form.objects.exists()
