"""Broadcasts as a marketer meets them (issue #16): the form in words, the audience counted
before sending (exclusion segments, consent, suppressions — the selectors the send uses), a
confirmation naming how many people receive it, rates as percentages, subjects as read, no
A/B winner without data, and no "Cancel" once everything went out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import Broadcast, Message, MessageStatus, TopicOptOut
from messaging.selectors import audience_size, broadcast_topic_id
from messaging.services import suppression_add, topic_save
from messaging.services.broadcasts import (
    BroadcastInput,
    VariantInput,
    broadcast_save,
    broadcast_send,
    broadcasts_tick,
)
from messaging.services.config import messaging_settings

from .conftest import make_contact, make_template
from .test_broadcasts import static_segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(ws):
    """Twelve members: seven reachable, one in the exclusion segment and one of each reason
    the send check refuses (unsubscribed, pending, no address, suppressed, topic opt-out)."""
    reachable = [make_contact(ws, email=f"ok{i}@example.com") for i in range(7)]
    vip = make_contact(ws, email="vip@example.com")
    refused = [
        make_contact(ws, email="gone@example.com", email_consent="unsubscribed"),
        make_contact(ws, email="unconfirmed@example.com", email_consent="pending"),
        make_contact(ws, email="", phone="+15555550123"),
        make_contact(ws, email="Bounced@Example.com"),
        make_contact(ws, email="optout@example.com"),
    ]
    suppression_add(workspace=ws, channel="email", address="bounced@example.com", reason="manual")
    topic = topic_save(workspace=ws, name="Newsletter")
    TopicOptOut.objects.create(workspace=ws, contact=refused[4], topic=topic)
    return {
        "segment": static_segment(ws, [*reachable, vip, *refused], name="Everyone"),
        "vips": static_segment(ws, [vip], name="VIPs"),
        "reachable": reachable,
        "topic": topic,
    }


def _draft(ws, template, crowd, **fields):
    return broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="Spring sale",
            segment_id=crowd["segment"].pk,
            exclude_segment_ids=[crowd["vips"].pk],
            email_template=template,
            topic=crowd["topic"],
            **fields,
        ),
    )


# --- The form in words ---------------------------------------------------------------------


def test_the_broadcast_form_names_every_field_in_words_with_help(owner_client, template):
    html = owner_client.get(reverse("messaging:broadcast_new")).content.decode()
    for raw in ("Ab sample percent", "Utm campaign", "Sms template", "Ab wait minutes"):
        assert raw not in html
    for label in (
        "Test sample (% of the audience)",
        "Campaign name in links (utm_campaign)",
        "SMS template",
        "Minimum recipients per variant",
        "Leave out",
    ):
        assert label in html
    assert "Added to every tracked link. Empty: the broadcast&#x27;s name." in html


@pytest.mark.parametrize(
    ("url", "raw", "words"),
    [
        (
            "messaging:settings",
            ["Email requires opt in", "Utm enabled", "Sms from", "Frequency cap count"],
            ["Email only contacts who opted in", "Add UTM parameters to links", "SMS sender"],
        ),
        ("messaging:template_new", ["From email", "Reply to"], ["Sender address", "Reply-to"]),
        ("messaging:suppression_list", ["Detail"], ["Note"]),
    ],
)
def test_the_other_messages_forms_speak_in_words_too(owner_client, url, raw, words):
    html = owner_client.get(reverse(url)).content.decode()
    labels = " ".join(re.findall(r"<label[^>]*>(.*?)</label>", html, re.S))
    for label in raw:
        assert label not in labels
    for label in words:
        assert label in labels


def test_checkboxes_sit_inside_their_labels(owner_client, template):
    html = owner_client.get(reverse("messaging:broadcast_new")).content.decode()
    for name in ("local_time", "sto_enabled", "ab_enabled"):
        assert re.search(
            rf'<label for="id_{name}"><input type="checkbox" name="{name}"[^>]*> <span>', html
        ), name


# --- Audience before sending -----------------------------------------------------------------


def test_the_audience_counts_exclusions_consent_suppressions_and_topic_opt_outs(
    ws, template, crowd
):
    size = audience_size(
        workspace=ws,
        segment_id=crowd["segment"].pk,
        exclude_segment_ids=[crowd["vips"].pk],
        channel="email",
        topic_id=crowd["topic"].pk,
    )
    assert (size.members, size.excluded, size.unreachable, size.recipients) == (13, 1, 5, 7)


def test_the_count_is_what_the_send_then_delivers(
    ws, template, crowd, smtp_settings, django_capture_on_commit_callbacks
):
    """The audience count and the send-time check must agree, reason by reason."""
    config = messaging_settings(workspace=ws)
    config.frequency_cap_count, config.frequency_cap_days = 1, 7
    config.save()
    capped = crowd["reachable"][0]
    Message.objects.create(
        workspace=ws,
        contact=capped,
        channel="email",
        source_type="workflow",
        source_id="earlier",
        status=MessageStatus.SENT,
        sent_at=timezone.now() - timedelta(days=1),
    )
    broadcast = _draft(ws, template, crowd)
    size = audience_size(
        workspace=ws,
        segment_id=broadcast.segment_id,
        exclude_segment_ids=broadcast.exclude_segment_ids,
        channel="email",
        topic_id=broadcast_topic_id(workspace=ws, topic=broadcast.topic, template=template),
    )
    assert size.recipients == 6  # the cap leaves out one more
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=broadcast)
    smtp_settings.wait_for(size.recipients)
    sent = Message.objects.filter(broadcast=broadcast, status=MessageStatus.SENT)
    assert sent.count() == size.recipients
    assert sorted(smtp_settings.recipients()) == sorted(c.email for c in crowd["reachable"][1:])
    assert not Message.objects.filter(broadcast=broadcast, contact__email="vip@example.com")


def test_the_form_shows_the_audience_live(owner_client, ws, template, crowd):
    url = reverse("messaging:broadcast_audience")
    query = {
        "channel": "email",
        "segment": crowd["segment"].pk,
        "topic": crowd["topic"].pk,
        "email_template": template.pk,
    }
    whole = owner_client.get(url, query, HTTP_HX_REQUEST="true").content.decode()
    assert '<strong id="audience-recipients">8</strong> people would receive it' in whole
    query["exclude_segments"] = [crowd["vips"].pk]
    fewer = owner_client.get(url, query, HTTP_HX_REQUEST="true").content.decode()
    assert '<strong id="audience-recipients">7</strong> people' in fewer
    assert "1 left out by the segments ticked above" in fewer and "5 cannot be reached" in fewer
    assert "<html" not in fewer
    nothing = owner_client.get(url, {"channel": "email"}, HTTP_HX_REQUEST="true")
    assert "Choose a segment to see" in nothing.content.decode()


def test_the_live_count_404s_for_another_workspaces_segment(outsider_client, other_ws, crowd):
    url = reverse("messaging:broadcast_audience")
    assert outsider_client.get(url, {"segment": crowd["segment"].pk}).status_code == 404
    mine = static_segment(other_ws, [make_contact(other_ws, email="g@example.com")], name="G")
    assert (
        outsider_client.get(
            url, {"segment": mine.pk, "exclude_segments": [crowd["vips"].pk]}
        ).status_code
        == 404
    )
    answer = outsider_client.get(url, {"segment": mine.pk, "channel": "email"})
    assert answer.status_code == 200 and 'id="audience-recipients">1<' in answer.content.decode()


def test_an_exclusion_segment_is_saved_from_the_form_and_refused_when_it_is_the_segment(
    owner_client, ws, template, crowd
):
    data = {
        "name": "Sale",
        "channel": "email",
        "segment": crowd["segment"].pk,
        "exclude_segments": [crowd["vips"].pk],
        "email_template": template.pk,
        "ab_sample_percent": 20,
        "ab_wait_minutes": 60,
        "ab_metric": "open",
    }
    assert owner_client.post(reverse("messaging:broadcast_new"), data).status_code == 302
    saved = Broadcast.objects.get(workspace=ws, name="Sale")
    assert saved.exclude_segment_ids == [crowd["vips"].pk]
    data.update(name="Odd", exclude_segments=[crowd["segment"].pk])
    response = owner_client.post(reverse("messaging:broadcast_new"), data)
    assert response.status_code == 400
    assert "the segment you send to cannot also be left out" in response.content.decode()
    assert not Broadcast.objects.filter(workspace=ws, name="Odd").exists()


def test_another_workspaces_segment_cannot_be_an_exclusion(outsider_client, other_ws, crowd):
    template = make_template(
        other_ws,
        name="Theirs",
        html="<p>{{ workspace.physical_address }} <a href='{{ unsubscribe_url }}'>u</a></p>",
    )
    mine = static_segment(other_ws, [make_contact(other_ws, email="g@example.com")], name="G")
    response = outsider_client.post(
        reverse("messaging:broadcast_new"),
        {
            "name": "Sneaky",
            "channel": "email",
            "segment": mine.pk,
            "exclude_segments": [crowd["vips"].pk],
            "email_template": template.pk,
            "ab_sample_percent": 20,
            "ab_wait_minutes": 60,
            "ab_metric": "open",
        },
    )
    assert response.status_code == 400
    assert not Broadcast.objects.filter(workspace=other_ws).exists()


# --- Confirmation naming the number -----------------------------------------------------------


def test_the_send_button_asks_to_confirm_the_number_of_people(owner_client, ws, template, crowd):
    broadcast = _draft(ws, template, crowd)
    html = owner_client.get(reverse("messaging:broadcast_detail", args=[broadcast.pk])).content
    html = html.decode()
    assert 'data-confirm="Send to 7 people?"' in html
    assert '<input type="hidden" name="recipients" value="7">' in html
    assert "13 in Everyone · 1 left out by VIPs · 5 cannot be reached" in html


@pytest.mark.parametrize(
    "confirmed, said",
    [("9", "7 people, not 9"), ("seven", "7 people")],
)
def test_a_send_confirmed_for_another_number_sends_nothing_and_says_the_new_one(
    owner_client, ws, template, crowd, confirmed, said
):
    broadcast = _draft(ws, template, crowd)
    url = reverse("messaging:broadcast_send", args=[broadcast.pk])
    response = owner_client.post(url, {"recipients": confirmed}, follow=True)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DRAFT
    assert not Message.objects.filter(broadcast=broadcast).exists()
    assert f"The audience is now {said}: check it and confirm again." in (response.content.decode())
    owner_client.post(url, {})
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DRAFT  # no number confirmed: nothing sent


# --- Rates, subjects, A/B without data, Cancel ------------------------------------------------


@pytest.fixture
def eight(ws):
    return [make_contact(ws, email=f"e{i}@example.com", first_name=f"E{i}") for i in range(8)]


def test_rates_read_as_percentages(
    owner_client, ws, template, eight, smtp_settings, django_capture_on_commit_callbacks
):
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="Rates", segment_id=static_segment(ws, eight).pk, email_template=template
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=broadcast)
    smtp_settings.wait_for(8)
    first = Message.objects.filter(broadcast=broadcast).order_by("pk").first()
    Message.objects.filter(pk=first.pk).update(opened_at=timezone.now())
    html = owner_client.get(reverse("messaging:broadcast_detail", args=[broadcast.pk])).content
    assert b'<span class="stat-value">12.5%</span><span class="stat-label">open rate' in html
    assert b"0.125" not in html


def test_subjects_read_as_a_sample_contact_would_see_them(owner_client, ws, template):
    html = owner_client.get(reverse("messaging:list")).content.decode()
    assert "Welcome, Ada" in html
    assert "Welcome, {{" not in html.replace('title="Welcome, {{', "")


def _ab(ws, template, people, **fields):
    fields.setdefault("ab_metric", "open")  # these tests decide on opens (the default: clicks)
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="Subject test",
            segment_id=static_segment(ws, people).pk,
            email_template=template,
            ab_enabled=True,
            ab_sample_percent=50,
            ab_wait_minutes=1,
            variants=[
                VariantInput("A", subject="Hi {{ first_name }}"),
                VariantInput("B", subject="Last chance"),
            ],
            **fields,
        ),
    )
    broadcast_send(workspace=ws, broadcast=broadcast)
    return broadcast


def test_no_winner_is_called_below_the_minimum_sample(
    owner_client, ws, template, eight, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = _ab(ws, template, eight)  # 2 per variant, the minimum is 500
    smtp_settings.wait_for(4)
    Message.objects.filter(broadcast=broadcast, variant__label="B").update(
        opened_at=timezone.now()
    )  # B "wins" 2 to 0 — on four people
    with django_capture_on_commit_callbacks(execute=True):
        broadcasts_tick(now=timezone.now() + timedelta(minutes=2))
    smtp_settings.wait_for(8)
    broadcast.refresh_from_db()
    assert broadcast.ab_winner.label == "A" and broadcast.status == Broadcast.Status.SENT
    assert broadcast.ab_no_winner_reason == (
        "not enough data yet: each variant needs at least 500; A has 2 (498 more), B has 2 (498 more)"
    )
    rest = Message.objects.filter(broadcast=broadcast).exclude(variant__label="B")
    assert rest.count() == 6
    html = owner_client.get(reverse("messaging:broadcast_detail", args=[broadcast.pk])).content
    html = html.decode()
    assert "No winner called" in html and "Variant A (the default) went to everyone else" in html
    assert ">winner<" not in html
    assert "Hi Ada" in html  # the variant's subject as read, not its template code


def test_no_winner_is_called_on_equal_opens(
    ws, template, eight, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = _ab(ws, template, eight, ab_min_recipients=2)
    smtp_settings.wait_for(4)
    with django_capture_on_commit_callbacks(execute=True):
        broadcasts_tick(now=timezone.now() + timedelta(minutes=2))
    broadcast.refresh_from_db()
    assert broadcast.ab_winner.label == "A"
    assert broadcast.ab_no_winner_reason == (
        "no difference: the best variants have the same rate (0.0%)"
    )


def test_a_fully_sent_broadcast_offers_no_cancel(
    owner_client, ws, template, eight, smtp_settings, django_capture_on_commit_callbacks
):
    later = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="Later",
            segment_id=static_segment(ws, eight, name="L").pk,
            email_template=template,
            scheduled_at=timezone.now() + timedelta(days=1),
        ),
    )
    broadcast_send(workspace=ws, broadcast=later)
    page = owner_client.get(reverse("messaging:broadcast_detail", args=[later.pk])).content
    assert reverse("messaging:broadcast_cancel", args=[later.pk]).encode() in page
    done = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="Done", segment_id=static_segment(ws, eight).pk, email_template=template
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=done)
    smtp_settings.wait_for(8)
    page = owner_client.get(reverse("messaging:broadcast_detail", args=[done.pk])).content
    assert reverse("messaging:broadcast_cancel", args=[done.pk]).encode() not in page
    assert b">Cancel<" not in page


def test_the_page_shows_each_variants_chance_to_be_best_and_the_call(
    owner_client, ws, template, eight, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = _ab(ws, template, eight, ab_min_recipients=2)
    smtp_settings.wait_for(4)
    Message.objects.filter(broadcast=broadcast, variant__label="B").update(
        opened_at=timezone.now()
    )  # 2 of 2 against 0 of 2: best at 95 % exactly — on the line, so no call is made on it

    html = owner_client.get(reverse("messaging:broadcast_detail", args=[broadcast.pk])).content
    html = html.decode()

    assert "<th>Chance to be best</th><th>Expected loss</th><th>vs A</th>" in html
    assert '<span class="muted">control</span>' in html  # A is what B is tested against
    assert "p = 0.046" in html  # z = 2 for 2/2 against 0/2
    assert 'id="ab-call"' in html and "Beta-Binomial" in html
    assert 'id="ab-srm"' not in html
