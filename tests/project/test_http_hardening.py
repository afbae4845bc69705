"""Production-safe defaults: settings module, JSON server errors, security headers and CSP,
`check --deploy`, and an access log that never names a key."""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "p" * 50 + "-not-a-real-secret-but-long-and-varied-0123456789",
    "ALLOWED_HOSTS": "tendril.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tendril",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp://127.0.0.1:2525",
    "SITE_URL": "https://tendril.example.com",
}


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", *PRODUCTION_ENV}
    }
    return {**env, **extra}


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery_app"])
def test_entry_points_default_to_production_settings(module):
    code = f"import {module}; from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_clean_env(**PRODUCTION_ENV),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.settings.production", "False"]
    # …which refuses to start without its secrets rather than falling back to debug.
    bare = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_clean_env(), capture_output=True, text=True
    )
    assert bare.returncode != 0 and "SECRET_KEY" in bare.stderr


def test_check_deploy_is_clean_apart_from_the_documented_exceptions():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--settings=config.settings.production"],
        cwd=ROOT,
        env=_clean_env(**PRODUCTION_ENV),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    found = set(re.findall(r"\(([\w.]+\.[EW]\d+)\)", result.stdout + result.stderr))
    # docs/security.md: HSTS for subdomains and preload are the operator's call for their
    # domain; drf_spectacular's are OpenAPI naming notes, not deployment risks.
    documented = {"security.W005", "security.W021", "drf_spectacular.W001", "drf_spectacular.W002"}
    assert found <= documented, found - documented


def _crashing_client(monkeypatch, target: str) -> Client:
    def boom(*args, **kwargs):
        raise RuntimeError("SECRET-DETAIL in a traceback")

    monkeypatch.setattr(target, boom)
    return Client(raise_request_exception=False)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_crash_in_ingestion_answers_the_json_error_shape(monkeypatch, settings, tenant, debug):
    settings.DEBUG = debug
    client = _crashing_client(monkeypatch, "contacts.ingest.views.ingest_messages")
    key = base64.b64encode(f"{tenant.write_key}:".encode()).decode()
    response = client.post(
        "/v1/track",
        {"type": "track", "event": "x", "userId": "u"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {key}",
    )
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "server_error"
    assert b"SECRET-DETAIL" not in response.content and b"SECRET_KEY" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_crash_in_the_management_api_answers_the_json_error_shape(
    monkeypatch, settings, tenant, debug
):
    settings.DEBUG = debug
    client = _crashing_client(monkeypatch, "workspaces.api.views.CurrentWorkspaceView.get")
    response = client.get("/api/v1/workspace/", HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert b"SECRET-DETAIL" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/docs/"])
def test_pages_carry_csp_and_inline_scripts_carry_its_nonce(owner_client, path):
    response = owner_client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "'unsafe-eval'" not in policy and "object-src 'none'" in policy
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    html = response.content.decode()
    assert not re.search(r"\son(click|change|submit|load|input)=", html)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    if inline:
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        assert all(f'nonce="{nonce}"' in attrs for attrs in inline), inline


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_gunicorn_access_log_never_names_a_key(tmp_path):
    port = _free_port()
    log = tmp_path / "access.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(log),
        ],
        cwd=ROOT,
        env=_clean_env(DJANGO_SETTINGS_MODULE="config.settings.test"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        secret = "twk_SHOULD_NOT_BE_LOGGED"
        auth = base64.b64encode(f"{secret}:".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/track?writeKey={secret}",
            data=b"{}",
            method="POST",
            headers={"Authorization": f"Basic {auth}"},
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(request, timeout=5)  # noqa: S310
            except urllib.error.HTTPError:
                pass  # any answer is logged
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
                continue
            break
        while "/v1/track" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "nothing logged"
            time.sleep(0.1)
        assert secret not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
