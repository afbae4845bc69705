import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, add_member, login_client
from workspaces.models import Invitation, Membership, User
from workspaces.roles import Capability, Role, role_can

pytestmark = pytest.mark.django_db


def test_role_table_matches_the_product_rules():
    assert not role_can(Role.VIEWER, Capability.EDIT_CONTACTS)
    assert not role_can(Role.SALES, Capability.EDIT_MARKETING)
    assert role_can(Role.SALES, Capability.WORK_LEADS)
    assert role_can(Role.MARKETER, Capability.EDIT_MARKETING)
    assert not role_can(Role.MARKETER, Capability.MANAGE_WORKSPACE)
    assert role_can(Role.ADMIN, Capability.MANAGE_WORKSPACE)


def test_login_page_renders_and_logs_in(client, owner):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "OWNER@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_home_requires_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_home_shows_the_shell_with_navigation(owner_client):
    body = owner_client.get(reverse("home")).content.decode()
    for label in [
        "Contacts",
        "Segments",
        "Workflows",
        "Messages",
        "Leads",
        "Analytics",
        "Settings",
    ]:
        assert label in body
    assert "htmx" in body and "X-CSRFToken" in body


def test_a_viewer_cannot_change_settings(ws):
    viewer = add_member(ws, "viewer@acme.test", Role.VIEWER)
    client = login_client(viewer)
    assert client.get(reverse("settings")).status_code == 200
    response = client.post(reverse("settings"), {"name": "Hacked", "timezone": "UTC"})
    assert response.status_code == 403
    ws.refresh_from_db()
    assert ws.name == "Acme"


def test_an_owner_invites_a_teammate_who_joins_through_the_emailed_link(
    owner_client, ws, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("members"), {"email": "new@acme.test", "role": "sales"}
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/invitations/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    newcomer = Client()
    page = newcomer.get("/" + path)
    assert page.status_code == 200 and b"new@acme.test" in page.content
    joined = newcomer.post("/" + path, {"name": "Nia Sales", "password": "a-long-new-password-1"})
    assert joined.status_code == 302
    membership = Membership.objects.get(workspace=ws, user__email="new@acme.test")
    assert membership.role == Role.SALES
    assert newcomer.get(reverse("home")).status_code == 200
    assert newcomer.get("/" + path).status_code == 404  # used once


def test_a_marketer_cannot_invite(member_client):
    response = member_client.post(reverse("members"), {"email": "x@acme.test", "role": "admin"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_names_the_problem(owner_client, member):
    response = owner_client.post(reverse("members"), {"email": member.email, "role": "sales"})
    assert response.status_code == 400
    assert b"Already a member" in response.content


def test_the_last_owner_cannot_be_demoted(owner_client, owner, ws):
    membership = Membership.objects.get(user=owner, workspace=ws)
    owner_client.post(reverse("member_role", args=[membership.pk]), {"role": "viewer"})
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_it_404s_for_another_workspaces_member(outsider_client, member, ws):
    membership = Membership.objects.get(user=member, workspace=ws)
    assert (
        outsider_client.post(
            reverse("member_role", args=[membership.pk]), {"role": "admin"}
        ).status_code
        == 404
    )
    assert outsider_client.post(reverse("member_remove", args=[membership.pk])).status_code == 404
    assert Membership.objects.filter(pk=membership.pk, role=Role.MARKETER).exists()


def test_it_404s_for_another_workspaces_invitation(owner_client, outsider_client, ws):
    owner_client.post(reverse("members"), {"email": "inv@acme.test", "role": "sales"})
    invitation = Invitation.objects.get(email="inv@acme.test")
    assert (
        outsider_client.post(reverse("invitation_revoke", args=[invitation.pk])).status_code == 404
    )
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_the_switcher_only_switches_into_own_workspaces(owner_client, owner, other_ws, ws):
    response = owner_client.post(reverse("workspace_switch", args=[other_ws.pk]))
    assert response.status_code == 404
    assert owner_client.get(reverse("home")).context["current_workspace"] == ws


def test_a_member_of_two_workspaces_switches_between_them(owner, other_ws, ws):
    Membership.objects.create(workspace=other_ws, user=owner, role=Role.VIEWER)
    client = login_client(owner)
    client.post(reverse("workspace_switch", args=[other_ws.pk]))
    assert client.get(reverse("home")).context["current_workspace"] == other_ws
    owner.refresh_from_db()
    assert owner.last_workspace == other_ws


def test_creating_a_workspace_makes_you_its_owner(owner_client, owner):
    response = owner_client.post(
        reverse("workspace_create"), {"name": "Side project", "timezone": "Europe/Berlin"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=owner, workspace__name="Side project")
    assert membership.role == Role.OWNER


def test_a_user_without_workspace_is_sent_to_create_one(db):
    lonely = User.objects.create_user(email="lonely@x.test", password=PASSWORD)
    response = login_client(lonely).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("workspace_create")


def test_password_reset_sends_a_working_link(client, owner):
    client.post(reverse("password_reset"), {"email": owner.email})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password-reset/" in line)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    follow = client.get(path, follow=True)
    assert follow.status_code == 200 and follow.context["validlink"]
    done = client.post(
        follow.redirect_chain[-1][0],
        {"new_password1": "brand-new-pass-42", "new_password2": "brand-new-pass-42"},
    )
    assert done.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("brand-new-pass-42")


def test_owners_choose_the_workspace_currency_and_a_wrong_code_changes_nothing(
    owner_client, member_client, ws
):
    form = {"name": ws.name, "timezone": "UTC", "api_rate_limit": "", "currency": "EUR"}
    page = owner_client.get(reverse("settings")).content.decode()
    assert '<option value="USD" selected>USD — US Dollar</option>' in page
    assert owner_client.post(reverse("settings"), form).status_code == 302
    ws.refresh_from_db()
    assert ws.currency == "EUR"
    bad = owner_client.post(reverse("settings"), {**form, "currency": "EURO"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    assert member_client.post(reverse("settings"), {**form, "currency": "JPY"}).status_code == 403
    ws.refresh_from_db()
    assert ws.currency == "EUR"
