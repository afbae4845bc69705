"""Schemathesis against the API's own OpenAPI description (`/api/schema/`): no input,
valid or not, makes an operation answer 5xx.

Every operation gets a bounded number of generated requests — valid ones (positive) and
schema-violating ones (negative) — deterministically (Hypothesis derandomized), sent
through the project's WSGI app with a real secret key of a workspace holding every app's
demo data (contacts, events, segments, templates, workflows …). The first valid examples
of each operation are also sent with the values that broke the API from outside: a body
that is a JSON list instead of an object, NUL characters in its strings, negative and
past-bigint numbers, and "²" / "٣" (digits to `str.isdigit()`, not to PostgreSQL) or NUL in
query parameters and path ids. Every 5xx is collected and listed at once with its curl
command and the exception behind it.
"""

from __future__ import annotations

import io
import sys
import traceback
from copy import deepcopy
from typing import Any

import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection, transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode

from workspaces.management.commands.demo_seed import Command as DemoSeed
from workspaces.services import api_key_create

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

EXAMPLES_PER_MODE = 4  # per operation: 4 valid + 4 invalid, ~900 generated requests
MUTATED_EXAMPLES = 1  # valid examples per operation also sent with the hostile values
ODD_NUMBERS = ["²", "٣", "99999999999999999999999", "-1", "a\u0000"]


@pytest.fixture
def wsgi_app():
    """The project's WSGI app, minus closing the connection after each request (which
    would end the test's transaction), as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(tenant):
    DemoSeed(stdout=io.StringIO())._seed_apps(tenant.workspace, 20)
    return tenant


def _body_variants(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        return []
    variants: list[Any] = [[body], "text", 1]
    strings = {k: v + "\u0000" for k, v in body.items() if isinstance(v, str)}
    if strings:
        variants.append({**body, **strings})
    for number in (-1, 2**63):
        ints = {
            k: number for k, v in body.items() if isinstance(v, int) and not isinstance(v, bool)
        }
        if ints:
            variants.append({**body, **ints})
    return variants


def _variant(case: Any, **changes: Any) -> Any:
    """A new case for the same operation with some parts replaced."""
    parts: dict[str, Any] = {
        "path_parameters": deepcopy(case.path_parameters),
        "query": deepcopy(case.query),
        "headers": deepcopy(case.headers),
        "media_type": case.media_type,
    }
    if isinstance(case.body, dict | list | str | int | float):
        parts["body"] = deepcopy(case.body)
    parts.update(changes)
    return case.operation.Case(**parts)


def _mutations(case: Any) -> list[tuple[str, Any]]:
    """(what changed, a case with it)."""
    mutated = [
        (f"body {str(body)[:60]}", _variant(case, body=body)) for body in _body_variants(case.body)
    ]
    for where in ("query", "path_parameters"):
        for name in getattr(case, where) or {}:
            for value in ODD_NUMBERS:
                changed = {**getattr(case, where), name: value}
                mutated.append((f"{where}.{name}={value!r}", _variant(case, **{where: changed})))
    return mutated


class Run:
    def __init__(self, auth: dict[str, str]):
        self.auth = auth
        self.failures: list[str] = []
        self.errors: list[str] = []
        self.requests = 0

    def remember(self, sender: Any, request: Any, **kwargs: Any) -> None:
        kind, error, trace = sys.exc_info()
        where = traceback.extract_tb(trace)[-1] if trace else None
        at = f" at {where.filename}:{where.lineno}" if where else ""
        self.errors.append(f"{getattr(kind, '__name__', kind)}: {str(error)[:200]}{at}")

    def send(self, label: str, case: Any) -> None:
        # Each request in a savepoint that is rolled back: every example starts from the
        # seeded data, and a database error cannot poison the requests after it.
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=self.auth)
        finally:
            transaction.savepoint_rollback(savepoint)
            connection.needs_rollback = False
        self.requests += 1
        if response.status_code >= 500:
            error = self.errors[-1] if self.errors else ""
            curl = case.as_curl_command(headers=self.auth)
            self.failures.append(f"{label} → {response.status_code}: {error}\n    {curl}")


def _fuzz(run: Run, operation: Any, mode: GenerationMode) -> None:
    mutated = [0]

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        run.send(f"{operation.label} ({mode.value})", case)
        if mode is GenerationMode.POSITIVE and mutated[0] < MUTATED_EXAMPLES:
            mutated[0] += 1
            for what, variant in _mutations(case):
                run.send(f"{operation.label} ({what})", variant)

    fuzz()


def test_no_operation_answers_5xx(seeded, wsgi_app):
    # An admin key: members, invitations and integration settings are fuzzed too.
    admin_key = api_key_create(
        workspace=seeded.workspace,
        name="fuzz",
        kind="secret",
        actor=seeded.owner,
        can_manage_workspace=True,
    )
    run = Run({"Authorization": f"Bearer {admin_key.raw}"})
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    got_request_exception.connect(run.remember)
    operations = 0
    try:
        for result in schema.get_all_operations():
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(run, result.ok(), mode)
    finally:
        got_request_exception.disconnect(run.remember)
    assert operations > 100, operations  # the whole API was in the description
    assert run.requests > 1000, run.requests  # generated + hostile variants
    assert not run.failures, f"{len(run.failures)} 5xx:\n" + "\n".join(run.failures)


# --- What the fuzzing found, one test per class (fast, and each failed before the fix) ---------


def test_a_body_that_is_not_a_json_object_is_a_400_naming_the_body(api, ws):
    from messaging.services.config import topic_default

    topic = topic_default(workspace=ws)
    for body in ([{"name": "x"}], "text", 3):
        response = api.patch(f"/api/v1/messaging/topics/{topic.pk}/", body, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["fields"] == {"body": "must be a JSON object"}
    response = api.post("/api/v1/messaging/email-templates/", [], format="json")
    assert response.status_code == 400


def test_a_suppression_without_an_address_is_a_400_naming_it(api):
    response = api.post("/api/v1/messaging/suppressions/", {}, format="json")
    assert response.status_code == 400
    assert "address" in response.json()["error"]["fields"]


def test_a_negative_reentry_days_is_a_400_naming_it(api):
    body = {"name": "W", "reentry": "never", "reentry_days": -3}
    response = api.post("/api/v1/workflows/", body, format="json")
    assert response.status_code == 400
    assert "reentry_days" in response.json()["error"]["fields"]


@pytest.mark.parametrize("value", ["²", "٣", "99999999999999999999999", "-1", "x"])
@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/messaging/messages/", "contact"),
        ("/api/v1/workflow-runs/", "workflow"),
        ("/api/v1/contacts/{contact}/timeline/", "limit"),
        ("/api/v1/scoring/contacts/{contact}/", "history"),
    ],
)
def test_a_number_in_the_query_string_is_read_as_ascii_digits_or_refused(
    api, ws, path, param, value
):
    from contacts.models import Contact

    contact = Contact.objects.create(workspace=ws, email="ada@acme.test")
    response = api.get(path.format(contact=contact.pk), {param: value})
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [param]


def test_a_nul_character_anywhere_in_a_body_is_a_400_naming_its_path(api, ws):
    from contacts.models import Contact

    contact = Contact.objects.create(workspace=ws, email="ada@acme.test")
    body = {"attributes": {"plan": "pro", "notes": ["ok", "a\u0000b"]}}
    response = api.patch(f"/api/v1/contacts/{contact.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["attributes.notes[1]"]
    contact.refresh_from_db()
    assert contact.attributes == {}


def test_a_nul_character_in_a_query_parameter_is_a_400_naming_it(api):
    response = api.get("/api/v1/workflows/autocomplete/properties/", {"event": "a\u0000"})
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["event"]
