from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "workspaces.outbound"
    label = "outbound"
    verbose_name = "Outbound webhooks"
    default_auto_field = "django.db.models.BigAutoField"
