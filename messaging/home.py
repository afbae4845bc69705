"""Messaging's part of the home page: what marketing email needs before it can go out."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse

from workspaces.hooks import HomeStep, on_home
from workspaces.models import Workspace

from .models import EmailTemplate, MessagingSettings


@on_home
def messaging_home(workspace: Workspace) -> Iterator[HomeStep]:
    address = (
        MessagingSettings.objects.for_workspace(workspace)
        .values_list("physical_address", flat=True)
        .first()
    )
    yield HomeStep(
        order=35,
        title="Set your postal address and sender",
        detail="Every marketing email carries your postal address in its footer (CAN-SPAM, "
        "GDPR); Tendril sends none without it.",
        url=reverse("messaging:settings"),
        done=bool((address or "").strip()),
    )
    yield HomeStep(
        order=40,
        title="Design an email",
        detail="Write a template with a live preview, and send yourself a test.",
        url=reverse("messaging:list"),
        done=EmailTemplate.objects.for_workspace(workspace).exists(),
    )
