from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"

    def ready(self) -> None:
        # The pipeline step (contacts.hooks.on_events_ingested), registered on import.
        from . import processors  # noqa: F401  (catalogue, purchases, reorder dates)
