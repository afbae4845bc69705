"""Per-workspace sending settings: sender identity, postal address, quiet hours, caps, pause."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from workspaces.models import TenantModel


class MessagingSettings(TenantModel):
    physical_address = models.TextField(
        blank=True,
        default="",
        help_text="Postal address shown in every email footer (CAN-SPAM, GDPR).",
    )
    from_name = models.CharField(max_length=120, blank=True, default="")
    from_email = models.EmailField(blank=True, default="")
    reply_to = models.EmailField(blank=True, default="")
    # When on, email goes only to contacts who opted in; otherwise to anyone not unsubscribed.
    email_requires_opt_in = models.BooleanField(default=False)

    quiet_hours_start = models.TimeField(default=dt.time(21, 0))
    quiet_hours_end = models.TimeField(default=dt.time(8, 0))
    quiet_hours_email = models.BooleanField(default=False)
    quiet_hours_sms = models.BooleanField(default=True)

    frequency_cap_count = models.PositiveIntegerField(
        default=0, help_text="At most this many messages per contact … (0 = no cap)"
    )
    frequency_cap_days = models.PositiveIntegerField(default=7, help_text="… in this many days.")

    utm_enabled = models.BooleanField(default=False)
    utm_source = models.CharField(max_length=60, blank=True, default="tendril")
    utm_medium = models.CharField(max_length=60, blank=True, default="email")

    sms_from = models.CharField(max_length=32, blank=True, default="")
    whatsapp_from = models.CharField(max_length=32, blank=True, default="")

    # The secret in this workspace's own ESP webhook addresses (/m/esp/w/<id>/<secret>/…):
    # empty until generated in the sending settings; those addresses answer 404 until then.
    esp_webhook_secret = models.CharField(max_length=64, blank=True, default="")

    # Brand, set once per workspace and used by every block template (docs/messaging.md).
    brand_logo = models.ForeignKey(
        "messaging.MediaAsset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    brand_primary_color = models.CharField(max_length=7, default="#2563eb")
    brand_text_color = models.CharField(max_length=7, default="#1f2937")
    brand_background_color = models.CharField(max_length=7, default="#f3f4f6")
    brand_content_color = models.CharField(max_length=7, default="#ffffff")
    brand_font = models.CharField(max_length=40, default="helvetica")

    sending_paused = models.BooleanField(default=False)
    paused_reason = models.CharField(max_length=300, blank=True, default="")
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="messaging_settings_one_per_ws")
        ]

    def __str__(self) -> str:
        return f"Messaging settings of workspace {self.workspace_id}"

    @property
    def postal_address(self) -> str:
        return self.physical_address or settings.MESSAGING_DEFAULT_PHYSICAL_ADDRESS

    @property
    def sender_email(self) -> str:
        return self.from_email or _address_of(settings.DEFAULT_FROM_EMAIL)

    @property
    def sender_name(self) -> str:
        return self.from_name or self.workspace.name

    @property
    def sms_sender(self) -> str:
        return self.sms_from or settings.TWILIO_FROM

    @property
    def whatsapp_sender(self) -> str:
        return self.whatsapp_from or settings.TWILIO_WHATSAPP_FROM


def _address_of(value: str) -> str:
    from email.utils import parseaddr

    return parseaddr(value)[1] or value
