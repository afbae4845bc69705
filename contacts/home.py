"""Contacts' part of the home page: getting data in, and how many people there are."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from workspaces.hooks import HomeFigure, HomeStep, on_home
from workspaces.models import Workspace
from workspaces.roles import Capability

from .models import Contact, EventDefinition


@on_home
def contacts_home(workspace: Workspace) -> Iterator[HomeStep | HomeFigure]:
    contacts = Contact.objects.for_workspace(workspace)
    yield HomeStep(
        order=10,
        title="Send events",
        detail="Point a Segment or RudderStack library at Tendril with your write key, or add "
        "the tracking snippet to your site.",
        url=reverse("api_keys"),
        done=EventDefinition.objects.for_workspace(workspace).exists(),
        capability=Capability.MANAGE_WORKSPACE,  # the write key is on the API keys page
    )
    yield HomeStep(
        order=20,
        title="Import contacts",
        detail="Upload a CSV with email, name and any attributes.",
        url=reverse("contacts:imports"),
        done=contacts.exists(),
        capability=Capability.EDIT_CONTACTS,
    )
    week_ago = timezone.now() - timedelta(days=7)
    yield HomeFigure(
        order=10, label="Contacts", value=contacts.count(), url=reverse("contacts:list")
    )
    yield HomeFigure(
        order=20,
        label="New this week",
        value=contacts.filter(created_at__gte=week_ago).count(),
        url=reverse("contacts:list"),
    )
