"""The recompute a change of attribution settings starts, as the pages show it: a progress
card htmx polls (like an import's), the report's old figures marked as being recomputed,
the switch to the new ones, and who may start or resume it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.attribution import attribution_config_save, attribution_state
from analytics.attribution.recompute import attribution_recompute_run
from analytics.models import AttributionConfig
from tests.conftest import add_member, login_client
from workspaces.roles import Role

from .test_attribution_views import HX, SETTINGS_URL, URL, VALID, broadcast_sale

pytestmark = pytest.mark.django_db

STATUS_URL = reverse("analytics:attribution_recompute_status")
RECOMPUTE_URL = reverse("analytics:attribution_recompute")
TEN_DAYS = {**VALID, "conversion_events": "Order Completed", "click_window_days": "10"}


def pending(ws, **changes):
    """Settings saved, their recompute queued (its task not run: on_commit is not executed)."""
    return attribution_config_save(workspace=ws, data={**TEN_DAYS, **changes})


def test_saving_new_settings_shows_a_progress_card_polled_by_htmx(ws, owner_client):
    response = owner_client.post(SETTINGS_URL, TEN_DAYS, follow=True)
    html = response.content.decode()
    assert "being credited again" in html
    assert 'id="attribution-recompute"' in html and 'hx-trigger="every 1s"' in html
    assert 'role="progressbar"' in html and "Recompute waiting for a worker" in html
    # the form shows what was asked for, not the settings still in force
    assert 'name="click_window_days" value="10"' in html


def test_the_status_card_follows_the_recompute_then_tells_the_page(ws, member_client):
    broadcast_sale(ws, "Spring", 30)
    state = pending(ws)
    busy = member_client.get(STATUS_URL, **HX)
    html = busy.content.decode()
    assert html.lstrip().startswith('<section class="card" id="attribution-recompute"')
    assert "0 of 0 conversions" in html and "HX-Trigger" not in busy
    attribution_recompute_run(workspace=ws, generation=state.pending_generation)
    done = member_client.get(STATUS_URL, **HX)
    assert done["HX-Trigger"] == "attribution-recomputed"
    assert "every 1s" not in done.content.decode() and "Credit up to date" in done.content.decode()


def test_the_report_keeps_the_old_figures_marked_as_being_recomputed(ws, member_client):
    broadcast_sale(ws, "Spring", 30)
    pending(ws, conversion_events="Paid")
    html = member_client.get(URL).content.decode()
    assert "Recompute waiting for a worker" in html and 'hx-trigger="every 1s"' in html
    assert "$30.00" in html  # the figures of the settings still in force
    assert "conversions: Order Completed, deal.won" in html
    assert 'hx-trigger="attribution-recomputed from:body"' in html  # reloads when it is done
    assert "Resume" not in html


def test_progress_is_shown_in_numbers(ws, member_client):
    state = pending(ws)
    AttributionConfig.objects.filter(workspace=ws).update(
        recompute_status="running", recompute_total=400, recompute_done=100
    )
    html = member_client.get(STATUS_URL, **HX).content.decode()
    assert "100 of 400 conversions · 25%" in html and 'aria-valuenow="25"' in html
    assert state.pending_generation == 1


def test_a_stopped_recompute_can_be_resumed_by_an_owner(ws, owner_client, member_client):
    pending(ws)
    AttributionConfig.objects.filter(workspace=ws).update(
        recompute_status="failed", recompute_error="worker lost"
    )
    assert "Resume" not in member_client.get(SETTINGS_URL).content.decode()
    html = owner_client.get(SETTINGS_URL).content.decode()
    assert "Recompute stopped" in html and "worker lost" in html and "Resume" in html
    response = owner_client.post(RECOMPUTE_URL, **HX)
    assert response.status_code == 200 and "every 1s" in response.content.decode()
    assert attribution_state(workspace=ws).status == "queued"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETER])
def test_only_those_who_manage_the_workspace_start_a_recompute(ws, role):
    client = login_client(add_member(ws, f"{role}@acme.test", role))
    assert client.post(RECOMPUTE_URL).status_code == 403
    assert not AttributionConfig.objects.filter(workspace=ws).exists()
    assert client.get(STATUS_URL).status_code == 200  # anyone may watch


def test_recompute_answers_only_a_post(owner_client):
    assert owner_client.get(RECOMPUTE_URL).status_code == 405


def test_the_owner_starts_a_recompute_of_the_current_settings(
    ws, owner_client, django_capture_on_commit_callbacks
):
    broadcast_sale(ws, "Spring", 30)
    with django_capture_on_commit_callbacks(execute=True):  # the task runs (eagerly)
        response = owner_client.post(RECOMPUTE_URL)
    assert response.status_code == 302
    state = attribution_state(workspace=ws)
    assert (state.generation, state.pending, state.status) == (1, None, "idle")
    assert state.recomputed_at > timezone.now() - timedelta(minutes=1)
    assert "$30.00" in owner_client.get(URL).content.decode()


def test_another_workspaces_recompute_is_neither_shown_nor_started(ws, other_ws, outsider_client):
    pending(ws)
    html = outsider_client.get(STATUS_URL, **HX).content.decode()
    assert "Credit up to date" in html and "every 1s" not in html
    outsider_client.post(RECOMPUTE_URL)
    assert attribution_state(workspace=ws).pending_generation == 1  # ours untouched
    assert attribution_state(workspace=other_ws).pending_generation == 1  # theirs started


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    for url in (STATUS_URL, RECOMPUTE_URL):
        response = client.post(url) if url == RECOMPUTE_URL else client.get(url)
        assert response.status_code == 302 and "/login/" in response.url


def test_a_recompute_without_progress_for_minutes_offers_to_resume(ws, owner_client):
    pending(ws)
    AttributionConfig.objects.filter(workspace=ws).update(recompute_status="running")
    assert "recompute-resume" not in owner_client.get(STATUS_URL, **HX).content.decode()
    AttributionConfig.objects.filter(workspace=ws).update(
        updated_at=timezone.now() - timedelta(minutes=6)
    )
    html = owner_client.get(STATUS_URL, **HX).content.decode()
    assert "may have stopped" in html and "recompute-resume" in html
