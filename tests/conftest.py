"""Shared fixtures: three people, as in healthchecks' tests.

- `owner`: owns workspace `ws`;
- `member`: a marketer in `ws`;
- `outsider`: owns `other_ws`, and must never see anything of `ws` (every view is tried by them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.messaging.smtp_sink import SmtpSink
from workspaces.models import User, Workspace
from workspaces.roles import Role
from workspaces.services import CreatedWorkspace, user_get_or_create, workspace_create

PASSWORD = "correct-horse-battery-staple"  # noqa: S105

# Playwright's sync API keeps an event loop in the main thread; the ORM calls a test makes
# next to it are still synchronous, so Django's async-safety guard must stand down.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _test_code_sees_every_workspace() -> Iterator[None]:
    """The suite runs with Row Level Security on (TENANT_RLS, config/settings/test.py): what
    the application does — a request through the test client or a live server, a Celery task,
    eager or in a worker — starts with no workspace in scope and reads only what its own scope
    lets the database show. The test's own code (fixtures writing rows, assertions reading
    them) is the operator's, not the application's: it sees every workspace, as if through
    `dangerously_all_workspaces`. A test about what an unscoped connection sees leaves this
    scope itself (tests/workspaces/test_rls.py)."""
    from workspaces import scope_state

    token = scope_state.enter(scope_state.ALL_WORKSPACES)
    try:
        yield
    finally:
        scope_state.leave(token)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Rate-limit counters and the API key cache live in Redis, outside the test's
    transaction: start every test with none (a test's failed logins must not lock the next)."""
    from workspaces import throttling

    throttling.reset()


@pytest.fixture(autouse=True)
def _one_writer_of_events() -> Iterator[None]:
    """Every test also checks that only contacts.services.events writes the event table."""
    from tests.support.event_writers import only_the_events_service_inserts_events

    with only_the_events_service_inserts_events():
        yield


@dataclass
class Tenant:
    workspace: Workspace
    owner: User
    write_key: str
    secret_key: str


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback that keeps what it receives."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def make_tenant(name: str, owner_email: str) -> Tenant:
    owner, _ = user_get_or_create(email=owner_email, password=PASSWORD)
    created: CreatedWorkspace = workspace_create(name=name, owner=owner)
    return Tenant(created.workspace, owner, created.write_key.raw, created.secret_key.raw)


def add_member(workspace: Workspace, email: str, role: str) -> User:
    from workspaces.models import Membership

    user, _ = user_get_or_create(email=email, password=PASSWORD)
    Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


@pytest.fixture
def tenant(db: None) -> Tenant:
    return make_tenant("Acme", "owner@acme.test")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return make_tenant("Globex", "owner@globex.test")


@pytest.fixture
def ws(tenant: Tenant) -> Workspace:
    return tenant.workspace


@pytest.fixture
def other_ws(other_tenant: Tenant) -> Workspace:
    return other_tenant.workspace


@pytest.fixture
def owner(tenant: Tenant) -> User:
    return tenant.owner


@pytest.fixture
def member(tenant: Tenant) -> User:
    return add_member(tenant.workspace, "marketer@acme.test", Role.MARKETER)


@pytest.fixture
def outsider(other_tenant: Tenant) -> User:
    return other_tenant.owner


def login_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner: User) -> Client:
    return login_client(owner)


@pytest.fixture
def member_client(member: User) -> Client:
    return login_client(member)


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    return login_client(outsider)


@pytest.fixture
def api(tenant: Tenant) -> APIClient:
    """An API client authenticated with `ws`'s secret key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}")
    return client


@pytest.fixture
def outsider_api(other_tenant: Tenant) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_tenant.secret_key}")
    return client


# --- Integration: real worker, real browser -------------------------------------------------


@pytest.fixture
def celery_worker(transactional_db):  # noqa: ANN001
    """A real Celery worker subprocess on the test database (data must be committed)."""
    from tests.support.worker import running_worker

    with running_worker() as proc:
        yield proc


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright; one per test session."""
    from tests.support.browser import chromium

    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser, live_server):  # noqa: ANN001
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # Generous: CI is a loaded 2-core machine; a real failure still fails, only later.
    page.set_default_timeout(30_000)
    page._tendril_timeout = 30_000
    from tests.support.browser import csp_safe_wait_for_function

    csp_safe_wait_for_function(page)  # the app's CSP forbids the eval Playwright polls with
    yield page
    context.close()


def browser_login(page, user, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.goto("/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
