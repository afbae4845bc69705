"""`make dev` opens on a demo workspace where every page shows believable, consistent data:
scored leads, a funnel that people complete, sending settings that let email go out."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.funnels import funnel_compute, funnel_first
from contacts.models import Contact
from messaging.models import MessagingSettings
from scoring.models import RuleBackfill, ScoringModel
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_workspace_has_scores_a_completing_funnel_and_a_postal_address(capsys):
    call_command("demo_seed", contacts=300)
    workspace = Workspace.objects.get(name="Demo Shop")
    contacts = Contact.objects.filter(workspace=workspace)

    model = ScoringModel.objects.get(workspace=workspace, is_primary=True)
    assert model.rules.count() >= 5
    assert not RuleBackfill.objects.filter(workspace=workspace).exclude(status="done").exists()
    scored = contacts.filter(score__gt=0).count()
    assert scored > contacts.count() / 3, f"only {scored} of {contacts.count()} leads scored"

    funnel = funnel_first(workspace=workspace)
    now = timezone.now()
    result = funnel_compute(
        workspace=workspace,
        steps=funnel.steps,
        window_days=funnel.window_days,
        start=now - timedelta(days=31),
        end=now + timedelta(minutes=1),
    )
    assert result.entered > 0 and result.converted > 0, [s.contacts for s in result.steps]

    settings = MessagingSettings.objects.get(workspace=workspace)
    assert settings.physical_address.strip() and settings.from_email
    assert "Demo workspace" in capsys.readouterr().out
