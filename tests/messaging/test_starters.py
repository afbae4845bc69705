"""Starter templates: each compiles with the block compiler, saves as a template, and passes
every pre-send check — links, alt text, footer, size and a SpamAssassin score under the
threshold (Debian's spamassassin, run for real)."""

from __future__ import annotations

import shutil

import pytest

from messaging import starters
from messaging.blocks import validate
from messaging.models import EmailTemplate

pytestmark = pytest.mark.django_db
KEYS = ["welcome", "newsletter", "abandoned_cart", "receipt", "re_engagement"]


def test_every_starter_is_a_valid_block_document():
    assert [s.key for s in starters.all_starters()] == KEYS
    for starter in starters.all_starters():
        assert validate(starter.document) == {}, starter.key


@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="needs Debian's spamassassin")
@pytest.mark.parametrize("key", KEYS)
def test_each_starter_passes_every_check_and_saves(api, key):
    starter = starters.starter(key)
    body = {
        "document": starter.document,
        "subject": starter.subject,
        "preheader": starter.preheader,
    }
    response = api.post("/api/v1/messaging/email-templates/check/", body, format="json")
    assert response.status_code == 200, response.content
    report = response.json()
    failing = [c for c in report["checks"] if not c["ok"]]
    assert failing == [], (failing, report["spam"])
    assert report["spam"]["available"] and report["spam"]["score"] < report["spam"]["threshold"]
    saved = api.post(
        "/api/v1/messaging/email-templates/",
        {"name": starter.name, **body},
        format="json",
    )
    assert saved.status_code == 201, saved.content
    template = EmailTemplate.objects.get(pk=saved.json()["id"])
    assert template.document == starter.document
    assert "{{ unsubscribe_url }}" in template.html or "unsubscribe_url" in template.html


def test_a_starter_list_is_a_fresh_copy_each_time():
    first = starters.starter("welcome").as_dict()
    first["document"]["blocks"].clear()
    assert starters.starter("welcome").as_dict()["document"]["blocks"]
