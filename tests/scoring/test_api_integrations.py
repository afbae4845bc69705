"""Lead handoff settings (Slack/CRM webhook URLs, their signing secrets) through the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from scoring.services import scoring_settings
from tests.conftest import add_member
from workspaces.outbound.selectors import endpoint_get
from workspaces.roles import Role
from workspaces.services import api_key_create

pytestmark = pytest.mark.django_db
URL = "/api/v1/scoring/integrations/"


@pytest.fixture
def admin_api(ws, owner):
    issued = api_key_create(
        workspace=ws, name="ops", kind="secret", actor=owner, can_manage_workspace=True
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    return client


def test_an_admin_key_sets_the_urls_and_reads_the_signing_secrets(admin_api, ws):
    response = admin_api.patch(
        URL,
        {
            "crm_webhook_url": "https://crm.example.com/hooks/tendril",
            "slack_webhook_url": "https://hooks.slack.com/services/T0/B0/x",
            "task_due_hours": 48,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    crm = endpoint_get(workspace=ws, source="scoring.crm")
    assert body["crm_webhook_url"] == crm.url == "https://crm.example.com/hooks/tendril"
    assert body["crm_signing_secret"] == crm.secret and crm.secret.startswith("whsec_")
    assert body["slack_signing_secret"].startswith("whsec_") and body["task_due_hours"] == 48
    cleared = admin_api.patch(URL, {"crm_webhook_url": ""}, format="json").json()
    assert cleared["crm_webhook_url"] == "" and cleared["crm_signing_secret"] is None
    assert endpoint_get(workspace=ws, source="scoring.crm") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"crm_webhook_url": "http://127.0.0.1:8000/admin"}, "crm_webhook_url"),
        ({"crm_webhook_url": "http://[::ffff:10.0.0.1]/x"}, "crm_webhook_url"),
        ({"slack_webhook_url": "ftp://example.com/x"}, "slack_webhook_url"),
        ({"slack_webhook_url": "https://example.com/" + "a" * 600}, "slack_webhook_url"),
        ({"task_due_hours": 0}, "task_due_hours"),
        ({"crm_url": "https://example.com"}, "crm_url"),
    ],
)
def test_a_url_the_outbound_client_refuses_or_bad_input_is_a_400_naming_it(
    admin_api, ws, body, field
):
    response = admin_api.patch(
        URL, {"slack_webhook_url": "https://hooks.slack.com/services/ok", **body}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    current = scoring_settings(workspace=ws)
    assert current.slack_webhook_url == "" and current.crm_webhook_url == ""
    assert endpoint_get(workspace=ws, source="scoring.slack") is None


def test_a_plain_secret_key_and_a_marketer_read_but_do_not_change(api, ws, member):
    assert api.get(URL).status_code == 200
    assert api.patch(URL, {"task_due_hours": 5}, format="json").status_code == 403
    marketer = APIClient()
    marketer.force_login(member)
    assert marketer.patch(URL, {"task_due_hours": 5}, format="json").status_code == 403
    assert scoring_settings(workspace=ws).task_due_hours != 5


def test_an_admins_session_sets_them(ws):
    client = APIClient()
    client.force_login(add_member(ws, "admin@acme.test", Role.ADMIN))
    response = client.patch(URL, {"email_notifications": False}, format="json")
    assert response.status_code == 200
    assert scoring_settings(workspace=ws).email_notifications is False


def test_each_workspace_sees_only_its_own(admin_api, outsider_api, ws, other_ws):
    admin_api.patch(URL, {"crm_webhook_url": "https://crm.example.com/a"}, format="json")
    theirs = outsider_api.get(URL).json()
    assert theirs["crm_webhook_url"] == "" and theirs["crm_signing_secret"] is None
    assert scoring_settings(workspace=other_ws).crm_webhook_url == ""
