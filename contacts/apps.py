from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self) -> None:
        # Celery autodiscovers contacts/tasks.py only; the import task lives next to it.
        from contacts import (
            home,  # noqa: F401  (its part of the home page)
            import_tasks,  # noqa: F401
        )
