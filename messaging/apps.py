from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        from contacts.hooks import on_consent_changed, on_email_consent_requested

        from . import esp, home  # noqa: F401  (home: its part of the home page)
        from .services.audience import consent_log_record, form_consent_request

        esp.connect()
        # Every consent change of a contact, whoever made it, lands in the consent log.
        on_consent_changed(name="messaging.consent_log")(consent_log_record)
        # A form's consent box: messaging subscribes, or sends the double opt-in link.
        on_email_consent_requested(name="messaging")(form_consent_request)
