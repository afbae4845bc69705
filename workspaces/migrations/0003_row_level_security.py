"""Row Level Security on every tenant table, and the application role it applies to.

Idempotent; it runs again after every `migrate` (workspaces.apps) for tables added later.
See workspaces/db/rls.py and docs/security.md.
"""

from django.db import migrations


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    from workspaces.db.rls import app_role_setup, rls_apply

    with schema_editor.connection.cursor() as cursor:
        app_role_setup(cursor)
        rls_apply(cursor)


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0002_idempotency_key")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
