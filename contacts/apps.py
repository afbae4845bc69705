from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self) -> None:
        # Celery autodiscovers contacts/tasks.py only; the import task lives next to it.
        from contacts import import_tasks  # noqa: F401
