"""python manage.py workspace_create NAME --owner EMAIL [--password P]

Prints one JSON object: {"workspace_id", "write_key", "secret_key", "owner"}.
Scripts and tests rely on this output; keep it stable.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from workspaces.errors import TendrilError
from workspaces.services import user_get_or_create, workspace_create


class Command(BaseCommand):
    help = "Create a workspace with an owner and print its keys as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="Owner's email; created if new.")
        parser.add_argument("--password", help="Password for a new owner (else login by reset).")
        parser.add_argument("--timezone", default="UTC")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                owner, created = user_get_or_create(
                    email=options["owner"], password=options["password"]
                )
                if not created and options["password"]:
                    owner.set_password(options["password"])
                    owner.save(update_fields=["password"])
                result = workspace_create(
                    name=options["name"], owner=owner, timezone_name=options["timezone"]
                )
        except TendrilError as error:
            raise CommandError(error.message)
        self.stdout.write(
            json.dumps(
                {
                    "workspace_id": result.workspace.pk,
                    "write_key": result.write_key.raw,
                    "secret_key": result.secret_key.raw,
                    "owner": result.owner.email,
                }
            )
        )
