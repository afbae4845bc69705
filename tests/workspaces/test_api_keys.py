import pytest
from django.urls import reverse

from workspaces.models import ApiKey
from workspaces.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_a_key_is_stored(ws, owner):
    issued = api_key_create(workspace=ws, name="ci", kind=ApiKey.Kind.SECRET, actor=owner)
    stored = ApiKey.objects.get(pk=issued.key.pk)
    assert issued.raw.startswith("tds_")
    assert stored.prefix == issued.raw[:12]
    assert issued.raw not in {getattr(stored, f.attname) for f in ApiKey._meta.concrete_fields}
    assert stored.key_hash == ApiKey.hash(issued.raw)


def test_a_secret_key_opens_the_management_api(api):
    response = api.get("/api/v1/workspace/")
    assert response.status_code == 200
    assert response.json()["name"] == "Acme"


def test_a_revoked_key_is_refused(client, tenant, owner):
    key = ApiKey.objects.get(key_hash=ApiKey.hash(tenant.secret_key))
    api_key_revoke(key=key, actor=owner)
    response = client.get("/api/v1/workspace/", HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_key"


def test_a_write_key_cannot_call_the_management_api(client, tenant):
    response = client.get("/api/v1/workspace/", HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}")
    assert response.status_code == 401
    body = response.json()["error"]
    assert body["code"] == "write_key_not_allowed"
    assert "write key" in body["message"]


def test_an_unknown_key_is_a_401_in_the_error_shape(client):
    response = client.get("/api/v1/workspace/", HTTP_AUTHORIZATION="Bearer tds_nope")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_no_credentials_is_a_401(client, db):
    response = client.get("/api/v1/workspace/")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_keys_page_reveals_a_new_key_once_and_lists_only_its_prefix(owner_client, ws):
    response = owner_client.post(reverse("api_keys"), {"name": "Zapier", "kind": "secret"})
    assert response.status_code == 200
    raw = response.context["revealed"].raw
    assert raw.encode() in response.content
    again = owner_client.get(reverse("api_keys"))
    assert raw.encode() not in again.content
    assert raw[:12].encode() in again.content


def test_revoking_from_the_page_stops_the_key(owner_client, client, tenant):
    key = ApiKey.objects.get(key_hash=ApiKey.hash(tenant.secret_key))
    owner_client.post(reverse("api_key_revoke", args=[key.pk]))
    assert (
        client.get(
            "/api/v1/workspace/", HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}"
        ).status_code
        == 401
    )


def test_it_404s_when_revoking_another_workspaces_key(outsider_client, tenant):
    key = ApiKey.objects.get(key_hash=ApiKey.hash(tenant.secret_key))
    response = outsider_client.post(reverse("api_key_revoke", args=[key.pk]))
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_marketer_cannot_see_or_create_keys(member_client):
    assert member_client.get(reverse("api_keys")).status_code == 403
    assert (
        member_client.post(reverse("api_keys"), {"name": "x", "kind": "secret"}).status_code == 403
    )
    assert ApiKey.objects.filter(name="x").count() == 0
