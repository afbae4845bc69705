from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Workspaces"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the scoping system check)
        from .api import schema  # noqa: F401  (OpenAPI security schemes)
