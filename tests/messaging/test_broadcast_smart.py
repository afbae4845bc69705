"""A smart A/B broadcast (issue #18, "content that learns"): a test wave split evenly, then
waves allocated by Thompson sampling on the clicks so far with a floor per variant, the last
wave taking everyone left — and what that saved against an even split."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from messaging.models import Broadcast, Message
from messaging.services.broadcasts import (
    VariantInput,
    broadcast_send,
    broadcast_status,
    broadcasts_tick,
)
from workspaces.errors import ValidationFailed

from .test_broadcasts import new_broadcast, static_segment

pytestmark = pytest.mark.django_db


def _audience(ws, n):
    return Contact.objects.bulk_create(
        [
            Contact(workspace=ws, email=f"s{i}@example.com", email_consent="subscribed")
            for i in range(n)
        ]
    )


def _sent_to(broadcast, label):
    return Message.objects.filter(broadcast=broadcast, variant__label=label).count()


def test_smart_waves_send_more_to_the_better_variant_and_keep_the_floor(
    ws, template, django_capture_on_commit_callbacks
):
    people = _audience(ws, 400)
    broadcast = new_broadcast(
        ws,
        template,
        static_segment(ws, people),
        ab_enabled=True,
        ab_mode="smart",
        ab_waves=3,
        ab_floor_percent=10,
        ab_sample_percent=20,  # the test wave: 80, 40 per variant
        ab_wait_minutes=60,
        ab_metric="click",
        variants=[VariantInput("A", subject="Plain"), VariantInput("B", subject="Better")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=broadcast)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.TESTING
    assert (_sent_to(broadcast, "A"), _sent_to(broadcast, "B")) == (40, 40)

    # B's recipients click half the time, A's never
    clicked = Message.objects.filter(broadcast=broadcast, variant__label="B").order_by("pk")[:20]
    Message.objects.filter(pk__in=[m.pk for m in clicked]).update(clicked_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        broadcasts_tick(now=timezone.now() + timedelta(minutes=61))
    broadcast.refresh_from_db()
    first, second = broadcast.ab_allocations
    assert first == {"size": 80, "shares": {"A": 0.5, "B": 0.5}}
    # 0 of 40 against 20 of 40: B is best in every draw → A keeps its floor of 10 %
    assert second["shares"] == pytest.approx({"A": 0.1, "B": 0.9}, abs=0.001)
    assert second["size"] == 160  # half of the 320 left: two waves to go
    wave_b = _sent_to(broadcast, "B") - 40
    wave_a = _sent_to(broadcast, "A") - 40
    assert wave_a + wave_b == 160
    assert 128 <= wave_b <= 160 and wave_a >= 4  # 90 % of 160 is 144 (sd 3.8); the floor holds
    assert broadcast.status == Broadcast.Status.TESTING

    with django_capture_on_commit_callbacks(execute=True):
        broadcasts_tick(now=timezone.now() + timedelta(minutes=122))
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SENT
    assert len(broadcast.ab_allocations) == 3 and broadcast.ab_allocations[2]["size"] == 160
    assert Message.objects.filter(broadcast=broadcast).count() == 400  # everyone, once
    assert (
        Message.objects.filter(broadcast=broadcast).values("contact_id").distinct().count() == 400
    )

    status = broadcast_status(broadcast=broadcast)
    assert not status["ab_decision"].sample_ratio_mismatch  # uneven on purpose: no SRM
    assert status["ab_regret"].entered == 400


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"ab_waves": 11}, "ab_waves"), ({"ab_floor_percent": 60}, "ab_floor_percent")],
)
def test_a_smart_test_with_impossible_waves_or_floor_is_refused_by_name(
    ws, template, fields, named
):
    people = _audience(ws, 3)
    with pytest.raises(ValidationFailed) as caught:
        new_broadcast(
            ws,
            template,
            static_segment(ws, people),
            ab_enabled=True,
            ab_mode="smart",
            variants=[VariantInput("A"), VariantInput("B")],
            **fields,
        )
    assert named in caught.value.fields
    assert not Broadcast.objects.filter(workspace=ws).exists()
