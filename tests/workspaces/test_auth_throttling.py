"""Authentication and throttling from the outside: links in emails, login lockout, rate limits
on every interface, the client address behind proxies, key revocation, CORS."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from contacts.models import Event
from workspaces import throttling
from workspaces.models import ApiKey

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def track(client: Client, key: str, **headers) -> object:
    body = {"type": "track", "event": "Clicked", "userId": "u1"}
    return client.post(
        "/v1/track",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(key),
        **headers,
    )


def login(client: Client, email: str, password: str, **headers) -> object:
    return client.post("/login/", {"username": email, "password": password}, **headers)


# --- Links in emails ----------------------------------------------------------------------


def test_a_reset_requested_with_a_forged_host_emails_a_site_url_link(client, owner, settings):
    settings.SITE_URL = "https://app.tendril.test"
    response = client.post("/password-reset/", {"email": owner.email}, HTTP_HOST="evil.test")
    assert response.status_code == 302
    (message,) = mail.outbox
    assert "https://app.tendril.test/password-reset/" in message.body
    assert "evil.test" not in message.body


def test_an_invitation_sent_from_a_forged_host_links_to_site_url(
    owner_client, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://app.tendril.test"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            "/settings/members/",
            {"email": "new@acme.test", "role": "marketer"},
            HTTP_HOST="evil.test",
        )
    (message,) = mail.outbox
    assert "https://app.tendril.test/invitations/" in message.body
    assert "evil.test" not in message.body


# --- Login: lockout per email + address, and per address --------------------------------------


def test_failed_logins_lock_that_email_from_that_address_only(client, owner, member, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert login(client, owner.email, "wrong").status_code == 200
    assert login(client, owner.email, "wrong").status_code == 429  # the third locks
    locked = login(client, owner.email.upper(), PASSWORD)  # right password, other spelling
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    html = locked.content.decode()
    assert "Too many failed sign-ins for this email" in html
    assert f'value="{owner.email.upper()}"' in html  # the email as typed, no error under it
    assert 'class="error"' not in html
    assert "_auth_user_id" not in client.session
    # The same person from another address, and another person from this one, still get in.
    assert login(Client(), owner.email, PASSWORD, REMOTE_ADDR="10.1.2.3").status_code == 302
    assert login(Client(), member.email, PASSWORD).status_code == 302


def test_one_address_failing_many_emails_is_refused_even_a_right_password(client, owner, settings):
    settings.AUTH_FAILURE_RATE_LIMIT = "3 per minute"
    for i in range(3):
        login(client, f"nobody{i}@acme.test", "wrong")
    refused = login(Client(), owner.email, PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins from your network" in refused.content.decode()
    assert login(Client(), owner.email, PASSWORD, REMOTE_ADDR="10.1.2.3").status_code == 302


def test_the_lockout_follows_the_client_behind_a_trusted_proxy(owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(2):  # the client forges a first hop; the proxy appended the real one
        login(Client(), owner.email, "wrong", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7", **proxy)
    blocked = login(Client(), owner.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert blocked.status_code == 429
    other = login(Client(), owner.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy)
    assert other.status_code == 302


# --- The client address ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.1"),  # no proxy declared: the header is the client's own words
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # one proxy appended the client
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (1, "", "10.0.0.1"),  # the proxy was bypassed
    ],
)
def test_the_client_address_trusts_only_the_declared_proxies(
    count, forwarded, expected, settings, rf
):
    from workspaces.client_ip import client_ip

    settings.TRUSTED_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_ingestion_does_not_take_a_forged_forwarded_for_as_the_ip(tenant, client):
    response = track(client, tenant.write_key, HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert response.status_code == 200
    event = Event.objects.get(workspace=tenant.workspace)
    assert event.context["ip"] == "127.0.0.1"


# --- Rate limits: management API ----------------------------------------------------------------


def _until_429(send, attempts: int = 200):
    for _ in range(attempts):
        response = send()
        if response.status_code == 429:
            return response
        assert response.status_code == 200, response.content
    raise AssertionError(f"no 429 in {attempts} requests")


def test_the_api_limits_each_secret_key_to_its_workspace_rate(api, outsider_api, ws):
    ws.api_rate_limit = 2
    ws.save()
    throttled = _until_429(lambda: api.get("/api/v1/contacts/"))
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) >= 1
    assert outsider_api.get("/api/v1/contacts/").status_code == 200  # another key, another count


def test_the_api_default_rate_applies_without_a_workspace_setting(api, settings):
    settings.API_RATE_LIMIT = 2
    assert _until_429(lambda: api.get("/api/v1/contacts/")).json()["error"]["code"] == "throttled"


def test_owners_set_the_api_rate_and_marketers_cannot(owner_client, member_client, ws):
    form = {"name": ws.name, "timezone": "UTC", "api_rate_limit": "250", "currency": "USD"}
    assert owner_client.post("/settings/", form).status_code == 302
    ws.refresh_from_db()
    assert ws.api_rate_limit == 250
    bad = owner_client.post("/settings/", {**form, "api_rate_limit": "0"})
    assert bad.status_code == 400 and "greater than or equal to 1" in bad.content.decode()
    assert member_client.post("/settings/", {**form, "api_rate_limit": "9999"}).status_code in (
        403,
        404,
    )
    ws.refresh_from_db()
    assert ws.api_rate_limit == 250


def test_guessing_secret_keys_is_refused_per_address(client, tenant, settings):
    settings.AUTH_FAILURE_RATE_LIMIT = "3 per minute"
    bad = {"HTTP_AUTHORIZATION": "Bearer tds_guess"}
    for _ in range(3):
        assert client.get("/api/v1/contacts/", **bad).status_code == 401
    refused = client.get("/api/v1/contacts/", **bad)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "throttled"
    # A good key from the blocked address is refused too before its first lookup...
    good = {"HTTP_AUTHORIZATION": f"Bearer {tenant.secret_key}"}
    assert client.get("/api/v1/contacts/", **good).status_code == 429
    # ...and works from anywhere else.
    assert client.get("/api/v1/contacts/", REMOTE_ADDR="10.1.2.3", **good).status_code == 200


# --- Rate limits: ingestion --------------------------------------------------------------------


def test_guessing_write_keys_is_refused_per_address(client, settings):
    settings.AUTH_FAILURE_RATE_LIMIT = "3 per minute"
    for i in range(3):
        assert track(client, f"guess{i}").status_code == 401
    refused = track(client, "guess-again")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "throttled"
    body_key = client.post(
        "/v1/track",
        json.dumps({"type": "track", "event": "x", "userId": "u", "writeKey": "g"}),
        content_type="text/plain",
    )
    assert body_key.status_code == 429


def test_each_write_key_has_its_own_ingestion_limit(client, tenant, other_tenant, settings):
    settings.INGEST_RATE_LIMIT = "3 per minute"
    for _ in range(3):
        assert track(client, tenant.write_key).status_code == 200
    refused = track(client, tenant.write_key)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "throttled"
    assert Event.objects.filter(workspace=tenant.workspace).count() == 3
    assert track(client, other_tenant.write_key).status_code == 200


def test_an_ingestion_limit_set_to_off_counts_nothing(client, tenant, settings):
    settings.INGEST_RATE_LIMIT = "off"
    for _ in range(3):
        assert track(client, tenant.write_key).status_code == 200
    assert not throttling.client().keys(f"{throttling.PREFIX}*ingest*")
    assert Event.objects.filter(workspace=tenant.workspace).count() == 3


def test_without_redis_ingestion_still_takes_events_and_counts_no_limit(
    client, tenant, settings, monkeypatch
):
    """Redis unreachable: the key is looked up in PostgreSQL, the limit is not counted and the
    event is stored (the real outage: tests/contacts/test_fault_redis.py)."""
    import redis

    def unreachable(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting. Connection refused.")

    monkeypatch.setattr(redis.client.Pipeline, "execute", unreachable)
    monkeypatch.setattr(redis.Redis, "execute_command", unreachable)
    settings.INGEST_RATE_LIMIT = "1 per minute"
    for _ in range(2):
        assert track(client, tenant.write_key).status_code == 200
    assert Event.objects.filter(workspace=tenant.workspace).count() == 2
    assert track(client, "tdw_unknown").status_code == 401


def test_the_default_ingestion_limit_is_far_above_the_promised_5000_events_per_second():
    item = throttling.rate(django_settings.INGEST_RATE_LIMIT)
    assert item.amount / item.get_expiry() >= 5000  # requests/s; a batch carries many events


# --- Revocation through the shared cache ----------------------------------------------------------


def _revoke_in_another_process(key_id: int, workspace_id: int) -> None:
    """Revoke as another web process would: its own interpreter, its own memory, in the
    workspace's scope (Row Level Security)."""
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/" + connection.settings_dict["NAME"],
    }
    code = (
        "import django; django.setup();"
        "from workspaces.models import ApiKey; from workspaces.services import api_key_revoke;"
        "from workspaces.scoping import workspace_scope;"
        f"scope = workspace_scope({workspace_id}); scope.__enter__();"
        f"api_key_revoke(key=ApiKey.objects.get(pk={key_id}), actor=None)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_key_revoked_by_another_process_is_refused_at_once(tenant):
    client = Client()
    assert track(client, tenant.write_key).status_code == 200
    key = ApiKey.objects.get(key_hash=ApiKey.hash(tenant.write_key))
    cached = f"{throttling.PREFIX}:key:{key.key_hash}"
    assert throttling.client().exists(cached)  # the next request would be served from cache
    _revoke_in_another_process(key.pk, key.workspace_id)
    assert not throttling.client().exists(cached)
    refused = track(client, tenant.write_key)
    assert refused.status_code == 401
    assert ApiKey.objects.get(pk=key.pk).revoked_at <= timezone.now()


def test_a_revoked_secret_key_is_refused_on_the_next_request(api, tenant):
    assert api.get("/api/v1/contacts/").status_code == 200
    from workspaces.services import api_key_revoke

    api_key_revoke(key=ApiKey.objects.get(key_hash=ApiKey.hash(tenant.secret_key)), actor=None)
    assert api.get("/api/v1/contacts/").status_code == 401


# --- CORS on /v1/ --------------------------------------------------------------------------------


def test_ingestion_cors_never_allows_credentials(client, tenant):
    response = track(client, tenant.write_key, HTTP_ORIGIN="https://shop.test")
    assert response["Access-Control-Allow-Origin"] == "https://shop.test"
    assert "Access-Control-Allow-Credentials" not in response
    preflight = client.options(
        "/v1/batch", HTTP_ORIGIN="https://shop.test", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Credentials" not in preflight


def test_a_batch_takes_what_is_left_of_the_window_and_no_more():
    item = throttling.per_second(5, seconds=60)
    assert throttling.hit_up_to(item, "batch", "a", requested=3) == 3
    assert throttling.hit_up_to(item, "batch", "a", requested=4) == 2  # only two left
    assert throttling.hit_up_to(item, "batch", "a", requested=1) == 0
    assert throttling.hit_up_to(item, "batch", "b", requested=9) == 5  # its own window


def test_a_burst_counter_says_when_it_is_full_until_cleared():
    item = throttling.per_second(3, seconds=60)
    assert [throttling.hit_fills(item, "burst", "a") for _ in range(4)] == [
        False,
        False,
        True,
        True,
    ]
    throttling.clear(item, "burst", "a")
    assert throttling.hit_fills(item, "burst", "a") is False
