"""Every change of a contact's consent lands in the consent log exactly once, whichever way
it came in — identify traits, a CSV import, the management API, a hosted form, a merge —
and a decision that changes nothing logs nothing."""

import base64
import csv
import io
import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact
from contacts.services import forms as form_services
from contacts.services import imports as import_services
from messaging.models import ConsentLog
from messaging.models.audience import address_hash
from messaging.services import contact_unsubscribe

pytestmark = pytest.mark.django_db


def entries(ws):
    return list(
        ConsentLog.objects.filter(workspace=ws)
        .order_by("pk")
        .values_list("contact__email", "channel", "previous", "status", "source")
    )


def v1(tenant, path, body):
    auth = "Basic " + base64.b64encode(f"{tenant.write_key}:".encode()).decode()
    return Client().post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
    )


# --- Ingestion: identify traits ---------------------------------------------------------------


def test_identify_with_a_consent_trait_logs_the_new_contacts_decision(tenant, ws):
    response = v1(
        tenant,
        "/v1/identify",
        {"userId": "u-1", "traits": {"email": "Ada@Acme.test", "email_consent": "subscribed"}},
    )
    assert response.status_code == 200, response.content
    contact = Contact.objects.get(workspace=ws)
    assert (contact.email_consent, contact.email_consent_source) == ("subscribed", "api")
    log = ConsentLog.objects.get(workspace=ws)
    assert (log.contact, log.channel, log.previous, log.status, log.source) == (
        contact,
        "email",
        "unknown",
        "subscribed",
        "api",
    )
    assert log.detail == {"trait": "email_consent"}
    assert log.address_hash == address_hash("ada@acme.test")


def test_identify_of_a_known_user_logs_a_change_and_nothing_when_it_repeats_itself(tenant, ws):
    v1(tenant, "/v1/identify", {"userId": "u-1", "traits": {"phone": "+4915112345678"}})
    for n in range(2):
        response = v1(
            tenant,
            "/v1/batch",
            {"batch": [{"type": "identify", "userId": "u-1", "traits": {"sms_consent": False}}]},
        )
        assert response.status_code == 200, response.content
    assert entries(ws) == [("", "sms", "unknown", "unsubscribed", "api")]
    log = ConsentLog.objects.get(workspace=ws)
    assert log.address_hash == address_hash("+4915112345678")


def test_an_unchanged_consent_trait_costs_ingestion_no_query(tenant, ws):
    v1(tenant, "/v1/identify", {"userId": "u-1", "traits": {"email_consent": "subscribed"}})
    v1(tenant, "/v1/identify", {"userId": "u-1", "traits": {"plan": "pro"}})  # warm caches

    def queries(traits):
        with CaptureQueriesContext(connection) as captured:
            assert (
                v1(tenant, "/v1/identify", {"userId": "u-1", "traits": traits}).status_code == 200
            )
        return len(captured)

    assert queries({"plan": "pro", "email_consent": "subscribed"}) == queries({"plan": "pro"})
    assert ConsentLog.objects.filter(workspace=ws).count() == 1


def test_a_bad_consent_trait_is_left_out_naming_it_and_changes_no_consent(tenant, ws):
    # Issue #12 item 7: a trait that fails validation no longer drops the whole message.
    body = {"userId": "u-1", "traits": {"email_consent": "pending", "plan": "pro"}}
    response = v1(tenant, "/v1/identify", body)
    assert response.status_code == 200
    assert [w["field"] for w in response.json()["warnings"]] == ["traits.email_consent"]
    contact = Contact.objects.get(workspace=ws)
    assert (contact.email_consent, contact.attributes) == ("unknown", {"plan": "pro"})
    assert not ConsentLog.objects.exists()


def test_a_known_users_consent_trait_from_the_snippet_is_logged_as_the_snippets(tenant, ws):
    v1(tenant, "/v1/identify", {"userId": "u-1", "traits": {"email": "ada@acme.test"}})
    snippet = {"library": {"name": "tendril.js", "version": "1"}}
    body = {"userId": "u-1", "traits": {"email_consent": True}, "context": snippet}
    assert v1(tenant, "/v1/identify", body).status_code == 200
    contact = Contact.objects.get(workspace=ws)
    assert contact.email_consent_source == "snippet"
    assert entries(ws) == [("ada@acme.test", "email", "unknown", "subscribed", "snippet")]


@pytest.mark.parametrize("known", [True, False])
def test_a_late_call_does_not_undo_a_newer_consent_decision(tenant, ws, known):
    """Consent traits are decisions made at the call's own timestamp: a batch delivered late
    (an offline device) must not overwrite what the person decided since."""
    if known:
        v1(tenant, "/v1/identify", {"userId": "u-1", "traits": {"email": "ada@acme.test"}})
    newer = {"email_consent": "unsubscribed", **({} if known else {"email": "ada@acme.test"})}
    v1(
        tenant,
        "/v1/identify",
        {"userId": "u-1", "timestamp": "2026-11-20T10:00:00Z", "traits": newer},
    )
    late = {"userId": "u-1", "timestamp": "2026-11-19T10:00:00Z", "traits": {"email_consent": True}}
    assert v1(tenant, "/v1/identify", late).status_code == 200
    contact = Contact.objects.get(workspace=ws)
    assert contact.email_consent == "unsubscribed"
    assert contact.email_consent_at.isoformat() == "2026-11-20T10:00:00+00:00"
    assert [e[3] for e in entries(ws)] == ["unsubscribed"]


def test_a_merge_logs_the_decision_the_survivor_takes_over_and_keeps_the_visitors_log(tenant, ws):
    v1(tenant, "/v1/identify", {"userId": "u-1", "traits": {"email": "ada@acme.test"}})
    v1(tenant, "/v1/identify", {"anonymousId": "anon-1", "traits": {"email_consent": True}})
    visitor = Contact.objects.get(workspace=ws, anonymous_ids=["anon-1"])
    visitors_log = ConsentLog.objects.get(contact=visitor)

    v1(tenant, "/v1/identify", {"userId": "u-1", "anonymousId": "anon-1"})

    known = Contact.objects.get(workspace=ws)
    assert known.email_consent == "subscribed"
    assert ConsentLog.objects.get(pk=visitors_log.pk).contact == known
    merge = ConsentLog.objects.filter(contact=known).latest("pk")
    assert (merge.previous, merge.status, merge.source) == ("unknown", "subscribed", "merge")
    assert merge.detail["merged_contact"] == visitor.pk
    assert merge.detail["decision_source"] == "api"
    assert merge.address_hash == address_hash("ada@acme.test")


# --- CSV import ---------------------------------------------------------------------------------


def run_import(ws, rows, capture, mapping):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    imp = import_services.import_create(
        workspace=ws, upload=io.BytesIO(out.getvalue().encode()), filename="people.csv"
    )
    with capture(execute=True):
        import_services.import_configure(contact_import=imp, mapping=mapping, upsert_key="email")
    imp.refresh_from_db()
    assert imp.status == "completed", imp.failure
    return imp


def test_an_import_logs_consent_of_new_updated_and_resolved_contacts_but_not_unchanged_ones(
    ws, django_capture_on_commit_callbacks
):
    Contact.objects.create(workspace=ws, email="bob@acme.test", email_consent="subscribed")
    Contact.objects.create(workspace=ws, email="cy@acme.test", email_consent="subscribed")
    # dee's external id belongs to another contact: the row goes through contact_upsert.
    Contact.objects.create(workspace=ws, external_id="crm-4")
    rows = [
        ["Email", "Newsletter", "CRM id"],
        ["ada@acme.test", "yes", ""],  # new
        ["bob@acme.test", "no", ""],  # changed
        ["cy@acme.test", "yes", ""],  # unchanged
        ["dee@acme.test", "yes", "crm-4"],  # resolved one by one
    ]
    mapping = {"Email": "email", "Newsletter": "email_consent", "CRM id": "external_id"}
    run_import(ws, rows, django_capture_on_commit_callbacks, mapping)
    assert sorted(entries(ws)) == [
        ("ada@acme.test", "email", "unknown", "subscribed", "import"),
        ("bob@acme.test", "email", "subscribed", "unsubscribed", "import"),
        ("dee@acme.test", "email", "unknown", "subscribed", "import"),
    ]


# --- Management API --------------------------------------------------------------------------


def test_api_edits_log_consent_changes_and_a_repeated_edit_logs_nothing(api, ws):
    created = api.post(
        "/api/v1/contacts/", {"email": "ada@acme.test", "sms_consent": "subscribed"}, format="json"
    )
    assert created.status_code == 201, created.content
    url = f"/api/v1/contacts/{created.json()['id']}/"
    for _ in range(2):
        response = api.patch(url, {"email_consent": "unsubscribed"}, format="json")
        assert response.status_code == 200, response.content
    assert entries(ws) == [
        ("ada@acme.test", "sms", "unknown", "subscribed", "api"),
        ("ada@acme.test", "email", "unknown", "unsubscribed", "api"),
    ]


def test_another_workspaces_contact_is_a_404_and_logs_nothing(api, other_ws):
    theirs = Contact.objects.create(workspace=other_ws, email="ada@acme.test")
    response = api.patch(
        f"/api/v1/contacts/{theirs.pk}/", {"email_consent": "unsubscribed"}, format="json"
    )
    assert response.status_code == 404
    assert not ConsentLog.objects.exists()


# --- Hosted forms and messaging's own changes --------------------------------------------------


@pytest.fixture
def clean_rate_limits():
    cache.clear()
    yield
    cache.clear()


def make_form(ws, **extra):
    return form_services.form_create(
        workspace=ws,
        data={
            "name": "Newsletter",
            "fields": [{"key": "email", "label": "Email", "type": "email", "required": True}],
            "consent_enabled": True,
            "consent_text": "Email me",
            **extra,
        },
    )


@pytest.mark.usefixtures("clean_rate_limits")
@pytest.mark.parametrize("double_opt_in, status", [(False, "subscribed"), (True, "pending")])
def test_a_form_with_the_consent_box_ticked_logs_once(client, ws, double_opt_in, status):
    form = make_form(ws, double_opt_in=double_opt_in)
    url = reverse("contacts:hosted_form", args=[form.public_id])
    for _ in range(2):
        response = client.post(url, {"email": "ada@acme.test", "consent": "on"})
        assert response.status_code in (200, 302), response.content
    assert entries(ws) == [("ada@acme.test", "email", "unknown", status, f"form:{form.pk}")]


def test_an_unsubscribe_is_logged_once_with_its_detail(ws):
    contact = Contact.objects.create(
        workspace=ws, email="ada@acme.test", email_consent="subscribed"
    )
    for _ in range(2):
        contact_unsubscribe(
            workspace=ws, contact=contact, source="preferences", detail={"reason": "too many"}
        )
    log = ConsentLog.objects.get(workspace=ws)
    assert (log.previous, log.status, log.source, log.detail) == (
        "subscribed",
        "unsubscribed",
        "preferences",
        {"reason": "too many"},
    )
