"""Recommendations in email: the products block and `{{ recommendations }}` are filled in per
contact at send time (one bounded set of queries per batch), and in previews."""

from __future__ import annotations

import pytest

from messaging.blocks import validate
from messaging.services import EmailContent, email_template_save, message_enqueue
from messaging.services.preview import template_render_preview

pytestmark = pytest.mark.django_db

DOCUMENT = {
    "version": 1,
    "blocks": [
        {
            "id": "recs",
            "type": "products",
            "title": "Picked for {{ first_name }}",
            "count": 2,
            "per_row": 2,
            "button_text": "Shop now",
        },
        {"id": "foot", "type": "footer"},
    ],
}


def test_the_products_block_is_checked_like_any_block():
    bad = {
        **DOCUMENT,
        "blocks": [
            {"id": "r", "type": "products", "count": 13, "per_row": 5, "title": 3},
            DOCUMENT["blocks"][1],
        ],
    }
    assert validate(bad) == {
        "blocks[0].count": "the products block: shows 1 to 12 products",
        "blocks[0].per_row": "the products block: puts 1 to 4 products side by side",
        "blocks[0].title": "the products block: the title must be text",
    }


def test_each_contact_gets_their_own_products_through_the_smtp_sink(
    ws,
    history,
    smtp_settings,
    django_capture_on_commit_callbacks,
):
    template = email_template_save(
        workspace=ws,
        content=EmailContent(
            name="Recs", subject="{{ recommendations[0].name }} and more", document=DOCUMENT
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("t", "v"):
            message_enqueue(
                workspace=ws,
                contact=history[name],
                channel="email",
                template=template,
                source_type="workflow",
                source_id=f"run-{name}:node-1",
            )
    received = {mail["To"]: mail for mail in smtp_settings.wait_for(2)}
    t_mail, v_mail = received["t@example.com"], received["v@example.com"]
    assert t_mail["Subject"] == "Product B and more"  # t: bought together B, C
    assert v_mail["Subject"] == "Product D and more"  # v: popular in Y: D, E
    t_html = t_mail.get_body(("html",)).get_content()
    v_html = v_mail.get_body(("html",)).get_content()
    assert "Picked for T" in t_html and "Product B" in t_html and "Product C" in t_html
    assert "Product D" not in t_html  # count 2
    assert "Product D" in v_html and "Product E" in v_html and "Product B" not in v_html
    assert 'src="https://shop.test/i/B.png"' in t_html and "Shop now" in t_html
    assert "{{" not in t_html and "{%" not in t_html
    assert "/m/c/" in t_html  # product links go through the click tracker


def test_a_preview_for_a_contact_shows_their_products_and_without_one_a_sample(ws, history):
    template = email_template_save(
        workspace=ws, content=EmailContent(name="Recs", subject="Hi", document=DOCUMENT)
    )
    mine = template_render_preview(workspace=ws, template=template, contact=history["t"])
    assert "Product B" in mine.html and "Product C" in mine.html
    sample = template_render_preview(workspace=ws, template=template)
    assert "Product A" in sample.html  # the workspace's most purchased products


def test_the_merge_tag_menu_offers_the_top_recommendation(ws):
    from messaging.selectors import merge_tags

    tags = {t.label: t.tag for t in merge_tags(workspace=ws)}
    assert tags["Top recommendation: name"] == '{{ recommendations[0].name | default("") }}'
