from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Workspaces"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the scoping system check)
            signals,
        )
        from .api import authentication, schema  # noqa: F401  (key cache signals; OpenAPI schemes)

        signals.connect()
        post_migrate.connect(_tenant_tables_secure, sender=self)


def _tenant_tables_secure(using: str = "default", **_: object) -> None:
    """After `migrate`: RLS on tenant tables added since (any app), grants to the app role."""
    from django.db import connections

    from .db.rls import app_role_setup, rls_apply

    connection = connections[using]
    if not getattr(connection, "tenant_owner_mode", False):
        return  # `flush` also sends post_migrate; only the owner may change the schema
    with connection.cursor() as cursor:
        app_role_setup(cursor)
        rls_apply(cursor)
