"""Idempotency-Key on the management API's POSTs (Stripe's semantics)."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.models import Contact
from tests.support import threads
from tests.support.worker import wait_for
from workspaces.models import IdempotencyKey

URL = "/api/v1/contacts/"


def post(api: APIClient, body: dict, key: str | None = "key-1"):  # type: ignore[no-untyped-def]
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(URL, body, format="json", **headers)


def test_the_same_key_and_body_replays_the_first_answer(api, ws):
    first = post(api, {"email": "ada@acme.test"})
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first

    again = post(api, {"email": "ada@acme.test"})

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Contact.objects.filter(workspace=ws).count() == 1


def test_a_stored_error_is_replayed_too_and_changed_nothing(api, ws):
    first = post(api, {"email": "not an email"})
    assert first.status_code == 400
    again = post(api, {"email": "not an email"})
    assert again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.json()["error"]["code"] == "validation_error"
    assert not Contact.objects.filter(workspace=ws).exists()


def test_the_same_key_with_another_body_is_a_422(api, ws):
    assert post(api, {"email": "ada@acme.test"}).status_code == 201

    other = post(api, {"email": "bob@acme.test"})

    assert other.status_code == 422
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["fields"]
    assert not Contact.objects.filter(workspace=ws, email="bob@acme.test").exists()


def test_the_same_key_on_another_path_is_a_422(api):
    assert post(api, {"email": "ada@acme.test"}).status_code == 201
    other = api.post(
        "/api/v1/attributes/",
        {"name": "plan", "type": "string"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    assert other.status_code == 422


def test_without_a_key_nothing_is_stored(api, ws):
    assert post(api, {"email": "ada@acme.test"}, key=None).status_code == 201
    assert post(api, {"email": "bob@acme.test"}, key=None).status_code == 201
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "bad\x7fkey"])
def test_a_malformed_key_is_a_400_naming_the_header(api, ws, key):
    response = post(api, {"email": "ada@acme.test"}, key=key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Contact.objects.filter(workspace=ws).exists()


def test_another_workspace_using_the_same_key_is_independent(api, outsider_api, ws, other_ws):
    assert post(api, {"email": "ada@acme.test"}).status_code == 201

    theirs = post(outsider_api, {"email": "zed@globex.test"})

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert Contact.objects.filter(workspace=other_ws, email="zed@globex.test").exists()
    assert list(Contact.objects.filter(workspace=ws).values_list("email", flat=True)) == [
        "ada@acme.test"
    ]


def test_a_key_is_new_again_after_24_hours(api, ws):
    assert post(api, {"email": "ada@acme.test"}).status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    later = post(api, {"email": "bob@acme.test"})

    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later
    assert IdempotencyKey.objects.get().fingerprint != ""
    assert Contact.objects.filter(workspace=ws).count() == 2


def test_beat_deletes_expired_keys_only(api):
    from workspaces.tasks import idempotency_keys_expire

    post(api, {"email": "ada@acme.test"}, key="old")
    post(api, {"email": "bob@acme.test"}, key="new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_keys_expire.delay().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_get_requests_ignore_the_header(api):
    response = api.get(URL, HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 200


def test_ingestion_is_not_affected(tenant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}")
    body = {"userId": "u1", "event": "Signed Up", "messageId": "m1"}
    for _ in range(2):
        response = client.post("/v1/track", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response
    assert not IdempotencyKey.objects.exists()


def test_a_server_error_releases_the_key_so_a_retry_runs(api, ws, monkeypatch):
    from contacts.api import views as contact_views

    calls = {"n": 0}
    original = contact_views.ContactViewSet.create

    def flaky(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database fell over")
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(contact_views.ContactViewSet, "create", flaky)
    api.raise_request_exception = False
    assert post(api, {"email": "ada@acme.test"}).status_code == 500
    assert not IdempotencyKey.objects.exists()

    retried = post(api, {"email": "ada@acme.test"})
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


@pytest.mark.django_db(transaction=True)
def test_the_same_key_while_the_first_is_in_flight_is_a_409(tenant):
    """The first request is held inside its view by a row lock the test owns (its contact
    insert waits on the test's uncommitted insert of the same email)."""
    ws = tenant.workspace
    blocker = psycopg.connect(**_conninfo(), autocommit=False)
    blocker.execute(
        "INSERT INTO contacts_contact (workspace_id, email, phone, first_name, last_name,"
        " company, job_title, country, city, timezone, lifecycle_stage, tags, attributes,"
        " email_consent, email_consent_source, sms_consent, sms_consent_source, external_id,"
        " anonymous_ids, score, created_at, updated_at)"
        " VALUES (%s, 'ada@acme.test', '', '', '', '', '', '', '', '', 'subscriber', '{}',"
        " '{}', 'unknown', '', 'unknown', '', '', '{}', 0, now(), now())",
        [ws.pk],
    )
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}")
        results["first"] = post(client, {"email": "ada@acme.test"}).status_code

    thread = threads.start(first, errors)
    try:
        wait_for(lambda: _backends_waiting_on_a_lock() > 0, message="first request blocked")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}")
        second = post(client, {"email": "ada@acme.test"})
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "idempotency_key_in_flight"
    finally:
        blocker.rollback()
        blocker.close()
        thread.join(timeout=60)
    assert not errors
    assert results["first"] == 201
    replay = post(client, {"email": "ada@acme.test"})
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"


def _conninfo() -> dict:
    params = connection.get_connection_params()
    return {k: params[k] for k in ("dbname", "user", "host", "port", "password") if params.get(k)}


def _backends_waiting_on_a_lock() -> int:
    with psycopg.connect(**_conninfo(), autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0
