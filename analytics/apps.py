from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        # Pipeline processors (contacts.hooks.on_events_ingested), registered on import.
        from . import attribution  # noqa: F401, I001  (credits conversions to message touches)
        from . import hooks  # noqa: F401  (rollups mark the hours; event counts for workflows)
