from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        # Pipeline processors (contacts.hooks.on_events_ingested) and hook registrations,
        # registered on import.
        from . import attribution  # noqa: F401, I001  (credits conversions to message touches)
        from . import processors  # noqa: F401  (rollups mark the hours the batch touches)
        from . import hooks  # noqa: F401  (event counts for the workflow builder)
