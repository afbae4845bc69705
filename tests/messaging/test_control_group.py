"""The workspace's global control group: a stable share of contacts gets no marketing. The
check sits in the one place every broadcast and workflow message passes — the send task's
SendChecker — and records the withheld message (skipped, reason "control_group")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.models import Message, MessageStatus
from messaging.services import message_enqueue
from messaging.services import test_send as send_a_test
from workspaces.experiments import in_control_group

from .conftest import make_contact

pytestmark = pytest.mark.django_db


def test_a_contacts_place_in_the_control_group_is_stable_and_only_grows_with_the_share():
    ids = range(1, 5001)
    at_10 = {c for c in ids if in_control_group(workspace_id=3, contact_id=c, percent=10)}
    at_20 = {c for c in ids if in_control_group(workspace_id=3, contact_id=c, percent=20)}
    assert 400 <= len(at_10) <= 600  # 10 % of 5,000 (binomial sd 21)
    assert at_10 < at_20  # raising the share only adds contacts
    assert at_10 == {c for c in ids if in_control_group(workspace_id=3, contact_id=c, percent=10)}
    other = {c for c in ids if in_control_group(workspace_id=4, contact_id=c, percent=10)}
    assert len(other & at_10) < 150  # another workspace draws its own (≈ 50 by chance)
    assert not any(in_control_group(workspace_id=3, contact_id=c, percent=0) for c in ids)


def test_the_control_group_gets_no_workflow_or_broadcast_message_but_test_sends_go(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    ws.control_group_percent = 30
    ws.save(update_fields=["control_group_percent"])
    people = [make_contact(ws, email=f"p{i}@example.com") for i in range(30)]
    control = [
        p for p in people if in_control_group(workspace_id=ws.pk, contact_id=p.pk, percent=30)
    ]
    assert 0 < len(control) < len(people)

    with django_capture_on_commit_callbacks(execute=True):
        for i, person in enumerate(people):
            message_enqueue(
                workspace=ws, contact=person, channel="email", template=template,
                source_type="workflow" if i % 2 else "broadcast", source_id=f"{i}:send",
            )  # fmt: skip
    smtp_settings.wait_for(len(people) - len(control))

    messages = {m.contact_id: m for m in Message.objects.filter(workspace=ws)}
    for person in people:
        expected = (
            (MessageStatus.SKIPPED, "control_group")
            if person in control
            else (MessageStatus.SENT, "")
        )
        assert (messages[person.pk].status, messages[person.pk].error) == expected
    assert sorted(smtp_settings.recipients()) == sorted(p.email for p in people if p not in control)

    # a test send is not marketing: it goes, personalised for a control-group contact
    with django_capture_on_commit_callbacks(execute=True):
        sent = send_a_test(workspace=ws, template=template, to="me@acme.test", contact=control[0])
    smtp_settings.wait_for(len(people) - len(control) + 1)
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def test_owners_set_the_control_group_and_a_bad_share_is_named_and_changes_nothing(
    ws, owner_client, member_client
):
    form = {"name": ws.name, "timezone": "UTC", "api_rate_limit": "", "currency": "USD"}
    page = owner_client.get(reverse("settings")).content.decode()
    assert "Global control group (% of contacts)" in page
    assert (
        owner_client.post(reverse("settings"), {**form, "control_group_percent": "8"}).status_code
        == 302
    )
    ws.refresh_from_db()
    assert ws.control_group_percent == 8

    bad = owner_client.post(reverse("settings"), {**form, "control_group_percent": "80"})
    assert bad.status_code == 400
    assert "Ensure this value is less than or equal to 50" in bad.content.decode()
    refused = member_client.post(reverse("settings"), {**form, "control_group_percent": "1"})
    assert refused.status_code == 403
    ws.refresh_from_db()
    assert ws.control_group_percent == 8


def test_the_api_sets_the_control_group_for_its_own_workspace_only(ws, other_ws, owner):
    from rest_framework.test import APIClient

    from workspaces.services import api_key_create

    issued = api_key_create(
        workspace=ws, name="admin", kind="secret", actor=owner, can_manage_workspace=True
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    bad = api.patch("/api/v1/workspace/", {"control_group_percent": -1}, format="json")
    assert bad.status_code == 400 and "control_group_percent" in bad.json()["error"]["fields"]
    good = api.patch("/api/v1/workspace/", {"control_group_percent": 5}, format="json")
    assert good.status_code == 200 and good.json()["control_group_percent"] == 5
    other_ws.refresh_from_db()
    assert other_ws.control_group_percent == 0
