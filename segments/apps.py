from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Segments"

    def ready(self) -> None:
        # Registers the `segments` processor of the events_ingested pipeline.
        from . import (
            home,  # noqa: F401  (its part of the home page)
            processors,  # noqa: F401  (registers the pipeline processor)
        )
