"""Scenario `send`: render and send personalised emails through real Celery workers to a local
SMTP sink.

    .venv/bin/python -m bench send [--emails 20000] [--concurrency 4]

1. Fresh database `tendril_bench_send`: one workspace, `--emails` contacts (names, company,
   plan attribute, time zones), a layout with CSS and @media rules, a template with
   personalisation (defaults, a conditional, a loop, five links), a static list of everyone.
2. Render rate, in this process on one core (CPU time, so other load on the machine does not
   count): the full per-recipient work — context, sandboxed render of subject/HTML/text,
   click-tracking link rewriting with signed tokens, open pixel, headers incl.
   List-Unsubscribe, MIME bytes — against a bare Jinja render (plain Environment, no
   sandbox, no tracking, no MIME) of the same compiled template and the same contexts.
   Target ≥ 1,000 emails/s per core. The same is measured, in the same run, for a *block
   template* (messaging/blocks: a document of heading, rich text with merge tags, image,
   button, three columns, a dynamic block, social links and the footer, compiled once
   through MJML): its per-recipient work is the same kind (the compiled HTML is bigger),
   plus the dynamic block's condition, evaluated per send batch of
   MESSAGING_SEND_BATCH_SIZE recipients in one SQL query as the send path does (counted in
   the CPU time of this process; the database's own time is not).
3. Delivery rate: a broadcast to the list, sent by a real Celery worker pool
   (`--concurrency` processes, prefork) to an aiosmtpd sink in another process; from
   `broadcast_send` until the sink has every message. Each worker holds one SMTP session.
   Sending waits on the SMTP server's replies (four round trips per message) far more than
   it computes, so the default pool has more processes (4) than the machine has cores (2);
   `--concurrency 2` gives one per core.
   The messages are real: Message rows created in bulk, claimed, checked (consent,
   suppression, topic, cap), rendered, sent, marked sent, `email.sent` events recorded and
   the event pipeline enqueued. Baseline: plain smtplib sending the same (pre-rendered)
   messages over one persistent connection to the same sink. Target ≥ 300 emails/s.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import time
from pathlib import Path
from typing import Any

from bench import harness

DATABASE = "tendril_bench_send"
REDIS_DB = 11
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / ".data" / "bench-send-samples"

LAYOUT = """<!doctype html>
<html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { margin: 0; background: #f6f7f9; font-family: Arial, sans-serif; color: #1c2330; }
  .wrap { max-width: 600px; margin: 0 auto; background: #ffffff; padding: 24px; }
  h1 { color: #0f766e; font-size: 26px; margin: 0 0 12px; }
  p { font-size: 15px; line-height: 1.5; }
  .btn { display: inline-block; background: #0f766e; color: #ffffff; padding: 10px 16px; border-radius: 6px; text-decoration: none; }
  td.item { border-bottom: 1px solid #e3e6eb; padding: 8px 0; }
  .footer { color: #667085; font-size: 12px; text-align: center; padding: 16px; }
  @media (max-width: 600px) { .wrap { padding: 16px; } h1 { font-size: 22px; } }
</style></head>
<body><div class="wrap">
{{ content }}
</div>
<p class="footer">{{ workspace.name }} · {{ workspace.physical_address }}<br>
<a href="{{ unsubscribe_url }}">Unsubscribe</a> · <a href="{{ preferences_url }}">Preferences</a></p>
</body></html>"""

BODY = """<h1>Hi {{ first_name|default("there") }},</h1>
<p>{% if attributes.plan == "pro" %}Thanks for being on Pro at {{ company|default("your company") }}.
{% else %}Upgrade {{ company|default("your team") }} to Pro this week and save 20%.{% endif %}</p>
<table width="100%">
{% for item in ["Dashboards", "Workflows", "Scoring"] %}
<tr><td class="item"><a href="https://example.com/features/{{ item|lower }}?c={{ contact.id }}">{{ item }}</a></td></tr>
{% endfor %}
</table>
<p><a class="btn" href="https://example.com/pricing?plan={{ attributes.plan|default('free') }}">See pricing</a></p>
<p>See you in {{ contact.city|default("town") }} — <a href="https://example.com/events">our events</a>.</p>"""


BLOCK_DOCUMENT: dict[str, Any] = {
    "version": 1,
    "blocks": [
        {
            "id": "title",
            "type": "heading",
            "level": 1,
            "text": 'Hi {{ first_name | default("there") }},',
        },
        {
            "id": "intro",
            "type": "text",
            "html": '<p>Your week at <strong>{{ company | default("work") }}</strong>: three things '
            'worth a look, and <a href="https://example.com/pricing">our pricing</a>.</p>',
        },
        {
            "id": "hero",
            "type": "image",
            "src": "https://example.com/hero.png",
            "alt": "This week's highlights",
            "href": "https://example.com/week",
        },
        {
            "id": "cta",
            "type": "button",
            "text": "See what's new",
            "href": "https://example.com/new?c={{ contact.id }}",
        },
        {
            "id": "features",
            "type": "columns",
            "columns": [
                {
                    "blocks": [
                        {
                            "id": f"f{i}",
                            "type": "text",
                            "html": f'<p><a href="https://example.com/features/{name}">{name}</a></p>',
                        }
                    ]
                }
                for i, name in enumerate(["dashboards", "workflows", "scoring"])
            ],
        },
        {
            "id": "berlin",
            "type": "text",
            "condition": {"field": "city", "op": "eq", "value": "Berlin"},
            "html": '<p>See you at our Berlin meetup, {{ first_name | default("friend") }}!</p>',
        },
        {
            "id": "social",
            "type": "social",
            "links": [
                {"network": "x", "href": "https://x.com/example"},
                {"network": "linkedin", "href": "https://linkedin.com/company/example"},
            ],
        },
        {"id": "footer", "type": "footer", "text": "You get this because you use Example."},
    ],
}


def _setup(emails: int) -> dict[str, Any]:
    from contacts.models import Contact
    from messaging.services import (
        EmailContent,
        email_template_save,
        layout_save,
        messaging_settings_update,
    )
    from segments.services import segment_create, static_list_add
    from workspaces.models import Workspace

    workspace_id, _ = harness.workspace("Bench Send")
    workspace = Workspace.objects.get(pk=workspace_id)
    messaging_settings_update(
        workspace=workspace,
        physical_address="1 Bench Street, Testville",
        from_email="news@bench.test",
        from_name="Bench News",
    )
    layout = layout_save(workspace=workspace, name="Bench", html=LAYOUT)
    template = email_template_save(
        workspace=workspace,
        content=EmailContent(
            name="Bench",
            subject="{{ first_name|default('Hello') }}, your week at {{ company|default('work') }}",
            html=BODY,
            layout=layout,
            preheader="Three things for {{ first_name|default('you') }}",
        ),
    )
    block_template = email_template_save(
        workspace=workspace,
        content=EmailContent(
            name="Bench blocks",
            subject="{{ first_name|default('Hello') }}, your week at {{ company|default('work') }}",
            preheader="Three things for {{ first_name|default('you') }}",
            document=BLOCK_DOCUMENT,
        ),
    )
    zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", ""]
    cities = ["Berlin", "New York", "Tokyo", "London", ""]
    Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                email=f"person{i}@bench.test",
                first_name=f"Person{i}" if i % 7 else "",
                last_name="Bench",
                company=f"Company {i % 500}",
                city=cities[i % 5],
                timezone=zones[i % 5],
                email_consent="subscribed",
                attributes={"plan": "pro" if i % 3 == 0 else "free"},
            )
            for i in range(emails)
        ],
        batch_size=2000,
    )
    ids = list(Contact.objects.filter(workspace=workspace).values_list("pk", flat=True))
    segment = segment_create(workspace=workspace, name="Everyone", kind="static")
    static_list_add(segment=segment, contact_ids=ids, source="import")
    return {
        "workspace": workspace,
        "template": template,
        "block_template": block_template,
        "segment": segment,
    }


def _render_bench(workspace: Any, template: Any) -> dict[str, Any]:
    import jinja2

    from contacts.models import Contact
    from messaging.models import Message
    from messaging.rendering import Renderer
    from messaging.services.config import messaging_settings
    from messaging.templating.personalise import build_context, contact_data

    version = template.current_version
    contacts = list(Contact.objects.filter(workspace=workspace).order_by("pk"))
    config = messaging_settings(workspace=workspace)
    renderer = Renderer(workspace, config)
    messages = [
        Message(
            pk=index + 1,
            workspace_id=workspace.pk,
            contact=contact,
            channel="email",
            source_type="broadcast",
            source_id="bench",
            email_version=version,
        )
        for index, contact in enumerate(contacts)
    ]
    # Baseline: plain Jinja, same compiled template, same contexts (built before timing).
    env = jinja2.Environment(autoescape=True)
    plain_html = env.from_string(version.compiled_html)
    plain_text = jinja2.Environment().from_string(version.compiled_text)
    plain_subject = jinja2.Environment().from_string(version.subject)
    workspace_ctx = {"name": workspace.name, "physical_address": config.postal_address}
    contexts = [
        build_context(
            contact=contact_data(c),
            workspace=workspace_ctx,
            unsubscribe_url="https://x.test/u",
            preferences_url="https://x.test/p",
        )
        for c in contacts
    ]
    started = time.process_time()
    for ctx in contexts:
        plain_subject.render(ctx)
        plain_html.render(ctx)
        plain_text.render(ctx)
    bare_cpu = time.process_time() - started

    rendered: list[bytes] = []
    started, wall = time.process_time(), time.perf_counter()
    for message, contact in zip(messages, contacts, strict=True):
        email = renderer.email(message, version, contact, to=contact.email)
        rendered.append(email.message().as_bytes(linesep="\r\n"))
    ours_cpu = time.process_time() - started
    ours_wall = time.perf_counter() - wall
    n = len(contacts)
    return {
        "n": n,
        "bare_rate": n / bare_cpu,
        "ours_rate": n / ours_cpu,
        "ours_wall_rate": n / ours_wall,
        "bytes": rendered,
        "avg_size": sum(len(b) for b in rendered) / n,
    }


def _block_render_bench(workspace: Any, template: Any) -> dict[str, Any]:
    """The block template's full per-recipient work, with its dynamic block worked out per
    send batch as messaging/services/sending.py does (one query per condition per batch)."""
    from django.conf import settings

    from contacts.models import Contact
    from messaging.models import Message
    from messaging.rendering import Renderer
    from messaging.services.blocks import visible_blocks
    from messaging.services.config import messaging_settings

    version = template.current_version
    contacts = list(Contact.objects.filter(workspace=workspace).order_by("pk"))
    renderer = Renderer(workspace, messaging_settings(workspace=workspace))
    size = int(settings.MESSAGING_SEND_BATCH_SIZE)
    messages = [  # built before timing, as in _render_bench
        Message(
            pk=index + 1,
            workspace_id=workspace.pk,
            contact=contact,
            channel="email",
            source_type="broadcast",
            source_id="bench",
            email_version=version,
        )
        for index, contact in enumerate(contacts)
    ]
    shown = 0
    total_bytes = 0
    started, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(contacts), size):
        batch = contacts[start : start + size]
        seen = visible_blocks(
            workspace=workspace,
            conditions=version.block_conditions,
            contact_ids=[c.pk for c in batch],
        )
        for message, contact in zip(messages[start : start + size], batch, strict=True):
            email = renderer.email(
                message, version, contact, seen.get(contact.pk, frozenset()), to=contact.email
            )
            payload = email.message().as_bytes(linesep="\r\n")
            total_bytes += len(payload)
            shown += b"Berlin meetup" in payload
    cpu = time.process_time() - started
    elapsed = time.perf_counter() - wall
    n = len(contacts)
    expected = sum(1 for c in contacts if c.city == "Berlin")
    assert shown == expected, f"the dynamic block reached {shown}, expected {expected}"
    return {
        "rate": n / cpu,
        "wall_rate": n / elapsed,
        "avg_size": total_bytes / n,
        "html_size": len(version.compiled_html),
        "shown": shown,
    }


def _smtplib_baseline(port: int, payloads: list[bytes], sink: Any) -> float:
    before = sink.count
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for index, payload in enumerate(payloads):
            conn.sendmail("news@bench.test", [f"person{index}@bench.test"], payload)
    elapsed = time.perf_counter() - started
    assert sink.count - before == len(payloads), "the sink did not get every baseline message"
    return len(payloads) / elapsed


def _delivery(setup: dict[str, Any], sink: Any, emails: int, concurrency: int) -> dict[str, Any]:
    from messaging.models import Message
    from messaging.services.broadcasts import BroadcastInput, broadcast_save, broadcast_send

    workspace = setup["workspace"]
    broadcast = broadcast_save(
        workspace=workspace,
        data=BroadcastInput(
            name="Bench broadcast",
            segment_id=setup["segment"].pk,
            email_template=setup["template"],
        ),
    )
    with harness.worker(concurrency=concurrency):
        before = sink.count
        started = time.perf_counter()
        broadcast_send(workspace=workspace, broadcast=broadcast)
        deadline = started + 900
        while sink.count - before < emails and time.perf_counter() < deadline:
            time.sleep(0.05)
        delivered_in = time.perf_counter() - started
        received = sink.count - before
        while time.perf_counter() < deadline:
            sent = Message.objects.filter(broadcast=broadcast, status="sent").count()
            if sent >= emails:
                break
            time.sleep(0.2)
        marked_in = time.perf_counter() - started
        sent = Message.objects.filter(broadcast=broadcast, status="sent").count()
    return {
        "received": received,
        "rate": received / delivered_in,
        "seconds": delivered_in,
        "sent_rows": sent,
        "marked_seconds": marked_in,
    }


def _check_sample() -> str:
    import email
    import email.policy

    files = sorted(SAMPLES.glob("*.eml"))
    if not files:
        return "no sample"
    mail = email.message_from_bytes(files[-1].read_bytes(), policy=email.policy.default)
    html = mail.get_body(("html",)).get_content()
    checks = {
        "List-Unsubscribe-Post": mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click",
        "tracked links": "/m/c/" in html and "/m/o/" in html,
        "inlined CSS": 'style="' in html,
        "personalised": "Hi Person" in html or "Hi there" in html,
        "text part": mail.get_body(("plain",)) is not None,
    }
    failed = [name for name, ok in checks.items() if not ok]
    return "ok (" + ", ".join(checks) + ")" if not failed else "FAILED: " + ", ".join(failed)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench send")
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)

    from bench._smtp_sink import SinkProcess

    note = harness.machine_note()
    sink = SinkProcess(SAMPLES)
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{sink.port}"
    os.environ["SITE_URL"] = "https://bench.tendril.test"
    harness.ENV.update(EMAIL_URL=os.environ["EMAIL_URL"], SITE_URL=os.environ["SITE_URL"])
    try:
        harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
        started = time.perf_counter()
        setup = _setup(args.emails)
        print(f"setup: {args.emails} contacts in {time.perf_counter() - started:.1f}s")
        render = _render_bench(setup["workspace"], setup["template"])
        blocks = _block_render_bench(setup["workspace"], setup["block_template"])
        baseline = _smtplib_baseline(sink.port, render["bytes"], sink)
        del render["bytes"]
        delivery = _delivery(setup, sink, args.emails, args.concurrency)
        sample = _check_sample()
    finally:
        sink.stop()
    harness.report(
        "send",
        [
            ("machine", note),
            ("emails", f"{args.emails} (avg {render['avg_size'] / 1024:.1f} KiB MIME)"),
            (
                "render, full per-recipient work",
                f"{render['ours_rate']:,.0f} emails/s per core (CPU time; {render['ours_wall_rate']:,.0f}/s wall)",
            ),
            ("render, bare Jinja baseline", f"{render['bare_rate']:,.0f} emails/s per core"),
            (
                "render, block template (full work + dynamic block per batch)",
                f"{blocks['rate']:,.0f} emails/s per core (CPU time; {blocks['wall_rate']:,.0f}/s "
                f"wall; avg {blocks['avg_size'] / 1024:.1f} KiB MIME, compiled HTML "
                f"{blocks['html_size'] / 1024:.1f} KiB; dynamic block shown to {blocks['shown']})",
            ),
            (
                "render ratio (block / code template)",
                f"{blocks['rate'] / render['ours_rate']:.2f}",
            ),
            (
                "render ratio (ours / bare Jinja)",
                f"{render['ours_rate'] / render['bare_rate']:.2f}",
            ),
            (
                "delivery through Celery workers",
                f"{delivery['rate']:,.0f} emails/s ({delivery['received']} at the sink in {delivery['seconds']:.1f}s, concurrency {args.concurrency})",
            ),
            ("delivery baseline, smtplib 1 connection", f"{baseline:,.0f} emails/s"),
            ("delivery ratio (ours / smtplib)", f"{delivery['rate'] / baseline:.2f}"),
            (
                "rows marked sent",
                f"{delivery['sent_rows']} after {delivery['marked_seconds']:.1f}s",
            ),
            ("sample message check", sample),
        ],
    )
