"""Sending settings through the management API: what Messages → Settings sets."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from messaging.models import MessagingSettings
from messaging.services import messaging_settings
from tests.conftest import add_member
from workspaces.roles import Role

pytestmark = pytest.mark.django_db
URL = "/api/v1/messaging/settings/"


def test_a_secret_key_reads_and_sets_the_postal_address_quiet_hours_and_sms_sender(api, ws):
    assert api.get(URL).json()["physical_address"] == ""
    response = api.patch(
        URL,
        {
            "physical_address": "Acme Ltd, 1 Main St, Springfield",
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:30",
            "quiet_hours_email": True,
            "sms_from": "+15005550006",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["physical_address"] == "Acme Ltd, 1 Main St, Springfield"
    assert body["quiet_hours_end"] == "07:30:00" and body["sms_from"] == "+15005550006"
    current = messaging_settings(workspace=ws)
    assert current.quiet_hours_start == dt.time(22, 0) and current.quiet_hours_email
    assert api.get(URL).json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quiet_hours_start": "25:99"}, "quiet_hours_start"),
        ({"from_email": "nope"}, "from_email"),
        ({"frequency_cap_count": 3, "frequency_cap_days": 0}, "frequency_cap_days"),
        ({"frequency_cap_count": -1}, "frequency_cap_count"),
        ({"sms_from": "x" * 40}, "sms_from"),
        ({"postal_adress": "typo"}, "postal_adress"),
        ({"physical_address": ["a"]}, "physical_address"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, ws, body, field):
    before = messaging_settings(workspace=ws)
    response = api.patch(URL, {"physical_address": "Changed", **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    after = MessagingSettings.objects.get(workspace=ws)
    assert after.physical_address == before.physical_address == ""


def test_the_secret_is_not_part_of_the_api_and_pause_is_read_only(api, ws):
    body = api.get(URL).json()
    assert "esp_webhook_secret" not in body and body["sending_paused"] is False
    response = api.patch(URL, {"sending_paused": True}, format="json")
    assert response.status_code == 200 and response.json()["sending_paused"] is False


@pytest.mark.parametrize("role", [Role.SALES, Role.VIEWER])
def test_roles_without_edit_marketing_read_but_do_not_change(ws, role):
    client = APIClient()
    client.force_login(add_member(ws, f"{role}@acme.test", role))
    assert client.get(URL).status_code == 200
    refused = client.patch(URL, {"physical_address": "X"}, format="json")
    assert refused.status_code == 403
    assert messaging_settings(workspace=ws).physical_address == ""


def test_each_workspace_sees_and_changes_only_its_own(api, outsider_api, ws, other_ws):
    api.patch(URL, {"physical_address": "Ours"}, format="json")
    assert outsider_api.get(URL).json()["physical_address"] == ""
    outsider_api.patch(URL, {"physical_address": "Theirs"}, format="json")
    assert messaging_settings(workspace=ws).physical_address == "Ours"
    assert messaging_settings(workspace=other_ws).physical_address == "Theirs"
