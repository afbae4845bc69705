from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Segments"

    def ready(self) -> None:
        # Registers the `segments` processor of the events_ingested pipeline.
        from . import realtime  # noqa: F401
