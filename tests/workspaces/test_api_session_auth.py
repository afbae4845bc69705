"""The management API answers the logged-in browser (the workflow builder island) with the
member's session: the session's workspace only, the member's role, Django's CSRF token."""

from __future__ import annotations

import pytest
from django.middleware.csrf import get_token
from django.test import Client
from django.test.client import RequestFactory

from tests.conftest import add_member
from workflows.models import Workflow
from workspaces.roles import Role

pytestmark = pytest.mark.django_db


def _browser(user) -> tuple[Client, str]:  # noqa: ANN001
    """A client that enforces CSRF, logged in, with the token a page would carry."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = get_token(RequestFactory().get("/"))
    client.cookies["csrftoken"] = token
    return client, token


def _workflow(workspace, name: str = "Welcome") -> Workflow:  # noqa: ANN001
    return Workflow.objects.create(workspace=workspace, name=name)


def test_a_logged_in_member_reads_their_workspace_only(tenant, other_tenant):
    mine = _workflow(tenant.workspace)
    _workflow(other_tenant.workspace, "Theirs")
    client, _ = _browser(tenant.owner)
    response = client.get("/api/v1/workflows/")
    assert response.status_code == 200
    assert [w["id"] for w in response.json()["results"]] == [mine.pk]


def test_another_workspaces_object_is_a_404_through_the_session(tenant, other_tenant):
    theirs = _workflow(other_tenant.workspace, "Theirs")
    client, token = _browser(tenant.owner)
    assert client.get(f"/api/v1/workflows/{theirs.pk}/").status_code == 404
    response = client.post(
        f"/api/v1/workflows/{theirs.pk}/pause/",
        {},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 404


def test_an_unsafe_call_without_the_csrf_token_is_refused_and_changes_nothing(tenant):
    client, _ = _browser(tenant.owner)
    response = client.post(
        "/api/v1/workflows/", {"name": "Forged"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not Workflow.objects.filter(name="Forged").exists()


def test_an_unsafe_call_with_the_csrf_token_writes(tenant):
    client, token = _browser(tenant.owner)
    response = client.post(
        "/api/v1/workflows/",
        {"name": "From the builder"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201, response.content
    assert Workflow.objects.get(name="From the builder").workspace_id == tenant.workspace.pk


def test_the_members_role_limits_what_the_session_may_do(tenant):
    viewer = add_member(tenant.workspace, "viewer@acme.test", Role.VIEWER)
    client, token = _browser(viewer)
    assert client.get("/api/v1/workflows/").status_code == 200
    response = client.post(
        "/api/v1/workflows/",
        {"name": "Nope"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 403
    assert not Workflow.objects.filter(name="Nope").exists()


def test_a_key_in_the_header_is_judged_by_the_key_not_the_session(tenant):
    client, _ = _browser(tenant.owner)
    response = client.get("/api/v1/workflows/", HTTP_AUTHORIZATION="Bearer tds_not_a_key")
    assert response.status_code == 401


def test_without_a_session_or_key_the_api_is_a_401(tenant):
    response = Client().get("/api/v1/workflows/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_user_without_a_workspace_gets_no_workspace(db):
    from workspaces.services import user_get_or_create

    loner, _ = user_get_or_create(email="loner@nowhere.test", password="x" * 20)
    client, _ = _browser(loner)
    assert client.get("/api/v1/workflows/").status_code in (401, 403)
