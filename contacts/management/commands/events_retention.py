"""python manage.py events_retention WORKSPACE_ID [--months N | --forever | --default]

Shows or sets how long one workspace keeps its raw events (rollups are always kept).
Without an option it prints the workspace's retention. `--apply` runs the retention pass
now (what the daily beat task does) and prints what left.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.services.event_retention import (
    event_retention_clear,
    event_retention_months,
    event_retention_set,
    events_retention_apply,
)
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_scope


class Command(BaseCommand):
    help = "Show or set a workspace's raw-event retention; --apply runs the retention pass."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace_id", nargs="?", type=int)
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--months", type=int, help="keep raw events this many months")
        group.add_argument("--forever", action="store_true", help="keep raw events forever")
        group.add_argument("--default", action="store_true", help="follow EVENTS_RETENTION_MONTHS")
        parser.add_argument("--apply", action="store_true", help="run the retention pass now")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workspace_id"] is not None:
            self._workspace(options)
        elif not options["apply"]:
            raise CommandError("name a workspace id, or --apply")
        if options["apply"]:
            with dangerously_all_workspaces(reason="operator: the retention pass"):
                result = events_retention_apply(budget_seconds=3600)
            self.stdout.write(
                f"partitions dropped: {', '.join(result.dropped) or 'none'}; "
                f"events deleted in batches: {result.deleted:,}"
            )

    def _workspace(self, options: dict[str, Any]) -> None:
        try:
            with workspace_scope(options["workspace_id"]) as workspace:
                if options["months"] is not None or options["forever"]:
                    event_retention_set(workspace=workspace, months=options["months"])
                elif options["default"]:
                    event_retention_clear(workspace=workspace)
                months = event_retention_months(workspace=workspace)
        except Workspace.DoesNotExist as error:
            raise CommandError(f"no workspace {options['workspace_id']}") from error
        except ValidationFailed as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"workspace {options['workspace_id']}: raw events kept "
            + (f"{months} months" if months else "forever")
        )
