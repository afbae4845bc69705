"""Bounded rendering: what could tie up a web or Celery worker is refused at save when it can
never render, shown inline in previews, and fails only its own message at send — per class:
huge range, nested loops, a loop bounded by a contact attribute, output bombs (`*`, `~`,
filters, str methods), the time limit, and tags that load other templates."""

from __future__ import annotations

import pytest
from django.urls import reverse
from jinja2.sandbox import SecurityError

from messaging.models import Message, MessageStatus
from messaging.services import (
    EmailContent,
    message_enqueue,
    sms_template_save,
    template_render_preview,
)
from messaging.services.preview import email_draft_preview
from messaging.templating.sandbox import TemplateLimitExceeded, html_env
from workspaces.errors import ValidationFailed

from .conftest import make_contact, make_template

pytestmark = pytest.mark.django_db

NEVER_RENDERS = {
    "huge range": ("{% for i in range(10**9) %}x{% endfor %}", "range(1000000000)"),
    "nested loops": (
        "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
        "loop iterations",
    ),
    "string multiplication": ("{{ 'x' * 10**9 }}", "repeated value too long"),
    "center": ("{{ 'x'|center(10**9) }}", "|center would be 1,000,000,000"),
    "indent": ("{{ ('a\\n' * 1000)|indent(10**6) }}", "|indent"),
    "format filter": ("{{ '%01000000000d'|format(1) }}", "|format"),
    "percent": ("{{ '%01000000000d' % 1 }}", "% would be"),
    "str.format": ("{{ '{:>1000000000}'.format(1) }}", ".format() would be"),
    "str.ljust": ("{{ 'x'.ljust(10**9) }}", ".ljust() would be"),
    "replace": ("{{ ('x' * 100000)|replace('x', 'x' * 100000) }}", "|replace"),
    "join": ("{{ range(10000)|join('x' * 100000) }}", "|join"),
    "doubling with ~": (
        "{% set ns = namespace(s='x' * 100000) %}"
        "{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "~ would be",
    ),
    "doubling with +": (
        "{% set ns = namespace(s='x' * 100000) %}"
        "{% for i in range(30) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "+ would be",
    ),
    "slice": ("{{ range(10)|slice(10**9)|list }}", "|slice"),
    "batch padding": ("{{ [1]|batch(10**9, 'x')|list }}", "|batch"),
    "big numbers": ("{{ (2**1000)**1000 }}", "number too large"),
    "output": ("{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}", "output is longer"),
    "include": ("{% include 'footer.html' %}", "{% include %} is not available"),
    "import": ("{% import 'macros.html' as m %}", "{% import %} is not available"),
    "from import": ("{% from 'macros.html' import f %}", "{% from … import %} is not available"),
    "extends": ("{% extends 'base.html' %}", "{% extends %} is not available"),
    "macro recursion": (
        "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        "macro 'f' calls itself",
    ),
    "mutual macro recursion": (
        "{% macro f(n) %}{{ g(n) }}{% endmacro %}{% macro g(n) %}{{ f(n) }}{% endmacro %}",
        "macro 'f' calls itself",
    ),
}


@pytest.mark.parametrize("case", list(NEVER_RENDERS))
def test_a_template_that_can_never_render_is_refused_at_save_naming_why(ws, layout, case):
    source, reason = NEVER_RENDERS[case]
    with pytest.raises(ValidationFailed) as caught:
        make_template(ws, layout, html=f"<p>Hello</p>\n{source}")
    message = caught.value.fields["html"][0]
    assert reason in message, message
    if case != "output":  # the whole output has no one line to blame
        assert message.startswith("Line 2: "), message


def test_an_sms_template_is_bounded_the_same_way(ws):
    with pytest.raises(ValidationFailed) as caught:
        sms_template_save(workspace=ws, name="Bomb", body="{{ 'x'|center(10**9) }}")
    assert "too big to render" in caught.value.fields["body"][0]


def test_ordinary_loops_filters_and_methods_still_render():
    source = (
        "{% for item in items %}{{ loop.index }}/{{ loop.length }} {{ item.name|center(8) }}"
        "{{ '%.2f'|format(item.price) }}{% if not loop.last %}, {% endif %}{% endfor %}"
        " | {{ names|join(', ') }} | {{ 'a' ~ 'b' }} {{ '{}-{:>3}'.format('x', 'y') }}"
        " {{ 'Hi %s' % 'Ada' }} {{ 'a b'.replace(' ', '_') }} {{ range(3)|list }}"
    )
    out = html_env.from_string(source).render(
        items=[{"name": "Widget", "price": 9.5}, {"name": "Gadget", "price": 3}],
        names=["Ada", "Grace"],
    )
    assert out == (
        "1/2  Widget 9.50, 2/2  Gadget 3.00 | Ada, Grace | ab x-  y Hi Ada a_b [0, 1, 2]"
    )


def test_templates_cannot_change_their_data():
    with pytest.raises(SecurityError):
        html_env.from_string("{{ items.append(items) }}").render(items=[1])


def test_the_render_deadline_stops_a_loop_that_stays_under_the_step_limit(settings):
    settings.MESSAGING_TEMPLATE_MAX_STEPS = 10**12  # only the time limit can stop it now
    settings.MESSAGING_TEMPLATE_RENDER_SECONDS = 0.2
    source = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateLimitExceeded, match="took longer than 0.2 s"):
        html_env.from_string(source).render()


# --- A loop bounded by a contact attribute: saves, then is bounded per recipient --------------

ATTRIBUTE_LOOP = (
    "<p>Hello</p>{% for a in range(attributes.n|int) %}"
    "{% for b in range(attributes.n|int) %}.{% endfor %}{% endfor %}"
)


@pytest.fixture
def attribute_template(ws, layout):
    return make_template(ws, layout, html=ATTRIBUTE_LOOP)  # the sample recipient has no `n`


@pytest.mark.parametrize(("n", "reason"), [(10**9, "range(1000000000)"), (5000, "loop iterations")])
def test_preview_for_a_recipient_whose_data_makes_it_huge_is_an_inline_error(
    ws, attribute_template, n, reason
):
    contact = make_contact(ws, email="big@example.com", attributes={"n": n})
    with pytest.raises(ValidationFailed) as caught:
        template_render_preview(workspace=ws, template=attribute_template, contact=contact)
    assert reason in caught.value.fields["template"][0]


def test_the_live_preview_page_shows_the_limit_inline(owner_client, ws, layout):
    make_contact(ws, email="big@example.com", attributes={"n": 10**9})
    response = owner_client.post(
        reverse("messaging:template_preview"),
        {
            "name": "Loop",
            "subject": "Hi",
            "layout": str(layout.pk),
            "html": ATTRIBUTE_LOOP,
            "preview_contact": "big@example.com",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"too big to render: range(1000000000) has 1,000,000,000 items" in response.content


def test_a_draft_preview_of_a_bomb_is_refused_before_rendering(ws, layout):
    content = EmailContent(name="x", subject="Hi", html="{{ 'x'|center(10**9) }}", layout=layout)
    with pytest.raises(ValidationFailed) as caught:
        email_draft_preview(workspace=ws, content=content)
    assert "too big to render" in caught.value.fields["html"][0]


def test_a_send_over_a_limit_fails_that_message_with_the_reason_and_sends_the_others(
    ws, attribute_template, smtp_settings, django_capture_on_commit_callbacks
):
    people = {
        "huge": make_contact(ws, email="huge@example.com", attributes={"n": 10**9}),
        "nested": make_contact(ws, email="nested@example.com", attributes={"n": 5000}),
        "small": make_contact(ws, email="small@example.com", attributes={"n": 3}),
    }
    with django_capture_on_commit_callbacks(execute=True):
        for key, contact in people.items():
            message_enqueue(
                workspace=ws,
                contact=contact,
                channel="email",
                template=attribute_template,
                source_type="workflow",
                source_id=f"limits:{key}",
            )
    smtp_settings.wait_for(1)
    by_key = {m.source_id.split(":")[1]: m for m in Message.objects.filter(workspace=ws)}
    assert by_key["small"].status == MessageStatus.SENT
    assert by_key["huge"].status == MessageStatus.FAILED
    assert "range(1000000000) has 1,000,000,000 items" in by_key["huge"].error
    assert by_key["nested"].status == MessageStatus.FAILED
    assert "loop iterations" in by_key["nested"].error
    assert [m["To"] for m in smtp_settings.messages] == ["small@example.com"]


@pytest.mark.integration
def test_a_real_worker_stops_a_runaway_render_at_the_deadline_and_goes_on(transactional_db, ws):
    """Only the time limit can stop this render (the step limit is lifted in the worker):
    the message fails with the reason and the worker delivers the next one."""
    from messaging.services import layout_save
    from tests.support.worker import running_worker, smtp_env, wait_for

    from .conftest import LAYOUT
    from .smtp_sink import SmtpSink

    layout = layout_save(workspace=ws, name="Default", html=LAYOUT)
    silent_loop = (  # no output: neither the step nor the output limit can end it first
        "<p>Hello</p>{% for a in range(attributes.n|int) %}"
        "{% for b in range(attributes.n|int) %}{% endfor %}{% endfor %}"
    )
    template = make_template(ws, layout, html=silent_loop)
    runaway = make_contact(ws, email="runaway@example.com", attributes={"n": 10000})
    after = make_contact(ws, email="after@example.com", attributes={"n": 2})
    sink = SmtpSink().start()
    env = smtp_env(
        sink, MESSAGING_TEMPLATE_MAX_STEPS=str(10**12), MESSAGING_TEMPLATE_RENDER_SECONDS="1"
    )
    try:
        with running_worker(extra_env=env):
            stuck = message_enqueue(
                workspace=ws,
                contact=runaway,
                channel="email",
                template=template,
                source_type="workflow",
                source_id="worker:runaway",
            )
            wait_for(
                lambda: Message.objects.get(pk=stuck.pk).status == MessageStatus.FAILED,
                message="the runaway message failed",
            )
            message_enqueue(
                workspace=ws,
                contact=after,
                channel="email",
                template=template,
                source_type="workflow",
                source_id="worker:after",
            )
            assert [m["To"] for m in sink.wait_for(1, timeout=60)] == ["after@example.com"]
    finally:
        sink.stop()
    assert "rendering took longer than 1.0 s" in Message.objects.get(pk=stuck.pk).error
