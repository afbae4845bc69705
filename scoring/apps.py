from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Lead scoring"

    def ready(self) -> None:
        from . import processors  # noqa: F401  (registers the pipeline processor)
