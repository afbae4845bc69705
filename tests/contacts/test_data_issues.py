"""The data issues page (what ingestion rejected or corrected, counted per kind and field,
with a ring of samples), and the other doors into contacts that shared the NUL hole."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import Contact, ContactImport, DataIssue, FormSubmission
from contacts.services import forms as form_services
from contacts.services.data_issues import SAMPLES, issue_field_key
from tests.contacts.test_ingest_api import post

pytestmark = pytest.mark.django_db

PAGE = "/data-issues/"


def bad_identify(i: int) -> dict:
    return {"userId": f"u-{i}", "traits": {"email": f"nope-{i}", "plan": "pro"}}


def test_issues_are_counted_per_kind_and_field_with_the_newest_samples(tenant, ws):
    for i in range(7):
        assert post("/v1/identify", bad_identify(i), tenant.write_key).status_code == 200
    batch = {"batch": [{"type": "track", "userId": "u", "event": "E\u0000"}] * 2}
    post(
        "/v1/batch",
        {"batch": batch["batch"] + [{"type": "track", "userId": "u", "event": "ok"}]},
        tenant.write_key,
    )
    post(
        "/v1/track",
        {"userId": "u", "event": "E", "timestamp": "1900-01-01T00:00:00Z"},
        tenant.write_key,
    )

    email = DataIssue.objects.get(workspace=ws, kind="invalid_trait")
    assert (email.field, email.action, email.count) == ("traits.email", "corrected", 7)
    assert len(email.samples) == SAMPLES
    assert [s["value"] for s in email.samples] == [f"nope-{i}" for i in (6, 5, 4, 3, 2)]
    nul = DataIssue.objects.get(workspace=ws, kind="nul_character")
    assert (nul.field, nul.action, nul.count) == ("event", "rejected", 2)
    assert nul.samples[0]["field"] == "batch[1].event"
    old = DataIssue.objects.get(workspace=ws, kind="timestamp_out_of_range")
    assert (old.field, old.count) == ("timestamp", 1)
    assert DataIssue.objects.filter(workspace=ws).count() == 3


def test_a_clean_request_writes_no_issue(tenant, ws):
    post("/v1/identify", {"userId": "u", "traits": {"plan": "pro"}}, tenant.write_key)
    assert not DataIssue.objects.exists()


@pytest.mark.parametrize(
    ("field", "row"),
    [
        ("batch[12].traits.email", "traits.email"),
        ("traits.address.country", "traits.address"),
        ("traits.some_custom_name", "traits.*"),
        ("batch[0].properties.a.b[3]", "properties"),
        ("context.page.url", "context"),
        ("whatever_the_client_made_up.x", "other"),
        ("body", "body"),
    ],
)
def test_rows_are_bounded_whatever_the_client_names(field, row):
    assert issue_field_key(field) == row


def test_the_page_lists_the_workspaces_issues_for_every_member(tenant, member_client):
    post("/v1/identify", bad_identify(1), tenant.write_key)
    response = member_client.get(PAGE)
    html = response.content.decode()
    assert response.status_code == 200
    assert "invalid_trait" in html and "traits.email" in html and "nope-1" in html
    assert 'href="/data-issues/"' in html  # in the sidebar


def test_the_page_filters_by_action_with_htmx(tenant, owner_client):
    post("/v1/identify", bad_identify(1), tenant.write_key)
    post("/v1/track", {"userId": "u", "event": "E\u0000"}, tenant.write_key)
    response = owner_client.get(
        PAGE + "?action=rejected", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="data-issues"
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "nul_character" in html and "invalid_trait" not in html


def test_another_workspace_sees_none_of_it_and_cannot_clear_it(
    tenant, ws, outsider_client, owner_client
):
    post("/v1/identify", bad_identify(1), tenant.write_key)
    issue = DataIssue.objects.get(workspace=ws)
    html = outsider_client.get(PAGE).content.decode()
    assert "traits.email" not in html and "No data issues" in html
    clear = reverse("contacts:data_issue_clear", args=[issue.pk])
    assert outsider_client.post(clear).status_code == 404
    assert DataIssue.objects.filter(pk=issue.pk).exists()
    assert owner_client.post(clear).status_code == 302
    assert not DataIssue.objects.filter(pk=issue.pk).exists()


def test_the_page_needs_a_login(client):
    assert client.get(PAGE).status_code == 302


def test_the_page_costs_a_fixed_number_of_queries(
    tenant, owner_client, django_assert_max_num_queries
):
    for i in range(3):
        post("/v1/track", {"userId": "u", f"k{i}": "\u0000", "event": "E"}, tenant.write_key)
        post("/v1/identify", bad_identify(i), tenant.write_key)
    with django_assert_max_num_queries(8):
        assert owner_client.get(PAGE).status_code == 200


# --- Forms and CSV import: the same NUL hole ------------------------------------------------


@pytest.fixture
def signup(ws):
    cache.clear()
    return form_services.form_create(
        workspace=ws,
        data={
            "name": "Newsletter",
            "fields": [
                {"key": "email", "label": "Email", "type": "email", "required": True},
                {"key": "company", "label": "Company", "type": "text"},
            ],
        },
    )


def test_a_hosted_form_value_with_a_nul_character_is_an_inline_error(client, ws, signup):
    url = reverse("contacts:hosted_form", args=[signup.public_id])
    response = client.post(url, {"email": "ada@acme.test", "company": "Ac\u0000me"})
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert not Contact.objects.filter(workspace=ws).exists()
    assert not FormSubmission.objects.exists()


def test_a_hosted_form_keeps_working_with_a_nul_in_the_page_url(client, ws, signup):
    url = reverse("contacts:hosted_form", args=[signup.public_id])
    data = {
        "email": "ada@acme.test",
        "page_url": "https://x.test/\u0000",
        "anonymous_id": "a\u0000",
    }
    response = client.post(url, data)
    assert response.status_code in (200, 302)
    assert FormSubmission.objects.get().page_url == "https://x.test/"


def test_a_csv_with_nul_characters_is_refused_inline(owner_client, ws):
    content = "email,name\nada@acme.test,Ada\u0000\n".encode()
    response = owner_client.post(
        reverse("contacts:imports"), {"file": SimpleUploadedFile("x.csv", content)}
    )
    assert response.status_code == 400
    assert "NUL characters" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_utf16_csv_is_refused_with_the_way_out(owner_client, ws):
    content = "email,name\nada@acme.test,Ada\n".encode("utf-16")
    response = owner_client.post(
        reverse("contacts:imports"), {"file": SimpleUploadedFile("x.csv", content)}
    )
    assert response.status_code == 400
    assert "CSV UTF-8" in response.content.decode()
