"""Message templates. Editing a template saves an immutable version; messages point at one.

A version stores the author's sources and what the renderer needs: the HTML with the
layout applied and its CSS inlined once (still a Jinja template), and the text part.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from workspaces.models import TenantModel, User


class ImmutableError(RuntimeError):
    pass


class Layout(TenantModel):
    """A shared HTML wrapper: `{{ content }}` marks where a template goes; its footer must carry
    the workspace's postal address and the unsubscribe link."""

    name = models.CharField(max_length=120)
    html = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "name"])]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EmailFields(TenantModel):
    """What an author writes: shared by a template and each of its versions."""

    subject = models.CharField(max_length=300)
    preheader = models.CharField(max_length=300, blank=True, default="")
    html = models.TextField()
    text = models.TextField(blank=True, default="", help_text="Generated from the HTML if empty.")
    from_name = models.CharField(max_length=120, blank=True, default="")
    from_email = models.EmailField(blank=True, default="")
    reply_to = models.EmailField(blank=True, default="")

    class Meta:
        abstract = True


class Immutable(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise ImmutableError("Template versions are immutable; save a new version instead.")
        super().save(*args, **kwargs)


class EmailTemplate(EmailFields):
    """The current content of an email template (it equals its latest version)."""

    name = models.CharField(max_length=120)
    layout = models.ForeignKey(
        Layout, null=True, blank=True, on_delete=models.PROTECT, related_name="templates"
    )
    topic = models.ForeignKey(
        "messaging.Topic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_version = models.ForeignKey(
        "messaging.TemplateVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class TemplateVersion(Immutable, EmailFields):
    template = models.ForeignKey(EmailTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    layout = models.ForeignKey(
        Layout, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topic = models.ForeignKey(
        "messaging.Topic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the renderer uses: layout applied, CSS inlined, preheader inserted (Jinja source).
    compiled_html = models.TextField()
    compiled_text = models.TextField()
    segment_ids = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "template", "number"], name="template_version_unique_number"
            )
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.template_id} v{self.number}"


class SmsTemplate(TenantModel):
    name = models.CharField(max_length=120)
    body = models.TextField()
    topic = models.ForeignKey(
        "messaging.Topic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_version = models.ForeignKey(
        "messaging.SmsTemplateVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class SmsTemplateVersion(Immutable, TenantModel):
    template = models.ForeignKey(SmsTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    topic = models.ForeignKey(
        "messaging.Topic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment_ids = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "template", "number"], name="sms_version_unique_number"
            )
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.template_id} v{self.number}"
