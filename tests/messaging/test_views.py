"""The Messages section: pages, the editor, live preview, test send, history, broadcasts,
suppressions, settings, privacy — and every object page tried by an outsider."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from contacts.models import Contact, Event
from messaging.models import Broadcast, EmailTemplate, Message, Suppression, Topic
from messaging.services import sending_pause, sms_template_save, suppression_add, topic_save
from messaging.services.broadcasts import BroadcastInput, broadcast_save
from workspaces.roles import Role

from .conftest import BODY, make_contact
from .test_broadcasts import static_segment

pytestmark = pytest.mark.django_db

FOOTER = '<p>{{ workspace.physical_address }} <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'


def form_data(template_or_none=None, **overrides):
    data = {
        "name": "Welcome",
        "subject": "Hi {{ first_name }}",
        "preheader": "",
        "from_name": "",
        "from_email": "",
        "reply_to": "",
        "layout": "",
        "topic": "",
        "html": BODY,
        "text": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def objects(ws, template, contact):
    topic = topic_save(workspace=ws, name="Newsletter")
    sms = sms_template_save(workspace=ws, name="Promo", body="Hi {{ first_name }}")
    suppression = suppression_add(
        workspace=ws, channel="email", address="x@y.test", reason="manual"
    )
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="Sale", segment_id=static_segment(ws, [contact]).pk, email_template=template
        ),
    )
    return {
        "template": template,
        "version": template.current_version,
        "layout": template.layout,
        "sms": sms,
        "topic": topic,
        "suppression": suppression,
        "broadcast": broadcast,
        "contact": contact,
    }


def object_urls(o):
    t, v = o["template"].pk, o["version"].pk
    return {
        "get": [
            reverse("messaging:template_edit", args=[t]),
            reverse("messaging:template_version", args=[t, v]),
            reverse("messaging:layout_edit", args=[o["layout"].pk]),
            reverse("messaging:sms_template_edit", args=[o["sms"].pk]),
            reverse("messaging:broadcast_detail", args=[o["broadcast"].pk]),
            reverse("messaging:broadcast_edit", args=[o["broadcast"].pk]),
            reverse("messaging:topic_edit", args=[o["topic"].pk]),
            reverse("messaging:privacy_contact", args=[o["contact"].pk]),
            reverse("messaging:privacy_export", args=[o["contact"].pk]),
        ],
        "post": [
            reverse("messaging:template_edit", args=[t]),
            reverse("messaging:template_test_send", args=[t]),
            reverse("messaging:template_restore", args=[t, v]),
            reverse("messaging:template_archive", args=[t]),
            reverse("messaging:layout_edit", args=[o["layout"].pk]),
            reverse("messaging:sms_template_edit", args=[o["sms"].pk]),
            reverse("messaging:broadcast_edit", args=[o["broadcast"].pk]),
            reverse("messaging:broadcast_send", args=[o["broadcast"].pk]),
            reverse("messaging:broadcast_cancel", args=[o["broadcast"].pk]),
            reverse("messaging:suppression_delete", args=[o["suppression"].pk]),
            reverse("messaging:topic_edit", args=[o["topic"].pk]),
            reverse("messaging:privacy_erase", args=[o["contact"].pk]),
        ],
    }


def test_every_object_page_404s_for_another_workspace(outsider_client, objects):
    urls = object_urls(objects)
    for url in urls["get"]:
        assert outsider_client.get(url).status_code == 404, url
    for url in urls["post"]:
        assert (
            outsider_client.post(url, {"to": "a@b.test", "confirm": "ada@example.com"}).status_code
            == 404
        ), url
    assert Contact.objects.filter(pk=objects["contact"].pk).exists()
    assert Suppression.objects.filter(pk=objects["suppression"].pk).exists()
    assert Broadcast.objects.get(pk=objects["broadcast"].pk).status == "draft"


def test_lists_show_nothing_of_another_workspace(outsider_client, objects):
    for name in ("list", "broadcast_list", "suppression_list", "topic_list"):
        response = outsider_client.get(reverse(f"messaging:{name}"))
        assert response.status_code == 200
        body = response.content.decode()
        assert "Welcome" not in body and "Sale" not in body and "x@y.test" not in body
        assert "Newsletter" not in body
    response = outsider_client.get(reverse("messaging:privacy"), {"q": "ada@example.com"})
    assert b"ada@example.com</td>" not in response.content


def test_the_outsider_cannot_preview_with_anothers_contact(outsider_client, objects):
    response = outsider_client.post(
        reverse("messaging:template_preview"),
        {**form_data(html=BODY + FOOTER), "preview_contact": str(objects["contact"].pk)},
    )
    assert response.status_code == 200
    assert b"for a sample contact" in response.content


def test_every_page_renders_for_the_owner(owner_client, objects):
    for url in object_urls(objects)["get"]:
        assert owner_client.get(url).status_code == 200, url
    for name in (
        "list",
        "template_new",
        "layout_new",
        "sms_template_new",
        "broadcast_list",
        "broadcast_new",
        "sto_report",
        "suppression_list",
        "topic_list",
        "settings",
        "privacy",
    ):
        assert owner_client.get(reverse(f"messaging:{name}")).status_code == 200, name


def test_the_sidebar_links_to_messages(owner_client, ws):
    response = owner_client.get(reverse("home"))
    assert f'href="{reverse("messaging:list")}"'.encode() in response.content


def test_the_template_list_runs_a_fixed_number_of_queries(
    owner_client, ws, layout, django_assert_max_num_queries
):
    from messaging.services import messaging_settings

    from .conftest import make_template

    messaging_settings(workspace=ws)
    for index in range(5):
        make_template(ws, layout, name=f"T{index}")
    with django_assert_max_num_queries(11):  # auth + session + settings + three lists
        response = owner_client.get(reverse("messaging:list"))
    assert response.content.count(b'href="/messages/templates/') >= 5


def test_saving_a_template_with_an_error_shows_the_line_and_changes_nothing(owner_client, template):
    url = reverse("messaging:template_edit", args=[template.pk])
    response = owner_client.post(url, form_data(html="<p>ok</p>\n<p>{{ nmae }}</p>"))
    assert response.status_code == 400
    assert b"Line 2: unknown variable &#x27;nmae&#x27;" in response.content
    template.refresh_from_db()
    assert template.current_version.number == 1


def test_saving_from_the_editor_creates_a_version(owner_client, ws, layout):
    response = owner_client.post(
        reverse("messaging:template_new"), form_data(layout=str(layout.pk), name="Fresh")
    )
    template = EmailTemplate.objects.get(workspace=ws, name="Fresh")
    assert response.status_code == 302
    assert template.current_version.number == 1


def test_the_live_preview_renders_for_a_chosen_contact_at_two_widths(owner_client, ws, layout):
    make_contact(ws, email="grace@example.com", first_name="Grace")
    response = owner_client.post(
        reverse("messaging:template_preview"),
        {**form_data(layout=str(layout.pk)), "preview_contact": "grace@example.com"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Hello Grace" in body  # inside the iframes' srcdoc (escaped)
    assert 'class="iframe-desktop"' in body and 'class="iframe-mobile"' in body
    assert "<html" not in body.split("srcdoc=")[0]  # a partial, not the whole page


def test_the_live_preview_lists_problems_with_lines(owner_client, layout):
    response = owner_client.post(
        reverse("messaging:template_preview"),
        form_data(layout=str(layout.pk), html="<p>\n{% for %}</p>"),
    )
    assert b"Line 2: syntax error" in response.content


def test_a_viewer_cannot_save_or_send(ws, objects):
    from tests.conftest import add_member, login_client

    viewer = login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))
    template = objects["template"]
    assert (
        viewer.post(reverse("messaging:template_edit", args=[template.pk]), form_data()).status_code
        == 403
    )
    assert (
        viewer.post(reverse("messaging:broadcast_send", args=[objects["broadcast"].pk])).status_code
        == 403
    )
    assert viewer.get(reverse("messaging:list")).status_code == 200


def test_a_test_send_from_the_editor_arrives(
    owner_client, template, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("messaging:template_test_send", args=[template.pk]), {"to": "qa@acme.test"}
        )
    assert response.status_code == 302
    [received] = smtp_settings.wait_for(1)
    assert received["To"] == "qa@acme.test" and received["Subject"].startswith("[Test] ")


def test_restoring_a_version_from_history(owner_client, template):
    first = template.current_version
    owner_client.post(
        reverse("messaging:template_edit", args=[template.pk]),
        form_data(layout=str(template.layout_id), subject="Changed"),
    )
    owner_client.post(reverse("messaging:template_restore", args=[template.pk, first.pk]))
    template.refresh_from_db()
    assert template.current_version.number == 3 and template.subject == first.subject


def test_a_broadcast_is_created_and_sent_from_the_ui(
    owner_client, ws, template, contact, smtp_settings, django_capture_on_commit_callbacks
):
    segment = static_segment(ws, [contact])
    response = owner_client.post(
        reverse("messaging:broadcast_new"),
        {
            "name": "Launch",
            "channel": "email",
            "segment": segment.pk,
            "email_template": template.pk,
            "ab_sample_percent": 20,
            "ab_wait_minutes": 60,
            "ab_metric": "open",
        },
    )
    broadcast = Broadcast.objects.get(workspace=ws, name="Launch")
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("messaging:broadcast_send", args=[broadcast.pk]), {"recipients": "1"}
        )
    smtp_settings.wait_for(1)
    detail = owner_client.get(
        reverse("messaging:broadcast_detail", args=[broadcast.pk]), HTTP_HX_REQUEST="true"
    )
    assert b"1 of 1 processed" in detail.content and b"<html" not in detail.content


def test_a_broadcast_form_names_the_missing_field(owner_client, ws, template):
    response = owner_client.post(
        reverse("messaging:broadcast_new"),
        {
            "name": "x",
            "channel": "email",
            "ab_sample_percent": 20,
            "ab_wait_minutes": 1,
            "ab_metric": "open",
        },
    )
    assert response.status_code == 400
    assert not Broadcast.objects.filter(workspace=ws).exists()


def test_suppressions_are_listed_added_and_removed(owner_client, ws):
    url = reverse("messaging:suppression_list")
    owner_client.post(
        url, {"channel": "email", "address": "Bad@Example.com", "reason": "manual", "detail": ""}
    )
    suppression = Suppression.objects.get(workspace=ws)
    assert suppression.address == "bad@example.com"
    assert b"bad@example.com" in owner_client.get(url).content
    bad = owner_client.post(url, {"channel": "email", "address": "nope", "reason": "manual"})
    assert bad.status_code == 400 and b"not an email address" in bad.content
    owner_client.post(reverse("messaging:suppression_delete", args=[suppression.pk]))
    assert not Suppression.objects.filter(workspace=ws).exists()


def test_a_paused_workspace_shows_a_banner_and_resumes(owner_client, ws):
    sending_pause(workspace=ws, reason="25 delivery failures")
    page = owner_client.get(reverse("messaging:list"))
    assert b"Sending is paused" in page.content and b"25 delivery failures" in page.content
    owner_client.post(reverse("messaging:sending_resume"))
    assert b"Sending is paused" not in owner_client.get(reverse("messaging:list")).content


def test_topics_are_added_from_the_ui(owner_client, ws):
    owner_client.post(reverse("messaging:topic_list"), {"name": "Events", "description": "Meetups"})
    assert Topic.objects.filter(workspace=ws, key="events").exists()


def test_privacy_export_downloads_everything_about_the_contact(owner_client, ws, contact):
    from contacts.services import event_record

    event_record(workspace=ws, contact=contact, name="Signed Up", properties={"plan": "pro"})
    response = owner_client.get(reverse("messaging:privacy_export", args=[contact.pk]))
    data = json.loads(response.content)
    assert response["Content-Disposition"].startswith("attachment")
    assert data["profile"]["email"] == "ada@example.com"
    assert [e["name"] for e in data["events"]] == ["Signed Up"]


def test_privacy_erase_needs_the_address_typed_and_then_erases(owner_client, ws, contact):
    url = reverse("messaging:privacy_erase", args=[contact.pk])
    owner_client.post(url, {"confirm": "someone-else@example.com"})
    assert Contact.objects.filter(pk=contact.pk).exists()
    owner_client.post(url, {"confirm": "ada@example.com"})
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Event.objects.filter(workspace=ws, contact_id=contact.pk).exists()
    assert not Message.objects.filter(workspace=ws, contact_id=contact.pk).exists()


def test_the_sms_composer_counts_what_is_sent_and_estimates_its_cost(owner_client, settings):
    client = owner_client
    settings.MESSAGING_SMS_PRICE_PER_SEGMENT = 0.01
    body = "Hi {{ first_name }}! " + "x" * 150  # 2 segments once the opt-out line is added
    response = client.post("/messages/sms/preview/", {"body": body})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Reply STOP to opt out." in html
    assert "2 segments" in html and "$0.0200" in html and "$20.00 per 1,000" in html
    page = client.get("/messages/sms/new/").content.decode()
    assert "Insert a merge tag" in page and "first_name | default(&quot;there&quot;)" in page


def test_a_wrong_erase_confirmation_is_a_400_next_to_the_field_and_erases_nothing(
    owner_client, ws, contact
):
    url = reverse("messaging:privacy_erase", args=[contact.pk])
    response = owner_client.post(url, {"confirm": "someone-else@example.com"})
    html = response.content.decode()
    assert response.status_code == 400
    field = html.split('id="confirm"')[1].split("</div>")[0]
    assert "Type the contact&#x27;s email address (or id) to confirm the erasure." in field
    assert "<code>ada@example.com</code>" in html  # the label still says what to type
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_preview_for_a_contact_named_with_a_nul_says_so_instead_of_failing(
    owner_client, layout, template
):
    bad = {"preview_contact": "ada\x00@example.com"}
    email = owner_client.post(
        reverse("messaging:template_preview"), {**form_data(layout=str(layout.pk)), **bad}
    )
    sms = owner_client.post("/messages/sms/preview/", {"body": "Hi", **bad})
    for response in (email, sms):
        assert response.status_code == 200  # the htmx partial shows the problem in place
        assert "preview_contact: Null characters are not allowed." in response.content.decode()
    sent = owner_client.post(
        reverse("messaging:template_test_send", args=[template.pk]),
        {"to": "qa@acme.test", **bad},
        follow=True,
    )
    assert "Null characters are not allowed." in sent.content.decode()
    assert "Test sent" not in sent.content.decode()
