"""Broadcasts: list, create/edit a draft, send or schedule, progress (polled by htmx), A/B
results, send-time optimisation report, cancel."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from workspaces.errors import TendrilError, ValidationFailed
from workspaces.forms import form_errors_from
from workspaces.htmx import HtmxHttpRequest
from workspaces.scoping import scoped, workspace_view

from .. import segments_bridge
from ..forms import BroadcastForm, BroadcastSendForm
from ..models import Broadcast, MessageStatus
from ..selectors import AudienceSize, audience_size, broadcast_topic_id, sending_hold_for
from ..services import sto
from ..services.broadcasts import (
    BroadcastInput,
    VariantInput,
    broadcast_cancel,
    broadcast_save,
    broadcast_send,
    broadcast_status,
)
from .common import EDIT, block_editor_boot, page


@workspace_view
def broadcast_list(request: HttpRequest) -> HttpResponse:
    broadcasts = (
        scoped(request, Broadcast)
        .select_related("email_template", "sms_template")
        .order_by("-created_at")[:100]
    )
    names = dict(segments_bridge.segment_choices(workspace=request.workspace))  # type: ignore[attr-defined]
    rows = list(broadcasts)
    for broadcast in rows:
        broadcast.segment_name = names.get(broadcast.segment_id, f"#{broadcast.segment_id}")  # type: ignore[attr-defined]
    return page(request, "messaging/broadcast_list.html", {"broadcasts": rows}, tab="broadcasts")


def _zone(request: HttpRequest) -> ZoneInfo:
    try:
        return ZoneInfo(request.workspace.timezone or "UTC")  # type: ignore[attr-defined]
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _input(request: HttpRequest, form: BroadcastForm) -> BroadcastInput:
    data = form.cleaned_data
    scheduled = data.get("scheduled_at")
    if scheduled is not None:  # the form's wall time is the workspace's
        scheduled = scheduled.replace(tzinfo=None).replace(tzinfo=_zone(request))
    variants = []
    if data.get("ab_enabled"):
        variants = [
            VariantInput("A", subject=data.get("variant_a_subject") or ""),
            VariantInput(
                "B",
                subject=data.get("variant_b_subject") or "",
                email_template=data.get("variant_b_template"),
            ),
        ]
    return BroadcastInput(
        name=data["name"],
        channel=data["channel"],
        segment_id=data.get("segment"),
        email_template=data.get("email_template"),
        sms_template=data.get("sms_template"),
        topic=data.get("topic"),
        scheduled_at=scheduled,
        local_time=bool(data.get("local_time")),
        utm_campaign=data.get("utm_campaign") or "",
        sto_enabled=bool(data.get("sto_enabled")),
        ab_enabled=bool(data.get("ab_enabled")),
        ab_sample_percent=data.get("ab_sample_percent") or 20,
        ab_wait_minutes=data.get("ab_wait_minutes") or 0,
        ab_metric=data.get("ab_metric") or "open",
        ab_min_recipients=data.get("ab_min_recipients") or 100,
        ab_mode=data.get("ab_mode") or "fixed",
        ab_waves=data.get("ab_waves") or 4,
        ab_floor_percent=10 if data.get("ab_floor_percent") is None else data["ab_floor_percent"],
        exclude_segment_ids=list(data.get("exclude_segments") or []),
        variants=variants,
    )


def _initial(request: HttpRequest, broadcast: Broadcast | None) -> dict[str, object]:
    if broadcast is None:
        return {
            "channel": "email",
            "ab_sample_percent": 20,
            "ab_wait_minutes": 240,
            "ab_min_recipients": 100,
            "ab_mode": "fixed",
            "ab_waves": 4,
            "ab_floor_percent": 10,
        }
    initial: dict[str, object] = {
        name: getattr(broadcast, name)
        for name in (
            "name",
            "channel",
            "local_time",
            "sto_enabled",
            "utm_campaign",
            "ab_enabled",
            "ab_sample_percent",
            "ab_wait_minutes",
            "ab_metric",
            "ab_min_recipients",
            "ab_mode",
            "ab_waves",
            "ab_floor_percent",
        )
    }
    initial.update(
        segment=broadcast.segment_id,
        exclude_segments=list(broadcast.exclude_segment_ids),
        email_template=broadcast.email_template_id,
        sms_template=broadcast.sms_template_id,
        topic=broadcast.topic_id,
    )
    if broadcast.scheduled_at:
        initial["scheduled_at"] = broadcast.scheduled_at.astimezone(_zone(request)).replace(
            tzinfo=None
        )
    for variant in broadcast.variants.all():
        key = variant.label.lower()
        initial[f"variant_{key}_subject"] = variant.subject
        if key == "b":
            initial["variant_b_template"] = variant.email_template_id
    return initial


@workspace_view(write=EDIT)
def broadcast_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    broadcast = get_object_or_404(scoped(request, Broadcast), pk=pk) if pk else None
    if broadcast is not None and broadcast.status != Broadcast.Status.DRAFT:
        return redirect("messaging:broadcast_detail", pk=broadcast.pk)
    workspace = request.workspace  # type: ignore[attr-defined]
    form = BroadcastForm(
        request.POST or None, workspace=workspace, initial=_initial(request, broadcast)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = broadcast_save(
                    workspace=workspace,
                    broadcast=broadcast,
                    data=_input(request, form),
                    user=request.user,  # type: ignore[arg-type]
                )
            except TendrilError as error:
                form_errors_from(form, error)
            else:
                messages.success(request, f"Saved “{saved.name}”. Review it and send.")
                return redirect("messaging:broadcast_detail", pk=saved.pk)
        status = 400
    return page(
        request,
        "messaging/broadcast_edit.html",
        {
            "broadcast": broadcast,
            "form": form,
            "zone": _zone(request),
            "email_boot": block_editor_boot(request),
        },
        tab="broadcasts",
        status=status,
    )


def _audience(
    request: HttpRequest,
    *,
    segment_id: int,
    exclude: list[int],
    channel: str,
    topic: object,
    template: object,
) -> AudienceSize:
    workspace = request.workspace  # type: ignore[attr-defined]
    return audience_size(
        workspace=workspace,
        segment_id=segment_id,
        exclude_segment_ids=exclude,
        channel=channel,
        topic_id=broadcast_topic_id(workspace=workspace, topic=topic, template=template),  # type: ignore[arg-type]
    )


def _broadcast_audience(request: HttpRequest, broadcast: Broadcast) -> AudienceSize | None:
    try:
        return _audience(
            request,
            segment_id=broadcast.segment_id,
            exclude=list(broadcast.exclude_segment_ids),
            channel=broadcast.channel,
            topic=broadcast.topic,
            template=broadcast.email_template or broadcast.sms_template,
        )
    except ValidationFailed:  # its segment was deleted since
        return None


@workspace_view
def broadcast_audience(request: HttpRequest) -> HttpResponse:
    """The edit form's live count (htmx): who the chosen segment, exclusions, channel and
    topic would reach if sent now — the selectors the send itself uses."""
    workspace = request.workspace  # type: ignore[attr-defined]
    form = BroadcastForm(request.GET, workspace=workspace)
    form.is_valid()  # only the fields the count needs are read; the rest may be unfinished
    data = form.cleaned_data
    known = {pk for pk, _ in form.fields["exclude_segments"].choices}
    asked = [request.GET.get("segment", ""), *request.GET.getlist("exclude_segments")]
    if any(value.isdigit() and int(value) not in known for value in asked):
        raise Http404("No such segment.")  # another workspace's segment is not counted
    audience = None
    if data.get("segment") is not None and "exclude_segments" in data:
        channel = data.get("channel") or "email"
        template = data.get("email_template") if channel == "email" else data.get("sms_template")
        audience = _audience(
            request,
            segment_id=data["segment"],
            exclude=list(data["exclude_segments"]),
            channel=channel,
            topic=data.get("topic"),
            template=template,
        )
    return page(
        request,
        "messaging/broadcast_edit.html#audience",
        {"audience": audience},
        tab="broadcasts",
    )


@workspace_view
def broadcast_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(
        scoped(request, Broadcast).select_related(
            "email_template", "sms_template", "topic", "ab_winner"
        ),
        pk=pk,
    )
    names = dict(segments_bridge.segment_choices(workspace=request.workspace))  # type: ignore[attr-defined]
    progress = broadcast_status(broadcast=broadcast)
    counts = progress["counts"]
    context = {
        "broadcast": broadcast,
        "progress": progress,
        "audience": _broadcast_audience(request, broadcast)
        if broadcast.status == Broadcast.Status.DRAFT and not request.htmx
        else None,
        "pending": counts.get(MessageStatus.QUEUED, 0) + counts.get(MessageStatus.SCHEDULED, 0),
        "exclusions": [names.get(pk, f"#{pk} (deleted)") for pk in broadcast.exclude_segment_ids],
        "segment_name": names.get(broadcast.segment_id, f"#{broadcast.segment_id}"),
        "sto_report": sto.sto_report(workspace=request.workspace, broadcast=broadcast)  # type: ignore[attr-defined]
        if broadcast.sto_enabled
        else None,
        "now": timezone.now(),
        "hold": sending_hold_for(
            workspace=request.workspace,  # type: ignore[attr-defined]
            source_type="broadcast",
            owner=broadcast.pk,
        )
        if not request.htmx
        else None,
    }
    template = "messaging/broadcast_detail.html"
    if request.htmx:
        template += "#progress"
    return page(request, template, context, tab="broadcasts")


@workspace_view(write=EDIT)
@require_POST
def broadcast_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(scoped(request, Broadcast), pk=pk)
    audience = _broadcast_audience(request, broadcast)
    form = BroadcastSendForm(
        request.POST, audience=audience.recipients if audience is not None else None
    )
    if not form.is_valid():
        # The confirmation is the Send button's hidden field: its error goes above the page,
        # which shows the audience as it is now.
        messages.error(request, " ".join(form.errors["recipients"]))
        return redirect("messaging:broadcast_detail", pk=broadcast.pk)
    try:
        sent = broadcast_send(workspace=request.workspace, broadcast=broadcast)  # type: ignore[attr-defined]
    except TendrilError as error:
        messages.error(request, error.message)
    else:
        if sent.status == Broadcast.Status.SCHEDULED:
            messages.success(request, "Scheduled.")
        else:
            messages.success(request, "Sending started.")
    return redirect("messaging:broadcast_detail", pk=broadcast.pk)


@workspace_view(write=EDIT)
@require_POST
def broadcast_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(scoped(request, Broadcast), pk=pk)
    try:
        broadcast_cancel(workspace=request.workspace, broadcast=broadcast)  # type: ignore[attr-defined]
    except TendrilError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Cancelled: messages not yet sent will not go out.")
    return redirect("messaging:broadcast_detail", pk=broadcast.pk)


@workspace_view
def sto_report_view(request: HttpRequest) -> HttpResponse:
    report = sto.sto_report(workspace=request.workspace)  # type: ignore[attr-defined]
    return page(request, "messaging/sto_report.html", {"report": report}, tab="broadcasts")
