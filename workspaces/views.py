"""HTML pages for people: home, settings, members, invitations, API keys, workspace switching."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import selectors, services, throttling
from .client_ip import client_ip
from .errors import TendrilError
from .forms import (
    AcceptInvitationForm,
    ApiKeyForm,
    EmailAuthenticationForm,
    InvitationForm,
    RoleForm,
    WorkspaceForm,
    WorkspaceSettingsForm,
    form_errors_from,
)
from .hooks import home_items
from .models import ApiKey, Invitation, Membership, User
from .roles import Capability
from .scoping import login_only_view, public_view, scoped, workspace_view

MANAGE = Capability.MANAGE_WORKSPACE


# --- Authentication (Django's views, our templates) ---------------------------------------


class LoginView(auth_views.LoginView):
    """Django's login, refused while the client's address has too many failed sign-ins.

    Two brakes: django-axes locks one email *from one address* after LOGIN_FAILURE_LIMIT
    failures (see `login_locked_out`); this view refuses every sign-in from an address that
    failed AUTH_FAILURE_RATE_LIMIT times on any interface (someone trying many emails).
    """

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        retry_after = throttling.auth_failures_blocked(client_ip(request))
        if retry_after is not None:
            return _login_refused(
                request,
                f"Too many failed sign-ins from your network. Try again in {_wait(retry_after)}.",
                retry_after,
            )
        return super().post(request, *args, **kwargs)


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked email + address: the login page, saying so (429)."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    return _login_refused(
        request,
        "Too many failed sign-ins for this email from your network. "
        f"Try again in {_wait(seconds)}, or reset your password.",
        seconds,
    )


def _login_refused(request: HttpRequest, message: str, retry_after: int) -> HttpResponse:
    typed = EmailAuthenticationForm(request, data=request.POST or None)
    # shown again with the email as typed, but not validated (no "wrong password" under it)
    form = EmailAuthenticationForm(request, initial={"username": typed["username"].data or ""})
    response = render(
        request,
        "registration/login.html",
        {"form": form, "locked_out": message, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _wait(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds >= 60 else f"{seconds} s"


class PasswordResetView(auth_views.PasswordResetView):
    """The emailed link is built on SITE_URL, never on the Host header of the request."""

    def form_valid(self, form: Any) -> HttpResponse:
        site = urlsplit(settings.SITE_URL)
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            html_email_template_name=self.html_email_template_name,
            extra_email_context={"site_url": settings.SITE_URL},
        )
        return redirect(self.get_success_url())


login_view = public_view("the login form")(LoginView.as_view())
logout_view = public_view("logging out")(auth_views.LogoutView.as_view())
password_reset = public_view("password reset by email")(PasswordResetView.as_view())
password_reset_done = public_view("password reset by email")(
    auth_views.PasswordResetDoneView.as_view()
)
password_reset_confirm = public_view("password reset by email: signed token")(
    auth_views.PasswordResetConfirmView.as_view()
)
password_reset_complete = public_view("password reset by email")(
    auth_views.PasswordResetCompleteView.as_view()
)


# --- Home ----------------------------------------------------------------------------------


@workspace_view
def home(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    steps, figures = home_items(workspace=workspace)
    membership = request.membership  # type: ignore[attr-defined]
    context = {
        "workspace": workspace,
        "steps": [(step, membership.can(step.capability)) for step in steps],
        "steps_done": sum(step.done for step in steps),
        "steps_total": len(steps),
        "figures": figures,
    }
    return render(request, "workspaces/home.html", context)


# --- Workspaces ----------------------------------------------------------------------------


@login_only_view
def workspace_create(request: HttpRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = services.workspace_create(
            name=form.cleaned_data["name"],
            owner=request.user,  # type: ignore[arg-type]
            timezone_name=form.cleaned_data["timezone"],
        )
        services.workspace_switch(user=request.user, workspace_id=created.workspace.pk)  # type: ignore[arg-type]
        request.session["workspace_id"] = created.workspace.pk
        messages.success(request, f"Workspace “{created.workspace.name}” created.")
        return redirect("home")
    return render(request, "workspaces/workspace_create.html", {"form": form})


@login_only_view
@require_POST
def workspace_switch(request: HttpRequest, workspace_id: int) -> HttpResponse:
    try:
        workspace = services.workspace_switch(user=request.user, workspace_id=workspace_id)  # type: ignore[arg-type]
    except TendrilError:
        return render(request, "404.html", status=404)
    request.session["workspace_id"] = workspace.pk
    messages.info(request, f"Switched to {workspace.name}.")
    return redirect("home")


@workspace_view(write=MANAGE)
def settings_general(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = WorkspaceSettingsForm(
        request.POST or None,
        initial={
            "name": workspace.name,
            "timezone": workspace.timezone,
            "api_rate_limit": workspace.api_rate_limit,
            "currency": workspace.currency,
            "control_group_percent": workspace.control_group_percent,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.workspace_settings_update(
            workspace=workspace,
            actor=request.user,  # type: ignore[arg-type]
            **{field: form.cleaned_data[field] for field in services.WORKSPACE_SETTINGS},
        )
        messages.success(request, "Workspace settings saved.")
        return redirect("settings")
    audit = selectors.audit_log_recent(workspace=workspace, limit=20)
    status = 400 if request.method == "POST" else 200  # a rejected form changes nothing
    return render(
        request, "workspaces/settings_general.html", {"form": form, "audit": audit}, status=status
    )


# --- Members and invitations -----------------------------------------------------------------


@workspace_view(write=MANAGE)
def members(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, link = services.invitation_create(
                workspace=workspace,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,  # type: ignore[arg-type]
            )
        except TendrilError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("members")
    context = {
        "form": form,
        "memberships": selectors.membership_list(workspace=workspace),
        "invitations": selectors.invitation_list_open(workspace=workspace),
        "role_form": RoleForm(),
        "can_manage": request.membership.can(MANAGE),  # type: ignore[attr-defined]
    }
    return render(request, "workspaces/members.html", context, status=400 if form.errors else 200)


@workspace_view(write=MANAGE)
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(
        scoped(request, Membership).select_related("user"), pk=membership_id
    )
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("members")
    try:
        changed = services.membership_role_change(
            membership=membership,
            role=form.cleaned_data["role"],
            actor=request.user,  # type: ignore[arg-type]
        )
    except TendrilError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{membership.user} is now {changed.get_role_display()}.")
    return redirect("members")


@workspace_view(write=MANAGE)
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(
        scoped(request, Membership).select_related("user"), pk=membership_id
    )
    try:
        services.membership_remove(membership=membership, actor=request.user)  # type: ignore[arg-type]
    except TendrilError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{membership.user} was removed.")
    return redirect("members")


@workspace_view(write=MANAGE)
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(scoped(request, Invitation), pk=invitation_id)
    services.invitation_revoke(invitation=invitation, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("members")


@public_view("invitation link: authenticated by the unguessable token in the URL")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_get_open(token=token)
    except TendrilError as error:
        return render(
            request, "workspaces/invitation_invalid.html", {"message": error.message}, status=404
        )
    existing = User.objects.filter(email=invitation.email).first()
    if request.user.is_authenticated:
        if request.user.email != invitation.email:  # type: ignore[union-attr]
            return render(
                request,
                "workspaces/invitation_accept.html",
                {"invitation": invitation, "wrong_user": True},
                status=403,
            )
        if request.method == "POST":
            services.invitation_accept(token=token, user=request.user)  # type: ignore[arg-type]
            request.session["workspace_id"] = invitation.workspace_id
            messages.success(request, f"Welcome to {invitation.workspace.name}.")
            return redirect("home")
        return render(request, "workspaces/invitation_accept.html", {"invitation": invitation})
    if existing is not None:
        messages.info(request, "Log in to accept the invitation.")
        return redirect(f"{auth_views.redirect_to_login(request.get_full_path()).url}")
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user, _ = services.user_get_or_create(
            email=invitation.email,
            password=form.cleaned_data["password"],
            name=form.cleaned_data["name"],
        )
        services.invitation_accept(token=token, user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session["workspace_id"] = invitation.workspace_id
        messages.success(request, f"Welcome to {invitation.workspace.name}.")
        return redirect("home")
    return render(
        request,
        "workspaces/invitation_accept.html",
        {"invitation": invitation, "form": form},
        status=400 if form.errors else 200,
    )


# --- API keys ------------------------------------------------------------------------------


@workspace_view(read=MANAGE, write=MANAGE)
def api_keys(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = ApiKeyForm(request.POST or None)
    revealed = None
    if request.method == "POST" and form.is_valid():
        revealed = services.api_key_create(
            workspace=workspace,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            actor=request.user,  # type: ignore[arg-type]
            can_manage_workspace=form.cleaned_data["can_manage_workspace"],
        )
        form = ApiKeyForm()
    context = {
        "form": form,
        "keys": selectors.api_key_list(workspace=workspace),
        "revealed": revealed,
    }
    return render(request, "workspaces/api_keys.html", context, status=400 if form.errors else 200)


@workspace_view(read=MANAGE, write=MANAGE)
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(scoped(request, ApiKey), pk=key_id)
    services.api_key_revoke(key=key, actor=request.user)  # type: ignore[arg-type]
    messages.success(
        request, f"Key {key.prefix}… revoked. Requests using it are refused from now on."
    )
    return redirect("api_keys")
