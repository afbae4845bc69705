"""Messaging fixtures: a real SMTP sink on loopback, SMTP settings pointing at it, helpers
to make contacts and templates."""

from __future__ import annotations

import pytest

from contacts.models import Contact
from messaging.channels import email as email_channel
from messaging.services import EmailContent, email_template_save, layout_save

LAYOUT = """<!doctype html>
<html><head><style>
  .footer { color: #667085; font-size: 12px; }
  h1 { color: #0f766e; }
  @media (max-width: 600px) { h1 { font-size: 20px; } }
</style></head>
<body>
{{ content }}
<p class="footer">{{ workspace.physical_address }} · <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>"""

BODY = """<h1>Hello {{ first_name|default("there") }}</h1>
<p>Your plan: {{ attributes.plan|default("free") }}.</p>
<p><a href="https://example.com/pricing?ref=mail&x=1">See pricing</a></p>"""


@pytest.fixture
def smtp_settings(settings, smtp_sink):
    """Django's SMTP backend pointed at the sink (one persistent connection per process)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://app.tendril.test"
    email_channel.connection_reset()
    yield smtp_sink
    email_channel.connection_reset()


@pytest.fixture(autouse=True)
def _no_downstream_processors(monkeypatch):
    """Messaging records events and enqueues the pipeline; what scoring/segments/workflows then
    do with them is their tests' business (and must not make these tests depend on them)."""
    from contacts import hooks

    monkeypatch.setattr(hooks, "_processors", [])


def make_contact(ws, email="ada@example.com", **fields) -> Contact:
    fields.setdefault("first_name", "Ada")
    fields.setdefault("email_consent", "subscribed")
    return Contact.objects.create(workspace=ws, email=email, **fields)


@pytest.fixture
def contact(ws):
    return make_contact(ws, attributes={"plan": "pro"})


@pytest.fixture
def layout(ws):
    return layout_save(workspace=ws, name="Default", html=LAYOUT)


def make_template(ws, layout=None, **overrides):
    content = EmailContent(
        name=overrides.pop("name", "Welcome"),
        subject=overrides.pop("subject", "Welcome, {{ first_name|default('friend') }}"),
        html=overrides.pop("html", BODY),
        layout=layout,
        **overrides,
    )
    return email_template_save(workspace=ws, content=content)


@pytest.fixture
def template(ws, layout):
    return make_template(
        ws, layout, from_email="news@acme.test", from_name="Acme News", reply_to="help@acme.test"
    )
