"""PostgreSQL, with Row Level Security as the second wall of tenancy.

Every tenant table has a policy (workspaces.db.rls) that lets a session see and write only
the rows of the workspace named by its `tendril.workspace_id` setting, or every row when
`tendril.all_workspaces` is on. Superusers and table owners bypass policies, so with
TENANT_RLS on each connection switches to the non-owner role DB_APP_ROLE (`SET ROLE`).

The settings follow the scope the code runs in (workspaces.scope_state): before a
statement, the backend compares the scope with what the connection carries and, only when
they differ, sets both in one round trip. They are session settings, not
`set_config(…, true)`: Django runs outside transactions (autocommit) as often as inside,
and a transaction-local setting would vanish after each statement. A rollback may undo a
setting made inside its transaction, so after one the connection's state counts as unknown
and the next statement sets it again; a connection taken from the pool starts unknown too.

`migrate` (workspaces/management/commands/migrate.py) runs as the login role (the owner)
instead, by `owner_role()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base

from workspaces import scope_state

NO_DB_ALIAS = "__no_db__"
SET_SCOPE_SQL = (
    "SELECT set_config('tendril.workspace_id', %s, false),"
    " set_config('tendril.all_workspaces', %s, false)"
)
SET_ROLE_SQL = (
    "SELECT set_config('tendril.workspace_id', '', false),"
    " set_config('tendril.all_workspaces', '', false),"
    " (SELECT set_config('role', rolname::text, false) FROM pg_roles WHERE rolname = %s)"
)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant_rls = bool(settings.TENANT_RLS) and (self.alias != NO_DB_ALIAS)
        self.tenant_owner_mode = False
        self.tenant_role_active = False
        # What the connection carries: (workspace_id, all_workspaces), None when unknown.
        self._tenant_setting: tuple[str, str] | None = None
        self.execute_wrappers.append(self._tenant_guard)

    # --- connection state ------------------------------------------------------------

    def init_connection_state(self) -> None:
        super().init_connection_state()
        self._tenant_setting = None
        if self.tenant_rls and not self.tenant_owner_mode:
            self._assume_app_role()

    def _assume_app_role(self) -> None:
        # One round trip per connection checkout: the role, and no scope yet. A role that
        # does not exist yet (a fresh database before its first migrate) leaves the login
        # role in place; the workspaces migration creates it.
        with self.wrap_database_errors, self.connection.cursor() as cursor:
            cursor.execute(SET_ROLE_SQL, [settings.DB_APP_ROLE])
            row = cursor.fetchone()
        self.tenant_role_active = bool(row and row[2])
        self._tenant_setting = ("", "")

    def _rollback(self) -> None:
        super()._rollback()  # type: ignore[misc]
        self._tenant_setting = None

    def _savepoint_rollback(self, sid: str) -> None:
        # After, not before: ROLLBACK TO SAVEPOINT goes through the statement guard, and a
        # setting sent first would land in the aborted transaction and fail there.
        super()._savepoint_rollback(sid)  # type: ignore[misc]
        self._tenant_setting = None

    @contextmanager
    def owner_role(self) -> Iterator[None]:
        """Run as the login role (which owns the schema): for migrations and the operator's
        bulk loads (demo data, the bench generator). Re-entrant."""
        if self.tenant_owner_mode:
            yield
            return
        self.tenant_owner_mode = True
        try:
            if self.connection is not None:
                with self.wrap_database_errors, self.connection.cursor() as cursor:
                    cursor.execute("RESET ROLE")
                self.tenant_role_active = False
            yield
        finally:
            self.tenant_owner_mode = False
            if self.tenant_rls and self.connection is not None:
                self._assume_app_role()

    # --- before each statement -------------------------------------------------------

    def _tenant_guard(self, execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        if not self.tenant_rls:
            return execute(sql, params, many, context)
        wanted = scope_state.database_setting()
        if wanted != self._tenant_setting and self.connection is not None:
            # The raw cursor runs outside Django's error translation: wrapped, a backend the
            # server terminated is Django's OperationalError (a 503 the client retries, and
            # the connection is discarded), not psycopg's own error (a 500).
            with self.wrap_database_errors, self.connection.cursor() as cursor:
                cursor.execute(SET_SCOPE_SQL, wanted)
            self._tenant_setting = wanted
        return execute(sql, params, many, context)
