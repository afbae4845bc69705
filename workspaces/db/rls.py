"""Row Level Security on every tenant table.

A tenant table is one with a `workspace_id` column: every TenantModel, and the tables kept
by raw SQL (ContactAnonymousId, rollups …) alike, so a new table cannot be forgotten —
`rls_apply` runs in the workspaces migration and again after every `migrate`
(workspaces.apps), and tests/workspaces/test_rls.py fails when a table lacks its policy.

The policy is one equality on the indexed column against a setting read once per
statement (a scalar subquery is an InitPlan, not a per-row call), so it costs an index
condition, not a scan.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

POLICY = "tenant_isolation"
_CONDITION = (
    "workspace_id = (SELECT NULLIF(current_setting('tendril.workspace_id', true), '')::bigint)"
    " OR (SELECT current_setting('tendril.all_workspaces', true)) = 'on'"
)


_TENANT_TABLES = """
    SELECT c.relname FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id'
         AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
"""


def tenant_tables(cursor: Any) -> list[str]:
    """Tables (and partitioned tables) of the current schema with a workspace_id column."""
    cursor.execute(_TENANT_TABLES + " ORDER BY c.relname")
    return [row[0] for row in cursor.fetchall()]


def tables_without_policy(cursor: Any) -> list[str]:
    cursor.execute(
        _TENANT_TABLES  # noqa: S608 — constant SQL
        + """ AND (NOT c.relrowsecurity OR NOT EXISTS (
                SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s))
        ORDER BY c.relname""",
        [POLICY],
    )
    return [row[0] for row in cursor.fetchall()]


def child_tables(cursor: Any) -> list[tuple[str, str, str]]:
    """Tables without workspace_id whose rows belong to a tenant table's row (many-to-many
    link tables): (table, column, parent table)."""
    cursor.execute(
        """
        SELECT c.relname, a.attname, p.relname FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
        JOIN pg_class p ON p.oid = k.confrelid
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
        WHERE k.contype = 'f' AND cardinality(k.conkey) = 1
          AND NOT EXISTS (SELECT 1 FROM pg_attribute w WHERE w.attrelid = c.oid
                          AND w.attname = 'workspace_id' AND NOT w.attisdropped)
          AND EXISTS (SELECT 1 FROM pg_attribute w WHERE w.attrelid = p.oid
                      AND w.attname = 'workspace_id' AND NOT w.attisdropped)
        ORDER BY 1, 2
        """
    )
    found: dict[str, tuple[str, str, str]] = {}
    for table, column, parent in cursor.fetchall():
        found.setdefault(table, (table, column, parent))  # one parent decides
    return list(found.values())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _policy(cursor: Any, table: str, condition: str) -> None:
    quoted = _quote(table)
    cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
    cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quoted}")
    cursor.execute(
        f"CREATE POLICY {POLICY} ON {quoted} USING ({condition}) WITH CHECK ({condition})"
    )


def rls_apply(cursor: Any) -> list[str]:
    """Enable RLS with the tenant policy on every tenant table that lacks it; returns them.

    A link table without workspace_id sees the rows whose parent row it may see (the
    parent's own policy applies inside the check)."""
    missing = tables_without_policy(cursor)
    for table in missing:
        _policy(cursor, table, _CONDITION)
    for table, column, parent in child_tables(cursor):
        if table in _with_policy(cursor):
            continue
        _policy(
            cursor,
            table,
            f"EXISTS (SELECT 1 FROM {_quote(parent)} p"  # noqa: S608 — catalog names, quoted
            f" WHERE p.id = {_quote(table)}.{_quote(column)})",
        )
        missing.append(table)
    return missing


def _with_policy(cursor: Any) -> set[str]:
    cursor.execute(
        """
        SELECT c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
        WHERE c.relrowsecurity
          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s)
        """,
        [POLICY],
    )
    return {row[0] for row in cursor.fetchall()}


def app_role_setup(cursor: Any) -> None:
    """Create the application role when the migrating role may, and grant it the data.

    The role owns nothing and has no BYPASSRLS, so policies apply to it. Creating roles
    needs CREATEROLE (or a superuser); without it, a DBA creates the role (docs/operations.md)
    and this only grants.
    """
    role = settings.DB_APP_ROLE
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ImproperlyConfigured(f"DB_APP_ROLE {role!r} is not a plain role name.")
    cursor.execute(
        """
        DO $$
        DECLARE app_role text := '%s';
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app_role) THEN
            BEGIN
              EXECUTE format('CREATE ROLE %I NOLOGIN NOBYPASSRLS', app_role);
            EXCEPTION
              WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently
              WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role %; ask a DBA to (docs/operations.md)', app_role;
                RETURN;
            END;
          END IF;
          IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
             AND NOT pg_has_role(current_user, app_role, 'MEMBER') THEN
            BEGIN
              EXECUTE format('GRANT %I TO %I', app_role, current_user);
            EXCEPTION WHEN insufficient_privilege THEN
              RAISE NOTICE 'cannot grant role %; ask a DBA to (docs/operations.md)', app_role;
            END;
          END IF;
          EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), app_role);
          EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES '
                         'ON ALL TABLES IN SCHEMA %I TO %I', current_schema(), app_role);
          EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I',
                         current_schema(), app_role);
          EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE,'
                         ' DELETE, TRUNCATE, REFERENCES ON TABLES TO %I',
                         current_schema(), app_role);
          EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE'
                         ' ON SEQUENCES TO %I', current_schema(), app_role);
        END $$;
        """.replace("'%s'", f"'{role}'")
    )
