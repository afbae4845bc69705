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
    """The current content of an email template (it equals its latest version).

    A block template keeps its source in `document` (messaging/blocks, docs/messaging.md) and
    its `html`/`text` are generated from it; a code template has no document.
    """

    name = models.CharField(max_length=120)
    document = models.JSONField(null=True, blank=True)
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
    document = models.JSONField(null=True, blank=True)
    # Dynamic blocks: {block id: filter tree}; a recipient sees a block when they match it.
    block_conditions = models.JSONField(default=dict, blank=True)
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


class MediaAsset(TenantModel):
    """An image uploaded for emails, stored in the workspace's media storage (resized)."""

    file = models.FileField(upload_to="media/%Y/%m/", max_length=300)
    original_name = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=60)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0, help_text="Bytes stored.")
    alt = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class SavedBlock(TenantModel):
    """A block (a footer, a promo) saved to reuse across block templates."""

    name = models.CharField(max_length=120)
    block = models.JSONField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="saved_block_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
