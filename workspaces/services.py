"""Writes for tenancy: workspaces, members, invitations, API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from .errors import Conflict, NotFound, ValidationFailed
from .models import (
    ApiKey,
    AuditLogEntry,
    IdempotencyKey,
    Invitation,
    Membership,
    User,
    Workspace,
)
from .roles import Role
from .scoping import dangerously_all_workspaces, workspace_scope


@dataclass(frozen=True)
class IssuedKey:
    """A key as created: `raw` is shown once and never stored."""

    key: ApiKey
    raw: str


@dataclass(frozen=True)
class CreatedWorkspace:
    workspace: Workspace
    owner: User
    write_key: IssuedKey
    secret_key: IssuedKey


def audit_record(
    *, workspace: Workspace, actor: User | None, action: str, target: str = "", **data: Any
) -> None:
    AuditLogEntry.objects.create(
        workspace=workspace, actor=actor, action=action, target=target, data=data
    )


WORKSPACE_SETTINGS = ("name", "timezone", "api_rate_limit", "currency", "control_group_percent")


def workspace_settings_update(
    *, workspace: Workspace, actor: User | None, **changes: Any
) -> Workspace:
    """Settings → Workspace and `PATCH /api/v1/workspace/`: name, time zone, API rate limit,
    currency, global control group (values already validated by WorkspaceSettingsForm)."""
    from .api.authentication import api_key_forget
    from .selectors import api_key_list

    unknown = set(changes) - set(WORKSPACE_SETTINGS)
    if unknown:
        raise ValueError(f"not a workspace setting: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(workspace, field, value)
    workspace.save(update_fields=[*changes, "updated_at"])
    for key in api_key_list(workspace=workspace):
        api_key_forget(key.key_hash)  # cached keys carry the workspace: new values at once
    audit_record(
        workspace=workspace, actor=actor, action="workspace.updated", fields=sorted(changes)
    )
    return workspace


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug = base
    while Workspace.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner: User, timezone_name: str = "UTC") -> CreatedWorkspace:
    name = name.strip()
    if not name:
        raise ValidationFailed(
            "A workspace needs a name.", fields={"name": ["This field is required."]}
        )
    workspace = Workspace.objects.create(name=name, slug=_unique_slug(name), timezone=timezone_name)
    with workspace_scope(workspace):  # its first rows: the caller has no scope of it yet
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
        write_key = api_key_create(
            workspace=workspace, name="Default write key", kind=ApiKey.Kind.WRITE, actor=owner
        )
        secret_key = api_key_create(
            workspace=workspace, name="Default secret key", kind=ApiKey.Kind.SECRET, actor=owner
        )
        audit_record(workspace=workspace, actor=owner, action="workspace.created", target=name)
    return CreatedWorkspace(
        workspace=workspace, owner=owner, write_key=write_key, secret_key=secret_key
    )


def user_get_or_create(
    *, email: str, password: str | None = None, name: str = ""
) -> tuple[User, bool]:
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email=email).first()
    if user is not None:
        return user, False
    first, _, last = name.partition(" ")
    user = User.objects.create_user(
        email=email, password=password, first_name=first, last_name=last
    )
    return user, True


@transaction.atomic
def api_key_create(
    *,
    workspace: Workspace,
    name: str,
    kind: str,
    actor: User | None,
    can_manage_workspace: bool = False,
) -> IssuedKey:
    if kind not in ApiKey.Kind.values:
        raise ValidationFailed(
            f"Unknown key kind '{kind}'; use 'write' or 'secret'.",
            fields={"kind": ["Invalid choice."]},
        )
    if can_manage_workspace and kind != ApiKey.Kind.SECRET:
        raise ValidationFailed(
            "Only a secret key can manage the workspace; a write key is public.",
            fields={"can_manage_workspace": ["Only for secret keys."]},
        )
    name = name.strip() or ("Write key" if kind == ApiKey.Kind.WRITE else "Secret key")
    raw = ApiKey.PREFIXES[kind] + ApiKey.generate()
    key = ApiKey.objects.create(
        workspace=workspace,
        name=name[:100],
        kind=kind,
        prefix=raw[: ApiKey.VISIBLE_CHARS],
        key_hash=ApiKey.hash(raw),
        created_by=actor,
        can_manage_workspace=can_manage_workspace,
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="api_key.created",
        target=key.prefix,
        kind=kind,
        can_manage_workspace=can_manage_workspace,
    )
    return IssuedKey(key=key, raw=raw)


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: User | None) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            workspace=key.workspace, actor=actor, action="api_key.revoked", target=key.prefix
        )
    return key


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by: User | None
) -> tuple[Invitation, str]:
    """Create an invitation and email its link. Returns the invitation and the link.
    `invited_by` None: an API key whose creator is gone invites in the workspace's name."""
    email = User.objects.normalize_email(email).strip().lower()
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role '{role}'.", fields={"role": ["Invalid choice."]})
    if Membership.objects.for_workspace(workspace).filter(user__email=email).exists():
        raise Conflict(f"{email} is already a member.", fields={"email": ["Already a member."]})
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=settings.TENDRIL_INVITATION_DAYS),
    )
    link = settings.SITE_URL + reverse("invitation_accept", args=[token])
    context = {
        "workspace": workspace,
        "invited_by": invited_by,
        "link": link,
        "role": invitation.get_role_display(),
    }
    transaction.on_commit(
        lambda: send_mail(
            subject=f"{invited_by or 'Your team'} invited you to {workspace.name} on Tendril",
            message=render_to_string("workspaces/email/invitation.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    )
    audit_record(
        workspace=workspace, actor=invited_by, action="invitation.created", target=email, role=role
    )
    return invitation, link


def invitation_get_open(*, token: str) -> Invitation:
    # The token is the credential, and it is what names the workspace.
    with dangerously_all_workspaces(reason="find the invitation an emailed token names"):
        invitation = (
            Invitation.objects.select_related("workspace", "invited_by")
            .filter(token_hash=_token_hash(token))
            .first()
        )
    if invitation is None or not invitation.is_open:
        raise NotFound("This invitation link is invalid, used or expired.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = invitation_get_open(token=token)
    with workspace_scope(invitation.workspace):
        return _invitation_accept(invitation, user)


def _invitation_accept(invitation: Invitation, user: User) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise NotFound("This invitation link has already been used.")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                workspace=invitation.workspace, user=user, role=invitation.role
            )
    except IntegrityError:
        membership = Membership.objects.get(workspace=invitation.workspace, user=user)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    user.last_workspace = invitation.workspace
    user.save(update_fields=["last_workspace"])
    audit_record(
        workspace=invitation.workspace, actor=user, action="invitation.accepted", target=user.email
    )
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User | None) -> None:
    audit_record(
        workspace=invitation.workspace,
        actor=actor,
        action="invitation.revoked",
        target=invitation.email,
    )
    invitation.delete()


def idempotency_keys_expire() -> int:
    """Delete API Idempotency-Keys past their 24 hours (beat; the caller spans workspaces)."""
    from .api.idempotency import TTL

    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - TTL).delete()
    return deleted


def invitations_expire() -> int:
    deleted, _ = Invitation.objects.filter(
        accepted_at__isnull=True, expires_at__lt=timezone.now()
    ).delete()
    return deleted


def _owners_left(workspace: Workspace, excluding: Membership) -> int:
    return (
        Membership.objects.for_workspace(workspace)
        .filter(role=Role.OWNER)
        .exclude(pk=excluding.pk)
        .count()
    )


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str, actor: User | None) -> Membership:
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role '{role}'.", fields={"role": ["Invalid choice."]})
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if (
        membership.role == Role.OWNER
        and role != Role.OWNER
        and not _owners_left(membership.workspace, membership)
    ):
        raise ValidationFailed(
            "A workspace needs at least one owner; make someone else owner first.",
            fields={"role": ["The last owner cannot be demoted."]},
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(
        workspace=membership.workspace,
        actor=actor,
        action="membership.role_changed",
        target=membership.user.email,
        old=old,
        new=role,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User | None) -> None:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user", "workspace")
        .get(pk=membership.pk)
    )
    if membership.role == Role.OWNER and not _owners_left(membership.workspace, membership):
        raise ValidationFailed(
            "The last owner cannot leave or be removed.", fields={"member": ["Last owner."]}
        )
    audit_record(
        workspace=membership.workspace,
        actor=actor,
        action="membership.removed",
        target=membership.user.email,
    )
    membership.delete()


def workspace_switch(*, user: User, workspace_id: int) -> Workspace:
    with dangerously_all_workspaces(reason="a user's memberships span workspaces"):
        membership = (
            Membership.objects.select_related("workspace")
            .filter(user=user, workspace_id=workspace_id)
            .first()
        )
    if membership is None:
        raise NotFound("No such workspace.")
    user.last_workspace = membership.workspace
    user.save(update_fields=["last_workspace"])
    return membership.workspace
