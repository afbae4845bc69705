from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self) -> None:
        # Registers the events pipeline processor (contacts.hooks, order 30).
        from . import (
            home,  # noqa: F401  (its part of the home page)
            processors,  # noqa: F401  (registers the pipeline processor)
        )
