"""Handing leads to sales: assignment, follow-up tasks and notifications.

`lead_assign` and `sales_task_create` are public (workflows call them). They record their
events and enqueue them through the pipeline themselves. Notification emails leave through
a Celery task with retries, after commit; Slack posts are signed webhook deliveries
(workspaces.outbound: logged, retried with backoff, replayable).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, LifecycleStage
from contacts.services import event_record
from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import Membership, User, Workspace
from workspaces.roles import Role

from ..models import (
    AssignmentRule,
    LeadActivity,
    Notification,
    SalesRep,
    SalesTask,
    ScoringSettings,
)
from .stream import stream_publish

OPEN_STAGES = (LifecycleStage.MQL, LifecycleStage.SQL)
NEVER = datetime.min.replace(tzinfo=UTC)


def scoring_settings(*, workspace: Workspace) -> ScoringSettings:
    found, _ = ScoringSettings.objects.get_or_create(workspace=workspace)
    return found


def lead_url(contact_id: int) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL}{reverse('scoring:lead', args=[contact_id])}"


# --- assignment ----------------------------------------------------------------------------


def _members(workspace: Workspace, user_ids: list[int]) -> list[int]:
    return list(
        Membership.objects.for_workspace(workspace)
        .filter(user_id__in=user_ids)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def _pick_rep(workspace: Workspace, user_ids: list[int], now: datetime) -> User | None:
    """Round-robin with capacity: of the available reps under their open-lead limit, the
    one assigned longest ago. Rep rows are locked, so two handoffs never pick past a limit."""
    ids = _members(workspace, user_ids)
    if not ids:
        return None
    SalesRep.objects.bulk_create(
        [SalesRep(workspace=workspace, user_id=uid) for uid in ids], ignore_conflicts=True
    )
    reps = list(
        SalesRep.objects.for_workspace(workspace)
        .select_for_update()
        .filter(user_id__in=ids)
        .order_by("pk")
    )
    load = dict(
        Contact.objects.for_workspace(workspace)
        .filter(owner_id__in=ids, lifecycle_stage__in=OPEN_STAGES)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )
    eligible = [
        rep
        for rep in reps
        if rep.is_available
        and (rep.max_open_leads is None or load.get(rep.user_id, 0) < rep.max_open_leads)
    ]
    if not eligible:
        return None
    chosen = min(eligible, key=lambda rep: (rep.last_assigned_at or NEVER, rep.user_id))
    chosen.last_assigned_at = now
    chosen.save(update_fields=["last_assigned_at", "updated_at"])
    return User.objects.get(pk=chosen.user_id)


def _route(
    workspace: Workspace, contact: Contact, rule: AssignmentRule | None, now: datetime
) -> User | None:
    from segments.filters import evaluate_filter

    rules = (
        [rule]
        if rule is not None
        else list(
            AssignmentRule.objects.for_workspace(workspace)
            .filter(is_active=True)
            .prefetch_related("reps")
        )
    )
    for candidate in rules:
        if candidate.filter and not evaluate_filter(
            workspace=workspace, tree=candidate.filter, contact=contact
        ):
            continue
        chosen = _pick_rep(workspace, [u.pk for u in candidate.reps.all()], now)
        if chosen is not None:
            return chosen
    if rule is not None:
        return None
    sales = list(
        Membership.objects.for_workspace(workspace)
        .filter(role=Role.SALES)
        .values_list("user_id", flat=True)
    )
    return _pick_rep(workspace, sales, now)


@transaction.atomic
def lead_assign(
    *,
    workspace: Workspace,
    contact: Contact,
    owner: User | None = None,
    rule: AssignmentRule | None = None,
    actor: User | None = None,
    notify: bool = True,
) -> User | None:
    """Give the lead an owner: `owner` if given (must be a member), else by `rule` or, with
    neither, by the workspace's assignment rules in order, falling back to round-robin among
    sales members. Returns the owner, or None when nobody has capacity. Records
    `lead.assigned` and enqueues it; notifies the new owner (in-app and email)."""
    if contact.workspace_id != workspace.pk:
        raise NotFound("No such contact.")
    if rule is not None and rule.workspace_id != workspace.pk:
        raise NotFound("No such assignment rule.")
    now = timezone.now()
    if owner is not None:
        if not _members(workspace, [owner.pk]):
            raise ValidationFailed(
                f"{owner.email} is not a member of this workspace.",
                fields={"owner": "not a member"},
            )
        SalesRep.objects.for_workspace(workspace).filter(user=owner).update(last_assigned_at=now)
    else:
        owner = _route(workspace, contact, rule, now)
        if owner is None:
            return None
    if contact.owner_id == owner.pk:
        return owner
    Contact.objects.for_workspace(workspace).filter(pk=contact.pk).update(
        owner=owner, updated_at=now
    )
    contact.owner = owner
    LeadActivity.objects.create(
        workspace=workspace,
        contact=contact,
        kind=LeadActivity.Kind.ASSIGNED,
        body=f"Assigned to {owner}" + (f" by {actor}" if actor else ""),
        actor=actor,
    )
    event = event_record(
        workspace=workspace,
        contact=contact,
        name="lead.assigned",
        properties={
            "owner_id": owner.pk,
            "owner": owner.email,
            "rule_id": rule.pk if rule else None,
        },
    )
    stream_publish(workspace=workspace, events=[event], changed={contact.pk: {"owner"}})
    if notify and owner != actor:
        notification_create(
            workspace=workspace,
            user=owner,
            kind="lead.assigned",
            title=f"New lead for you: {contact.display_name}",
            body=f"Score {contact.score}. {lead_context_text(workspace=workspace, contact=contact)}",
            contact=contact,
        )
    return owner


# --- tasks and notifications -----------------------------------------------------------------


@transaction.atomic
def sales_task_create(
    *,
    workspace: Workspace,
    contact: Contact,
    title: str,
    due_at: datetime | None = None,
    assignee: User | None = None,
    notify: bool = True,
    created_by: User | None = None,
) -> SalesTask:
    """A follow-up task on a lead, for `assignee` (default: the lead's owner, else whoever
    creates it, so a task never sits in nobody's "My tasks"). Due in the
    workspace's default hours when `due_at` is not given. Notifies the assignee unless told
    not to. Records no event."""
    if contact.workspace_id != workspace.pk:
        raise NotFound("No such contact.")
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("A task needs a title.", fields={"title": "required"})
    if len(title) > 200:
        raise ValidationFailed("Keep the title under 200 characters.", fields={"title": "too long"})
    assignee = assignee or contact.owner or created_by
    if assignee is not None and not _members(workspace, [assignee.pk]):
        raise ValidationFailed(
            f"{assignee.email} is not a member of this workspace.",
            fields={"assignee": "not a member"},
        )
    if due_at is None:
        due_at = timezone.now() + timedelta(
            hours=scoring_settings(workspace=workspace).task_due_hours
        )
    task = SalesTask.objects.create(
        workspace=workspace,
        contact=contact,
        title=title,
        assignee=assignee,
        due_at=due_at,
        created_by=created_by,
    )
    if notify and assignee is not None and assignee != created_by:
        notification_create(
            workspace=workspace,
            user=assignee,
            kind="task.assigned",
            title=f"Task: {title}",
            body=f"On {contact.display_name}, due {timezone.localtime(due_at):%Y-%m-%d %H:%M}.",
            contact=contact,
        )
    return task


def sales_task_complete(*, workspace: Workspace, task: SalesTask) -> SalesTask:
    if task.workspace_id != workspace.pk:
        raise NotFound("No such task.")
    if task.completed_at is None:
        task.completed_at = timezone.now()
        task.save(update_fields=["completed_at", "updated_at"])
    return task


def notification_create(
    *,
    workspace: Workspace,
    user: User,
    kind: str,
    title: str,
    body: str = "",
    contact: Contact | None = None,
    url: str = "",
) -> Notification:
    """An in-app notification; also emailed (after commit) if the workspace wants that.
    `url`: where it leads (a contact's lead page by default)."""
    from ..tasks import notification_email_send

    notification = Notification.objects.create(
        workspace=workspace,
        user=user,
        kind=kind,
        title=title[:200],
        body=body,
        contact=contact,
        url=url or (reverse("scoring:lead", args=[contact.pk]) if contact else ""),
    )
    if scoring_settings(workspace=workspace).email_notifications and user.email:
        transaction.on_commit(lambda: notification_email_send.delay(workspace.pk, notification.pk))
    return notification


def notifications_mark_read(
    *, workspace: Workspace, user: User, ids: list[int] | None = None
) -> int:
    unread = Notification.objects.for_workspace(workspace).filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


# --- the handoff ------------------------------------------------------------------------------


def lead_context_text(*, workspace: Workspace, contact: Contact) -> str:
    from ..selectors import lead_context

    facts = lead_context(workspace=workspace, contact=contact)
    if not facts:
        return "No recent activity."
    text = ", ".join(facts) + "."
    return text[:1].upper() + text[1:]


@transaction.atomic
def lead_handoff(*, workspace: Workspace, contact_id: int) -> SalesTask | None:
    """A contact just became an MQL: give it an owner (if it has none), a follow-up task,
    and tell the owner — in the app, by email — and the team's Slack channel."""
    contact = (
        Contact.objects.for_workspace(workspace)
        .select_related("owner")
        .filter(pk=contact_id)
        .first()
    )
    if contact is None or contact.lifecycle_stage != LifecycleStage.MQL:
        return None  # gone, or already moved on (accepted, disqualified …)
    owner = contact.owner or lead_assign(workspace=workspace, contact=contact, notify=False)
    context = lead_context_text(workspace=workspace, contact=contact)
    task = None
    if owner is not None:
        task = sales_task_create(
            workspace=workspace,
            contact=contact,
            title=f"Follow up with {contact.display_name} (new MQL)",
            assignee=owner,
            notify=False,
        )
        notification_create(
            workspace=workspace,
            user=owner,
            kind="lead.mql",
            title=f"New MQL for you: {contact.display_name} (score {contact.score})",
            body=f"{context} Follow up by {timezone.localtime(task.due_at):%Y-%m-%d %H:%M}.",
            contact=contact,
        )
    settings = scoring_settings(workspace=workspace)
    if settings.slack_webhook_url:
        company = f" ({contact.company})" if contact.company else ""
        text = (
            f"New MQL: *{contact.display_name}*{company} — score {contact.score}. {context} "
            f"Owner: {owner or 'unassigned'}. <{lead_url(contact.pk)}|Open the lead>"
        )
        slack_post(workspace=workspace, url=settings.slack_webhook_url, text=text)
    return task


def slack_post(*, workspace: Workspace, url: str, text: str) -> None:
    """Queue a post to the workspace's Slack-compatible incoming webhook (after commit)."""
    from workspaces.outbound import services as outbound

    endpoint = outbound.endpoint_ensure(
        workspace=workspace, source="scoring.slack", kind="slack", name="Slack (new MQLs)", url=url
    )
    outbound.delivery_enqueue(
        workspace=workspace, endpoint=endpoint, event_type="lead.mql", payload={"text": text}
    )
