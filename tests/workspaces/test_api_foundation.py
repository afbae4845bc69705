import json
import re

import pytest
from django.core.management import call_command

from workspaces.models import ApiKey, Membership, Workspace
from workspaces.roles import Role

pytestmark = pytest.mark.django_db


def test_workspace_create_cli_prints_one_json_object(capsys):
    call_command(
        "workspace_create", "Initech", "--owner", "Boss@Initech.test", "--password", "s3cret-pass-9"
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"workspace_id", "write_key", "secret_key", "owner"}
    workspace = Workspace.objects.get(pk=out["workspace_id"])
    assert out["owner"] == "boss@initech.test"
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER
    assert ApiKey.objects.get(key_hash=ApiKey.hash(out["write_key"])).kind == "write"
    assert ApiKey.objects.get(key_hash=ApiKey.hash(out["secret_key"])).kind == "secret"


def test_members_api_lists_only_own_workspace(api, member, outsider):
    emails = {row["email"] for row in api.get("/api/v1/members/").json()["results"]}
    assert emails == {"owner@acme.test", "marketer@acme.test"}


def test_members_api_says_each_members_user_id_the_one_workflows_assign_to(api, member, owner):
    rows = {row["email"]: row["user_id"] for row in api.get("/api/v1/members/").json()["results"]}
    assert rows == {"owner@acme.test": owner.pk, "marketer@acme.test": member.pk}


def test_members_api_404s_for_another_workspaces_member(outsider_api, member, ws):
    membership = Membership.objects.get(user=member, workspace=ws)
    response = outsider_api.get(f"/api/v1/members/{membership.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_endpoints_paginate_with_a_cursor(api, ws):
    from tests.conftest import add_member

    for i in range(5):
        add_member(ws, f"p{i}@acme.test", Role.VIEWER)
    first = api.get("/api/v1/members/?limit=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_unknown_api_route_answers_json_404(api):
    response = api.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


OUTSIDE = re.compile(r"(?:https?:)?//(?!testserver[/:])", re.IGNORECASE)


def _stylesheet(url: str) -> str:
    from django.conf import settings
    from django.contrib.staticfiles import finders

    found = finders.find(url.split("?")[0].removeprefix(settings.STATIC_URL))
    assert found, f"{url} is not one of this server's static files"
    return open(found, encoding="utf-8").read()  # noqa: SIM115


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_schema_and_docs_are_served_without_a_cdn_or_outside_fonts(client, db, path):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get(path).content.decode()
    assert "swagger-ui" in docs or "redoc" in docs.lower()
    # Every script, stylesheet and font comes from this server: no absolute URL in src/href.
    # (Matching "cdn" anywhere failed whenever a random CSRF token happened to contain it.)
    assets = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', docs)
    assert assets, "the docs page loads its assets"
    assert [a for a in assets if OUTSIDE.match(a)] == []
    assert "unpkg.com" not in docs and "jsdelivr" not in docs and "googleapis" not in docs
    # …and the stylesheets it links pull in nothing from another host either.
    sheets = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', docs)
    css = [docs] + [_stylesheet(href) for href in sheets]
    imports = [
        m for text in css for m in re.findall(r"@import\s+(?:url\()?\s*['\"]?([^'\")\s;]+)", text)
    ]
    urls = [m for text in css for m in re.findall(r"url\(\s*['\"]?([^'\")]+)", text)]
    assert [u for u in imports + urls if OUTSIDE.match(u)] == []


def test_the_schema_groups_operations_by_resource(client, db):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    tags: dict[str, set[str]] = {}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            assert len(operation["tags"]) == 1, path
            tags.setdefault(operation["tags"][0], set()).add(path)
    assert not {"api", "v1", "API"} & set(tags)  # no catch-all heading
    assert "/api/v1/contacts/{id}/timeline/" in tags["Contacts"]
    assert "/api/v1/messaging/email-templates/{id}/versions/" in tags["Email templates"]
    assert "/api/v1/messaging/sms-templates/" in tags["SMS templates"]
    assert "/api/v1/scoring/models/{model_id}/rules/" in tags["Scoring models"]
    assert tags["Ingestion (Segment-compatible)"] >= {"/v1/track/", "/v1/identify/"}
    # One resource, one tag: no resource's operations are split over two headings.
    resources = {}
    for tag, paths in tags.items():
        for path in paths:
            parts = [p for p in path.split("/") if p and not p.startswith("{")]
            resource = "/".join(
                parts[:4] if parts[2:3] in (["messaging"], ["scoring"]) else parts[:3]
            )
            resources.setdefault(resource, set()).add(tag)
    assert {r: t for r, t in resources.items() if len(t) > 1} == {}
    assert len(tags) >= 20


def test_healthz_checks_postgres_and_redis(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


def test_healthz_reports_a_dead_redis(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


def test_schema_documents_both_key_schemes(client, db):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["secretKey"]["scheme"] == "bearer"
    assert schemes["writeKey"]["scheme"] == "basic"
