"""Create (once) the demo workspace and print its login. Apps add sample data through hooks.

Each app that has sample data registers a `demo_seed(workspace)` callable in its
`demo.py` module; this command finds them through the app registry, so workspaces does
not import the other apps.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from workspaces.models import Membership, Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_scope
from workspaces.services import user_get_or_create, workspace_create

DEMO_EMAIL = "demo@tendril.local"
DEMO_PASSWORD = "tendril-demo"  # noqa: S105 — printed on purpose: it is a local demo login
DEMO_WORKSPACE = "Demo Shop"


class Command(BaseCommand):
    help = "Create the demo workspace with sample data (idempotent) and print its login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contacts", type=int, default=3000, help="Sample contacts to generate."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user, created = user_get_or_create(
                email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Dana Demo"
            )
            with dangerously_all_workspaces(reason="find the demo user's demo workspace"):
                membership = Membership.objects.filter(
                    user=user, workspace__name=DEMO_WORKSPACE
                ).first()
            workspace = membership.workspace if membership else None
            fresh = workspace is None
            if workspace is None:
                workspace = workspace_create(name=DEMO_WORKSPACE, owner=user).workspace
        if fresh:
            # Sample data is the operator's bulk load (bench.generator's COPY, which PostgreSQL
            # refuses under Row Level Security): it runs as the owner, like migrate.
            with connection.owner_role(), workspace_scope(workspace):  # type: ignore[attr-defined]
                self._seed_apps(workspace, options["contacts"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace “{workspace.name}”: log in at /login/ as {DEMO_EMAIL} / {DEMO_PASSWORD}"
            )
        )

    def _seed_apps(self, workspace: Workspace, contacts: int) -> None:
        for config in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as error:
                if error.name != f"{config.name}.demo":
                    raise
                continue
            seed = getattr(module, "demo_seed", None)
            if seed is not None:
                self.stdout.write(f"Seeding {config.label} …")
                seed(workspace=workspace, contacts=contacts, stdout=self.stdout)
