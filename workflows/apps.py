from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self) -> None:
        # Registers the events pipeline processor (contacts.hooks, order 30).
        from . import processor  # noqa: F401
