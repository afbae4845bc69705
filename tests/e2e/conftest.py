"""The demo workspace (`manage.py demo_seed`, as `make dev` builds it) for the browser walks."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command

from workspaces.models import User, Workspace

DEMO_CONTACTS = 300


@dataclass
class Demo:
    workspace: Workspace
    owner: User
    password: str


@pytest.fixture
def demo(transactional_db) -> Demo:  # noqa: ANN001
    from workspaces.management.commands.demo_seed import DEMO_EMAIL, DEMO_PASSWORD, DEMO_WORKSPACE

    call_command("demo_seed", contacts=DEMO_CONTACTS, stdout=io.StringIO())
    owner = User.objects.get(email=DEMO_EMAIL)
    workspace = Workspace.objects.get(name=DEMO_WORKSPACE)
    return Demo(workspace=workspace, owner=owner, password=DEMO_PASSWORD)
