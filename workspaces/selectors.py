"""Reads for tenancy."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from .models import ApiKey, AuditLogEntry, Invitation, Membership, User, Workspace
from .scoping import dangerously_all_workspaces

# last_used_at is informational; writing it on every ingestion call would make each
# event a row update. Once a minute per key is plenty.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def api_key_resolve(*, raw: str) -> ApiKey | None:
    """The active key for a raw key string, or None. Touches last_used_at at most once a minute."""
    if not raw or len(raw) > 200:
        return None
    # The key is what tells which workspace the request belongs to.
    with dangerously_all_workspaces(reason="authenticate an API key before its workspace is known"):
        key = (
            ApiKey.objects.select_related("workspace")
            .filter(key_hash=ApiKey.hash(raw), revoked_at__isnull=True)
            .first()
        )
        if key is None:
            return None
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
    return key


def workspace_list_for_user(*, user: User) -> list[Workspace]:
    with dangerously_all_workspaces(reason="a user's memberships span workspaces"):
        return list(
            Workspace.objects.filter(
                id__in=Membership.objects.filter(user=user).values("workspace_id")
            ).order_by("name")
        )


def membership_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.for_workspace(workspace).select_related("user").order_by("created_at")


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.for_workspace(workspace)
        .select_related("created_by")
        .order_by("revoked_at", "-created_at")
    )


def invitation_list_open(*, workspace: Workspace) -> QuerySet[Invitation]:
    return (
        Invitation.objects.for_workspace(workspace)
        .filter(accepted_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def audit_log_recent(*, workspace: Workspace, limit: int = 50) -> QuerySet[AuditLogEntry]:
    return AuditLogEntry.objects.for_workspace(workspace).select_related("actor")[:limit]
