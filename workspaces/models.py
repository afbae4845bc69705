"""Tenancy: workspaces, the people in them, their API keys, invitations and the audit log.

Every tenant-owned table in Tendril inherits `TenantModel`: a non-null workspace foreign
key and timestamps. Indexes lead with the workspace and unique constraints include it,
so the schema can be distributed on `workspace_id` (Citus) without reshaping.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils import timezone

from . import scope_state
from .roles import Capability, Role, role_can


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who logs in. Identified by email; belongs to workspaces through Membership."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    last_workspace = models.ForeignKey(
        "Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects = UserManager()  # type: ignore[misc,assignment]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class Workspace(models.Model):
    """A tenant. Everything a customer owns hangs off one of these."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # ISO 4217 code revenue is shown in (analytics, attribution); amounts are stored as sent.
    currency = models.CharField(max_length=3, default="USD")
    # Management API requests per second per secret key; null: settings.API_RATE_LIMIT.
    api_rate_limit = models.PositiveIntegerField(null=True, blank=True)
    # The global control group: this share of contacts (always the same ones, by a hash of the
    # workspace and the contact) receives no marketing, so its lift can be measured (0: off).
    control_group_percent = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet):
    def for_workspace(self, workspace: Workspace | int) -> TenantQuerySet:
        workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        return self.filter(workspace_id=workspace_id)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """The default manager of tenant models: in a Celery task it refuses to build a query
    unless a workspace (or the explicit all-workspaces escape hatch) is in scope.

    Django's own machinery — cascading deletes, `obj.related_fk` lookups — goes through
    `_base_manager` (a plain Manager), so it is not refused; reverse relations
    (`contact.events`) derive from this manager and are.
    """

    def get_queryset(self) -> TenantQuerySet:
        scope_state.require_scope(self.model)
        return super().get_queryset()  # type: ignore[no-any-return]


class TenantModel(models.Model):
    """Abstract base of every tenant-owned model."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()

    class Meta:
        abstract = True


class Membership(TenantModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MARKETER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")
        ]
        indexes = [models.Index(fields=["workspace", "role"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace_id} as {self.role}"

    def can(self, capability: Capability) -> bool:
        return role_can(self.role, capability)


def _hash_key(raw: str) -> str:
    # Keys are 190+ bits of randomness, so a fast hash is enough: there is nothing to
    # brute-force, and ingestion authenticates every request with it.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(TenantModel):
    class Kind(models.TextChoices):
        WRITE = "write", "Write key (ingestion only, safe to embed)"
        SECRET = "secret", "Secret key (full API)"

    PREFIXES: ClassVar[dict[str, str]] = {Kind.WRITE: "tdw_", Kind.SECRET: "tds_"}
    VISIBLE_CHARS = 12

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    prefix = models.CharField(max_length=16, help_text="The first characters, shown in lists.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # An admin key: a secret key that may also manage members, invitations and the
    # workspace's integration settings (what owners and admins do in the UI).
    can_manage_workspace = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["workspace", "kind", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def generate(cls) -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def hash(raw: str) -> str:
        return _hash_key(raw)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Invitation(TenantModel):
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MARKETER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "email"])]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class AuditLogEntry(TenantModel):
    """Who changed what in a workspace's settings (members, keys, invitations …)."""

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"


class IdempotencyKey(TenantModel):
    """A management-API POST sent with an `Idempotency-Key` header, and what it answered.

    `status_code` is null while the first request is in flight (workspaces.api.idempotency).
    Kept 24 hours from `created_at`; older rows are ignored and deleted by beat.
    """

    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    response_body = models.BinaryField(default=b"")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_key_unique")
        ]
        indexes = [
            # The expiry sweep deletes by age across workspaces; rows arrive in time order.
            BrinIndex(fields=["created_at"], name="idempotency_created_brin")
        ]

    def __str__(self) -> str:
        return f"Idempotency-Key {self.key}"
