"""Members and invitations through the management API: an admin key (or an owner's/admin's
session) manages them with the UI's rules; a plain secret key and lesser roles are refused;
another workspace's members and invitations are 404."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.conftest import add_member, login_client
from workspaces.models import AuditLogEntry, Invitation, Membership
from workspaces.roles import Role
from workspaces.services import api_key_create

pytestmark = pytest.mark.django_db


def key_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def admin_api(ws, owner):
    issued = api_key_create(
        workspace=ws, name="provisioning", kind="secret", actor=owner, can_manage_workspace=True
    )
    return key_client(issued.raw)


@pytest.fixture
def outsider_admin_api(other_ws, outsider):
    issued = api_key_create(
        workspace=other_ws, name="theirs", kind="secret", actor=outsider, can_manage_workspace=True
    )
    return key_client(issued.raw)


def session_api(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(user)
    return client


# --- invitations --------------------------------------------------------------------------


def test_an_admin_key_invites_and_the_invitee_gets_the_email(
    admin_api, ws, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(
            "/api/v1/invitations/", {"email": "New@Acme.test", "role": "sales"}, format="json"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new@acme.test" and body["role"] == "sales"
    assert body["invited_by"] == "owner@acme.test"
    assert "token" not in body and "link" not in body  # the link is the invitee's credential
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@acme.test"]
    assert "/invitations/" in mail.outbox[0].body
    listed = admin_api.get("/api/v1/invitations/").json()["results"]
    assert [row["email"] for row in listed] == ["new@acme.test"]
    assert AuditLogEntry.objects.filter(workspace=ws, action="invitation.created").exists()


def test_an_admin_key_revokes_an_invitation(admin_api, ws):
    created = admin_api.post("/api/v1/invitations/", {"email": "x@acme.test"}, format="json")
    assert created.json()["role"] == "marketer"  # the UI's default
    assert admin_api.delete(f"/api/v1/invitations/{created.json()['id']}/").status_code == 204
    assert not Invitation.objects.filter(workspace=ws).exists()


def test_inviting_a_member_or_bad_input_is_a_4xx_naming_the_field(admin_api, member):
    cases = [
        ({"email": "marketer@acme.test", "role": "viewer"}, 409, "email"),
        ({"email": "not an email", "role": "viewer"}, 400, "email"),
        ({"email": "x@acme.test", "role": "emperor"}, 400, "role"),
        ({"email": "x@acme.test", "role": "owner"}, 400, "role"),
        ({"role": "viewer"}, 400, "email"),
    ]
    for body, code, field in cases:
        response = admin_api.post("/api/v1/invitations/", body, format="json")
        assert response.status_code == code, (body, response.content)
        assert field in response.json()["error"]["fields"], body
    assert not Invitation.objects.exists()


def test_a_plain_secret_key_and_a_marketer_may_not_invite(api, member):
    assert (
        api.post("/api/v1/invitations/", {"email": "x@acme.test"}, format="json").status_code == 403
    )
    assert api.get("/api/v1/invitations/").status_code == 403
    marketer = session_api(member)
    response = marketer.post("/api/v1/invitations/", {"email": "x@acme.test"}, format="json")
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_an_admins_session_invites(ws):
    admin = add_member(ws, "admin@acme.test", Role.ADMIN)
    response = session_api(admin).post(
        "/api/v1/invitations/", {"email": "y@acme.test", "role": "viewer"}, format="json"
    )
    assert response.status_code == 201
    assert Invitation.objects.get(workspace=ws).invited_by == admin


def test_another_workspaces_invitation_is_404(admin_api, outsider_admin_api, ws):
    theirs = outsider_admin_api.post(
        "/api/v1/invitations/", {"email": "z@other.test"}, format="json"
    ).json()["id"]
    assert admin_api.get(f"/api/v1/invitations/{theirs}/").status_code == 404
    assert admin_api.delete(f"/api/v1/invitations/{theirs}/").status_code == 404
    assert Invitation.objects.filter(pk=theirs).exists()
    assert admin_api.get("/api/v1/invitations/").json()["results"] == []


def test_the_same_idempotency_key_invites_once(admin_api, django_capture_on_commit_callbacks):
    headers = {"HTTP_IDEMPOTENCY_KEY": "invite-nia-1"}
    with django_capture_on_commit_callbacks(execute=True):
        first = admin_api.post(
            "/api/v1/invitations/", {"email": "nia@acme.test"}, format="json", **headers
        )
        again = admin_api.post(
            "/api/v1/invitations/", {"email": "nia@acme.test"}, format="json", **headers
        )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1


# --- members ------------------------------------------------------------------------------


def membership(ws, user):
    return Membership.objects.get(workspace=ws, user=user)


def test_an_admin_key_changes_a_role_and_removes_a_member(admin_api, ws, member):
    target = membership(ws, member)
    response = admin_api.patch(f"/api/v1/members/{target.pk}/", {"role": "viewer"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    target.refresh_from_db()
    assert target.role == Role.VIEWER
    assert admin_api.delete(f"/api/v1/members/{target.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=target.pk).exists()
    actions = set(AuditLogEntry.objects.filter(workspace=ws).values_list("action", flat=True))
    assert {"membership.role_changed", "membership.removed"} <= actions


def test_owners_are_neither_demoted_removed_nor_made_through_the_api(admin_api, ws, owner, member):
    second_owner = add_member(ws, "co-owner@acme.test", Role.OWNER)
    for who in (owner, second_owner):
        row = membership(ws, who)
        demote = admin_api.patch(f"/api/v1/members/{row.pk}/", {"role": "viewer"}, format="json")
        assert demote.status_code == 400 and "role" in demote.json()["error"]["fields"]
        remove = admin_api.delete(f"/api/v1/members/{row.pk}/")
        assert remove.status_code == 400 and "member" in remove.json()["error"]["fields"]
        assert membership(ws, who).role == Role.OWNER
    promote = admin_api.patch(
        f"/api/v1/members/{membership(ws, member).pk}/", {"role": "owner"}, format="json"
    )
    assert promote.status_code == 400
    assert membership(ws, member).role == Role.MARKETER


def test_a_bad_role_is_a_400_naming_it(admin_api, ws, member):
    target = membership(ws, member)
    for body in ({"role": "boss"}, {}, {"role": None}):
        response = admin_api.patch(f"/api/v1/members/{target.pk}/", body, format="json")
        assert response.status_code == 400 and "role" in response.json()["error"]["fields"]
    assert membership(ws, member).role == Role.MARKETER


def test_a_plain_secret_key_and_lesser_roles_cannot_change_members(api, ws, member):
    target = membership(ws, member)
    assert (
        api.patch(f"/api/v1/members/{target.pk}/", {"role": "viewer"}, format="json").status_code
        == 403
    )
    assert api.delete(f"/api/v1/members/{target.pk}/").status_code == 403
    sales = add_member(ws, "sales@acme.test", Role.SALES)
    assert session_api(sales).delete(f"/api/v1/members/{target.pk}/").status_code == 403
    assert Membership.objects.filter(pk=target.pk, role=Role.MARKETER).exists()
    # reading the member list stays open to every key, as before
    assert api.get("/api/v1/members/").status_code == 200


def test_another_workspaces_member_is_404(admin_api, outsider, other_ws):
    theirs = Membership.objects.get(workspace=other_ws, user=outsider)
    viewer = add_member(other_ws, "v@other.test", Role.VIEWER)
    theirs_viewer = membership(other_ws, viewer)
    assert (
        admin_api.patch(
            f"/api/v1/members/{theirs_viewer.pk}/", {"role": "admin"}, format="json"
        ).status_code
        == 404
    )
    assert admin_api.delete(f"/api/v1/members/{theirs_viewer.pk}/").status_code == 404
    assert admin_api.delete(f"/api/v1/members/{theirs.pk}/").status_code == 404
    assert membership(other_ws, viewer).role == Role.VIEWER


# --- admin keys ---------------------------------------------------------------------------


def test_an_owner_creates_an_admin_key_in_the_ui(ws, owner):
    page = login_client(owner).post(
        "/settings/api-keys/", {"name": "hr sync", "kind": "secret", "can_manage_workspace": "on"}
    )
    assert page.status_code == 200 and b"admin" in page.content
    raw = page.context["revealed"].raw
    assert key_client(raw).get("/api/v1/invitations/").status_code == 200


def test_a_write_key_cannot_be_an_admin_key(ws, owner):
    from workspaces.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        api_key_create(workspace=ws, name="w", kind="write", actor=owner, can_manage_workspace=True)
    assert "can_manage_workspace" in refused.value.fields


# --- the workspace's own settings (what Settings → Workspace sets) ---------------------------


def test_an_admin_key_sets_the_workspace_currency_time_zone_and_name(admin_api, ws):
    response = admin_api.patch(
        "/api/v1/workspace/", {"currency": "EUR", "timezone": "Europe/Berlin"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["currency"] == "EUR" and response.json()["timezone"] == "Europe/Berlin"
    ws.refresh_from_db()
    assert (ws.currency, ws.timezone, ws.name) == ("EUR", "Europe/Berlin", "Acme")
    assert AuditLogEntry.objects.filter(workspace=ws, action="workspace.updated").exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"currency": "XXQ"}, "currency"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"api_rate_limit": 0}, "api_rate_limit"),
        ({"slug": "mine"}, "slug"),
    ],
)
def test_a_bad_workspace_setting_is_a_400_naming_it_and_changes_nothing(admin_api, ws, body, field):
    response = admin_api.patch("/api/v1/workspace/", {**body, "name": "Renamed"}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    ws.refresh_from_db()
    assert (ws.name, ws.currency) == ("Acme", "USD")


def test_a_plain_secret_key_cannot_change_the_workspace(tenant, ws):
    response = key_client(tenant.secret_key).patch(
        "/api/v1/workspace/", {"currency": "EUR"}, format="json"
    )
    assert response.status_code == 403
    ws.refresh_from_db()
    assert ws.currency == "USD"


def test_another_workspaces_admin_key_changes_only_its_own(outsider_admin_api, ws, other_ws):
    assert (
        outsider_admin_api.patch(
            "/api/v1/workspace/", {"currency": "JPY"}, format="json"
        ).status_code
        == 200
    )
    ws.refresh_from_db()
    other_ws.refresh_from_db()
    assert (ws.currency, other_ws.currency) == ("USD", "JPY")
