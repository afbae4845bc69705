"""Templates: save-time checks with line numbers, the sandbox, layouts, versions, compilation."""

from __future__ import annotations

import pytest
from jinja2.sandbox import SecurityError

from messaging.models import TemplateVersion
from messaging.models.templates import ImmutableError
from messaging.services import (
    EmailContent,
    email_template_restore,
    email_template_save,
    layout_save,
    sms_template_save,
    template_render_preview,
)
from messaging.templating.sandbox import html_env
from messaging.templating.sms import sms_info
from workspaces.errors import ValidationFailed

from .conftest import BODY, LAYOUT, make_contact, make_template

pytestmark = pytest.mark.django_db


def save_error(ws, layout, html, subject="Hi") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        make_template(ws, layout, html=html, subject=subject)
    return caught.value


def test_a_syntax_error_is_reported_with_its_line(ws, layout):
    error = save_error(ws, layout, "<p>one</p>\n<p>two</p>\n{% if first_name %}<p>three</p>")
    assert error.fields["html"][0].startswith("Line 3:")
    assert "syntax error" in error.message


def test_an_unknown_variable_is_reported_with_its_line(ws, layout):
    error = save_error(ws, layout, "<p>Hi</p>\n<p>{{ frist_name }}</p>")
    assert error.fields["html"] == ["Line 2: unknown variable 'frist_name'"]


def test_an_unknown_contact_field_is_reported(ws, layout):
    error = save_error(ws, layout, "<p>{{ contact.password }}</p>")
    assert error.fields["html"] == ["Line 1: unknown variable 'contact.password'"]


def test_an_unknown_filter_is_reported_with_its_line(ws, layout):
    error = save_error(ws, layout, "<p>\n{{ first_name|shout }}</p>")
    assert error.fields["html"][0].startswith("Line 2:") and "shout" in error.fields["html"][0]


def test_the_subject_is_checked_too(ws, layout):
    error = save_error(ws, layout, BODY, subject="Hi {{ nickname }}")
    assert error.fields["subject"] == ["Line 1: unknown variable 'nickname'"]


def test_variables_the_schema_knows_are_accepted(ws, layout):
    html = """{% if in_segment("1") %}x{% endif %}""".replace('in_segment("1")', "true")
    html += """
<p>{{ first_name|default("there") }} {{ contact.company }} {{ attributes.plan }}</p>
{% for item in event.properties.cart_items %}<p>{{ item.name }}</p>{% endfor %}
{% set total = event.properties.total %}{{ total }} {{ workspace.name }}"""
    template = make_template(ws, layout, html=html)
    assert template.current_version.number == 1


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ contact.__class__ }}",
        "{{ attributes['__class__'] }}",
        "{{ first_name|attr('__class__') }}",
        "{{ _tendril_segments }}",
    ],
)
def test_templates_cannot_reach_python_internals(ws, layout, expression):
    error = save_error(ws, layout, f"<p>ok</p>\n{expression}")
    assert error.fields["html"][0].startswith("Line 2:")


def test_the_sandbox_refuses_internals_even_without_the_save_time_check():
    for source in ("{{ ''.__class__ }}", "{{ x.__init__ }}", "{{ ''.format.__globals__ }}"):
        with pytest.raises(SecurityError):
            html_env.from_string(source).render(x={})


def test_the_sandbox_bounds_repetition():
    with pytest.raises(SecurityError):
        html_env.from_string("{{ 'a' * 100000000 }}").render()


def test_a_layout_without_unsubscribe_link_or_address_is_refused_naming_what_is_missing(ws):
    with pytest.raises(ValidationFailed) as caught:
        layout_save(workspace=ws, name="Bare", html="<html><body>{{ content }}</body></html>")
    message = caught.value.fields["html"][0]
    assert "{{ unsubscribe_url }}" in message and "{{ workspace.physical_address }}" in message
    with pytest.raises(ValidationFailed) as caught:
        layout_save(
            workspace=ws,
            name="Half",
            html="<body>{{ content }}<a href='{{ unsubscribe_url }}'>x</a></body>",
        )
    assert "physical_address" in caught.value.fields["html"][0]
    assert "unsubscribe_url" not in caught.value.fields["html"][0]


def test_a_layout_needs_its_content_placeholder(ws):
    with pytest.raises(ValidationFailed) as caught:
        layout_save(workspace=ws, name="No content", html=LAYOUT.replace("{{ content }}", ""))
    assert "{{ content }}" in caught.value.fields["html"][0]


def test_a_template_without_layout_must_carry_the_footer_itself(ws):
    with pytest.raises(ValidationFailed) as caught:
        make_template(ws, None, html="<p>Hi</p>")
    assert "unsubscribe" in caught.value.fields["html"][0]


def test_css_is_inlined_once_into_the_version_keeping_media_queries(ws, template):
    version = template.current_version
    assert 'style="color: #0f766e;"' in version.compiled_html
    assert "@media (max-width: 600px)" in version.compiled_html
    assert '{{ first_name|default("there") }}' in version.compiled_html  # still a template
    assert "{{ unsubscribe_url }}" in version.compiled_html


def test_jinja_loops_between_table_rows_survive_inlining(ws, layout):
    html = (
        "<table><tr><th>Item</th></tr>{% for item in event.properties.cart_items %}"
        "<tr><td>{{ item.name }}</td></tr>{% endfor %}</table>"
    )
    template = make_template(ws, layout, html=html)
    preview = template_render_preview(workspace=ws, template=template)
    assert "<td>Widget</td>" in preview.html
    assert preview.html.index("Item") < preview.html.index("Widget")


def test_the_text_part_is_generated_from_the_html_when_empty(ws, template):
    text = template.current_version.compiled_text
    assert "Hello {{ first_name" in text
    assert "See pricing (https://example.com/pricing?ref=mail&x=1)" in text
    assert "<p" not in text and "color" not in text


def test_saving_creates_immutable_versions_and_restore_makes_a_new_one(ws, template, layout):
    first = template.current_version
    template = email_template_save(
        workspace=ws,
        template=template,
        content=EmailContent(name="Welcome", subject="Second", html=BODY, layout=layout),
    )
    assert template.current_version.number == 2
    unchanged = email_template_save(
        workspace=ws,
        template=template,
        content=EmailContent(name="Welcome", subject="Second", html=BODY, layout=layout),
    )
    assert unchanged.current_version.number == 2  # nothing changed, no new version
    restored = email_template_restore(workspace=ws, version=first)
    assert restored.current_version.number == 3
    assert restored.subject == first.subject
    first.subject = "tampered"
    with pytest.raises(ImmutableError):
        first.save()
    assert TemplateVersion.objects.filter(template=template).count() == 3


def test_a_rejected_save_changes_nothing(ws, template, layout):
    with pytest.raises(ValidationFailed):
        email_template_save(
            workspace=ws,
            template=template,
            content=EmailContent(name="Welcome", subject="x", html="{{ broken", layout=layout),
        )
    template.refresh_from_db()
    assert template.current_version.number == 1 and template.html == BODY


def test_changing_a_layout_gives_its_templates_a_new_version(ws, template, layout):
    layout_save(
        workspace=ws, layout=layout, name=layout.name, html=LAYOUT.replace("#0f766e", "#123456")
    )
    template.refresh_from_db()
    assert template.current_version.number == 2
    assert "#123456" in template.current_version.compiled_html


def test_preview_renders_for_a_chosen_contact(ws, template):
    contact = make_contact(ws, email="grace@example.com", first_name="Grace")
    preview = template_render_preview(workspace=ws, template=template, contact=contact)
    assert preview.subject == "Welcome, Grace"
    assert "Hello Grace" in preview.html


def test_preview_without_a_contact_uses_a_sample(ws, template):
    assert "Hello Ada" in template_render_preview(workspace=ws, template=template).html


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("Hello {{ first_name }}", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("Grüße 😀", "UCS-2", 1),
        ("ł" * 71, "UCS-2", 2),
    ],
)
def test_sms_encoding_and_segment_count(body, encoding, segments):
    info = sms_info(body)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_sms_templates_are_checked_and_versioned(ws):
    with pytest.raises(ValidationFailed) as caught:
        sms_template_save(workspace=ws, name="Promo", body="Hi {{ frist_name }}")
    assert caught.value.fields["body"] == ["Line 1: unknown variable 'frist_name'"]
    template = sms_template_save(workspace=ws, name="Promo", body="Hi {{ first_name }}")
    assert template.current_version.number == 1
    preview = template_render_preview(workspace=ws, template=template)
    # the preview is what the recipient gets: marketing SMS carry the opt-out line
    assert preview.body == "Hi Ada\nReply STOP to opt out." and preview.sms.segments == 1
