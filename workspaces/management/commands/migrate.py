"""`migrate`, run as the database owner rather than the application role.

With TENANT_RLS on, connections act as DB_APP_ROLE, which may read and write rows but owns
nothing, so it cannot create or alter tables. Migrations (schema changes, and data
migrations that must see every workspace's rows) run as the login role instead — the
owner, which Row Level Security does not apply to. See docs/operations.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate
from django.db import connections


class Command(migrate.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        owner_role = getattr(connection, "owner_role", None)
        if owner_role is None:  # not Tendril's backend
            return super().handle(*args, **options)
        with owner_role():
            return super().handle(*args, **options)
