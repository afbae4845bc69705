"""The messaging management API: templates with versions, preview and test send, layouts,
topics, suppressions, messages, broadcasts, privacy — and the outsider's 404s."""

from __future__ import annotations

import pytest

from contacts.models import Contact
from messaging.models import Broadcast, Suppression
from messaging.services import suppression_add

from .conftest import BODY
from .test_broadcasts import static_segment

pytestmark = pytest.mark.django_db

API = "/api/v1/messaging"


def test_a_template_with_an_error_is_refused_with_the_line(api, layout):
    response = api.post(
        f"{API}/email-templates/",
        {"name": "x", "subject": "Hi", "html": "<p>\n{{ frist_name }}</p>", "layout": layout.pk},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]["html"] == ["Line 2: unknown variable 'frist_name'"]


def test_templates_are_created_versioned_previewed_and_restored(api, ws, layout, contact):
    created = api.post(
        f"{API}/email-templates/",
        {"name": "Hello", "subject": "Hi {{ first_name }}", "html": BODY, "layout": layout.pk},
        format="json",
    ).json()
    assert created["version"] == 1
    patched = api.patch(
        f"{API}/email-templates/{created['id']}/", {"subject": "Yo {{ first_name }}"}, format="json"
    ).json()
    assert patched["version"] == 2 and patched["html"] == BODY
    versions = api.get(f"{API}/email-templates/{created['id']}/versions/").json()
    assert [v["number"] for v in versions] == [2, 1]
    preview = api.post(
        f"{API}/email-templates/{created['id']}/preview/", {"contact": contact.pk}, format="json"
    ).json()
    assert preview["subject"] == "Yo Ada" and "Hello Ada" in preview["html"]
    first = versions[1]["id"]
    restored = api.post(f"{API}/email-templates/{created['id']}/versions/{first}/restore/").json()
    assert restored["version"] == 3 and restored["subject"] == "Hi {{ first_name }}"


def test_a_test_send_through_the_api(
    api, template, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{API}/email-templates/{template.pk}/test/", {"to": "dev@acme.test"}, format="json"
        )
    assert response.status_code == 202
    assert smtp_settings.wait_for(1)[0]["To"] == "dev@acme.test"


def test_a_layout_missing_its_footer_is_refused(api):
    response = api.post(
        f"{API}/layouts/", {"name": "Bare", "html": "<body>{{ content }}</body>"}, format="json"
    )
    assert response.status_code == 400
    assert "unsubscribe_url" in response.json()["error"]["fields"]["html"][0]


def test_sms_template_preview_counts_segments(api):
    created = api.post(
        f"{API}/sms-templates/", {"name": "Promo", "body": "Hi {{ first_name }} 😀"}, format="json"
    ).json()
    preview = api.post(f"{API}/sms-templates/{created['id']}/preview/", {}, format="json").json()
    # what the recipient gets: the opt-out line is part of the count
    assert preview["body"] == "Hi Ada 😀\nReply STOP to opt out." and preview["encoding"] == "UCS-2"
    assert preview["segments"] == 1


def test_suppressions_through_the_api(api, ws):
    created = api.post(
        f"{API}/suppressions/",
        {"address": "Bounce@Example.com", "reason": "hard_bounce"},
        format="json",
    )
    assert created.status_code == 201 and created.json()["address"] == "bounce@example.com"
    listed = api.get(f"{API}/suppressions/", {"reason": "hard_bounce"}).json()
    assert [row["address"] for row in listed["results"]] == ["bounce@example.com"]
    assert api.delete(f"{API}/suppressions/{created.json()['id']}/").status_code == 204
    bad = api.post(f"{API}/suppressions/", {"address": "nope", "reason": "manual"}, format="json")
    assert bad.status_code == 400 and "address" in bad.json()["error"]["fields"]


def test_a_broadcast_through_the_api(
    api, ws, template, contact, smtp_settings, django_capture_on_commit_callbacks
):
    segment = static_segment(ws, [contact])
    created = api.post(
        f"{API}/broadcasts/",
        {"name": "API sale", "segment": segment.pk, "email_template": template.pk},
        format="json",
    ).json()
    assert created["status"] == "draft"
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"{API}/broadcasts/{created['id']}/send/")
    assert sent.status_code == 202
    smtp_settings.wait_for(1)
    stats = api.get(f"{API}/broadcasts/{created['id']}/stats/").json()
    assert stats["sent"] == 1 and stats["total"] == 1
    messages = api.get(f"{API}/messages/", {"broadcast": created["id"]}).json()["results"]
    assert [m["status"] for m in messages] == ["sent"]
    assert api.get(f"{API}/messages/", {"contact": "x"}).status_code == 400


def test_a_broadcast_with_another_workspaces_template_is_refused(api, ws, other_ws, contact):
    from messaging.services import layout_save

    from .conftest import LAYOUT, make_template

    theirs = make_template(other_ws, layout_save(workspace=other_ws, name="L", html=LAYOUT))
    response = api.post(
        f"{API}/broadcasts/",
        {"name": "x", "segment": static_segment(ws, [contact]).pk, "email_template": theirs.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "email_template" in response.json()["error"]["fields"]
    assert not Broadcast.objects.filter(workspace=ws).exists()


def test_privacy_export_and_erase_through_the_api(api, ws, contact):
    export = api.get(f"{API}/privacy/contacts/{contact.pk}/export/").json()
    assert export["profile"]["email"] == "ada@example.com"
    erased = api.post(f"{API}/privacy/contacts/{contact.pk}/erase/")
    assert erased.status_code == 200
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_the_outsider_gets_404_for_every_object(outsider_api, ws, template, contact, layout):
    from messaging.services import sms_template_save, topic_save

    sms = sms_template_save(workspace=ws, name="s", body="hi")
    topic = topic_save(workspace=ws, name="News")
    suppression = suppression_add(
        workspace=ws, channel="email", address="a@b.test", reason="manual"
    )
    broadcast_id = Broadcast.objects.create(
        workspace=ws, name="b", segment_id=static_segment(ws, [contact]).pk, email_template=template
    ).pk
    version = template.current_version.pk
    gets = [
        f"{API}/email-templates/{template.pk}/",
        f"{API}/email-templates/{template.pk}/versions/",
        f"{API}/sms-templates/{sms.pk}/",
        f"{API}/layouts/{layout.pk}/",
        f"{API}/topics/{topic.pk}/",
        f"{API}/suppressions/{suppression.pk}/",
        f"{API}/broadcasts/{broadcast_id}/",
        f"{API}/broadcasts/{broadcast_id}/stats/",
        f"{API}/privacy/contacts/{contact.pk}/export/",
    ]
    for url in gets:
        assert outsider_api.get(url).status_code == 404, url
    posts = [
        f"{API}/email-templates/{template.pk}/preview/",
        f"{API}/email-templates/{template.pk}/test/",
        f"{API}/email-templates/{template.pk}/versions/{version}/restore/",
        f"{API}/sms-templates/{sms.pk}/preview/",
        f"{API}/broadcasts/{broadcast_id}/send/",
        f"{API}/broadcasts/{broadcast_id}/cancel/",
        f"{API}/privacy/contacts/{contact.pk}/erase/",
    ]
    for url in posts:
        assert outsider_api.post(url, {"to": "x@y.test"}, format="json").status_code == 404, url
    assert outsider_api.delete(f"{API}/suppressions/{suppression.pk}/").status_code == 404
    assert (
        outsider_api.patch(
            f"{API}/email-templates/{template.pk}/", {"name": "x"}, format="json"
        ).status_code
        == 404
    )
    assert Suppression.objects.filter(pk=suppression.pk).exists()
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert outsider_api.get(f"{API}/messages/").json()["results"] == []


def test_the_schema_describes_the_messaging_api(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/messaging/email-templates/" in response.content
