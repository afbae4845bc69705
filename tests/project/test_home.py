"""The home page: "Get started" steps are links that know what is done, and the key figures
count this workspace only — every app contributes through workspaces.hooks."""

import re

import pytest
from django.urls import reverse

from contacts.models import Contact, EventDefinition, LifecycleStage
from messaging.models import EmailTemplate, MessagingSettings
from scoring.models import ScoringModel, ScoringRule
from segments.models import Segment

pytestmark = pytest.mark.django_db


def _steps(html: str) -> dict[str, bool]:
    found = {}
    for item in re.findall(r"<li>(.*?)</li>", html.split('id="get-started"')[1], re.S):
        title = re.search(r"<strong>(.*?)</strong>", item).group(1)
        found[title] = "(done)" in item
    return found


def _figures(html: str) -> dict[str, str]:
    block = html.split('id="key-figures"')[1].split("</section>")[0]
    return {
        label: value
        for value, label in re.findall(
            r'stat-value">([^<]*)</span><span class="stat-label">([^<]*)<', block
        )
    }


def test_a_new_workspace_sees_every_step_as_a_link_and_none_done(owner_client):
    html = owner_client.get(reverse("home")).content.decode()
    steps = _steps(html)
    assert set(steps) >= {
        "Send events",
        "Import contacts",
        "Build a segment",
        "Set your postal address and sender",
        "Design an email",
        "Publish a workflow",
        "Score your leads",
    }
    assert not any(steps.values())
    assert f'href="{reverse("segments:create")}"><strong>Build a segment' in html
    assert f"0 of {len(steps)} done" in html
    assert _figures(html)["Contacts"] == "0"


def test_steps_are_done_by_what_the_workspace_did_not_what_others_did(
    ws, other_ws, owner_client, django_assert_max_num_queries
):
    for workspace in (ws, other_ws):
        Contact.objects.create(workspace=workspace, email="a@x.test")
    Contact.objects.create(workspace=ws, email="b@x.test", lifecycle_stage=LifecycleStage.MQL)
    EventDefinition.objects.create(workspace=ws, name="Signed Up")
    Segment.objects.create(workspace=other_ws, name="Theirs")
    EmailTemplate.objects.create(workspace=ws, name="Welcome")
    MessagingSettings.objects.update_or_create(
        workspace=ws, defaults={"physical_address": "1 Main St, Springfield"}
    )
    model = ScoringModel.objects.create(workspace=ws, name="Main", is_primary=True)
    ScoringRule.objects.create(
        workspace=ws, model=model, kind="behavioural", name="Demo", event="Demo", points=10
    )
    with django_assert_max_num_queries(22):  # session, user, membership, nav + ~2 per app
        html = owner_client.get(reverse("home")).content.decode()
    steps = _steps(html)
    assert steps["Send events"] and steps["Import contacts"] and steps["Design an email"]
    assert steps["Set your postal address and sender"] and steps["Score your leads"]
    assert not steps["Build a segment"]  # the other workspace's segment is not ours
    assert not steps["Publish a workflow"]
    figures = _figures(html)
    assert figures["Contacts"] == "2" and figures["Marketing-qualified leads"] == "1"
    assert figures["Segments"] == "0"
