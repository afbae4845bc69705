"""Attribution recomputed when its settings change, in batches with progress, the old figures
shown until the new ones are complete; and late touches — a click *received* after the
conversion it came before — credited by the pipeline and by a recompute alike."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from analytics.attribution import (
    attribution_config_save,
    attribution_recompute_start,
    attribution_state,
    attribution_totals,
    processing,
    recompute,
)
from analytics.attribution.recompute import attribution_recompute_run
from analytics.models import AttributedConversion, AttributionConfig
from contacts.models import Contact

from .test_attribution import T0, convert, days, process, touch

pytestmark = pytest.mark.django_db

SETTINGS = {
    "conversion_events": "Order Completed, deal.won",  # the defaults
    "click_window_days": 5,
    "open_window_days": 1,
    "default_model": "last_touch",
}
PERIOD = {"start": T0 - days(30), "end": T0 + days(30), "model": "last_touch"}


@pytest.fixture(autouse=True)
def only_attribution_processor(monkeypatch):
    import analytics.attribution  # noqa: F401  (registered)
    from contacts import hooks

    mine = [entry for entry in hooks._processors if entry[1] == "analytics.attribution"]
    monkeypatch.setattr(hooks, "_processors", mine)


def buyer(ws, n):
    return Contact.objects.create(workspace=ws, email=f"buyer{n}@example.test")


def credited(event, model):
    """Who a conversion's credit goes to under the settings the report shows."""
    current = attribution_state(workspace=event.workspace).generation
    rows = AttributedConversion.objects.filter(event_id=event.pk, model=model, generation=current)
    return {row.message_id: row.credit for row in rows}


def attributed(ws):
    return attribution_totals(workspace=ws, **PERIOD)["attributed_revenue"]


@pytest.fixture
def orders(ws):
    """Three orders of 100, processed with the defaults (click window 5 days):
    - a: a click 2 days before → attributed;
    - b: a click 8 days before → not attributed (attributed with a 10-day window);
    - c: no click at all."""
    made = {}
    for n, clicked in (("a", days(2)), ("b", days(8)), ("c", None)):
        contact = buyer(ws, n)
        if clicked:
            touch(ws, contact, "click", T0 - clicked, message=ord(n), source_id="7")
        made[n] = convert(ws, contact, revenue=100)
    process(ws, *made.values())
    assert attributed(ws) == Decimal("100.00")
    return made


def save(ws, **changes):
    return attribution_config_save(workspace=ws, data={**SETTINGS, **changes})


def run(ws, **kwargs):
    state = attribution_state(workspace=ws)
    return attribution_recompute_run(workspace=ws, generation=state.pending_generation, **kwargs)


# --- recompute ---------------------------------------------------------------------------


def test_a_longer_click_window_credits_past_conversions_once_recomputed(ws, orders):
    state = save(ws, click_window_days=10)
    assert state.recomputing and state.pending_generation == 1
    assert attributed(ws) == Decimal("100.00")  # the old figures until it is done
    assert run(ws) is True
    assert attributed(ws) == Decimal("200.00")
    state = attribution_state(workspace=ws)
    assert not state.recomputing and state.settings.click_window_days == 10
    assert state.generation == 1 and state.recomputed_at is not None
    # the old generation's rows are gone: three models for each of three orders
    assert AttributedConversion.objects.filter(workspace=ws).count() == 9
    assert set(AttributedConversion.objects.values_list("generation", flat=True)) == {1}


def test_the_old_figures_stay_until_the_last_batch_and_progress_is_reported(
    ws, orders, monkeypatch
):
    save(ws, click_window_days=10)
    calls = []
    real = recompute.conversions_credit

    def second_batch_fails(**kwargs):
        calls.append(len(kwargs["conversions"]))
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(recompute, "conversions_credit", second_batch_fails)
    with pytest.raises(RuntimeError):
        run(ws, batch_size=1)
    state = attribution_state(workspace=ws)
    assert (state.status, state.done, state.total) == ("failed", 1, 3)
    assert state.percent == 33 and "worker lost" in state.error
    assert attributed(ws) == Decimal("100.00")  # half-written new rows are not shown

    monkeypatch.setattr(recompute, "conversions_credit", real)
    attribution_recompute_start(workspace=ws)  # "Resume": goes on after the last batch
    assert run(ws, batch_size=1) is True
    assert attributed(ws) == Decimal("200.00")
    assert AttributedConversion.objects.filter(workspace=ws).count() == 9


def test_running_the_same_recompute_twice_writes_nothing_twice(ws, orders):
    save(ws, click_window_days=10)
    generation = attribution_state(workspace=ws).pending_generation
    assert attribution_recompute_run(workspace=ws, generation=generation) is True
    rows = set(AttributedConversion.objects.values_list("event_id", "model", "message_id"))
    # a duplicate task for the same generation finds nothing pending and does nothing
    assert attribution_recompute_run(workspace=ws, generation=generation) is False
    # "Recompute all conversions" with the same settings: a new generation, the same credit
    attribution_recompute_start(workspace=ws)
    assert run(ws) is True
    assert set(AttributedConversion.objects.values_list("event_id", "model", "message_id")) == rows
    assert AttributedConversion.objects.count() == 9


def test_a_new_conversion_event_is_credited_in_the_past_too(ws, orders):
    contact = buyer(ws, "paid")
    touch(ws, contact, "click", T0 - days(1), message=900, source_id="7")
    paid = convert(ws, contact, name="Paid", revenue=40)
    process(ws, paid)
    assert not AttributedConversion.objects.filter(event_id=paid.pk).exists()
    save(ws, conversion_events="Order Completed, Paid")
    run(ws)
    assert credited(paid, "last_touch") == {900: Decimal(1)}
    assert attributed(ws) == Decimal("140.00")


def test_settings_saved_again_supersede_the_recompute_under_way(ws, orders):
    first = save(ws, click_window_days=10).pending_generation
    second = save(ws, click_window_days=2).pending_generation
    assert second > first
    # the task of the first settings finds them replaced and stops without switching
    assert attribution_recompute_run(workspace=ws, generation=first) is False
    assert attribution_state(workspace=ws).settings.click_window_days == 5
    assert attribution_recompute_run(workspace=ws, generation=second) is True
    assert attribution_state(workspace=ws).settings.click_window_days == 2
    assert attributed(ws) == Decimal("100.00")  # a's click was 2 days before: still in


def test_going_back_to_the_current_settings_cancels_the_recompute(ws, orders):
    save(ws, click_window_days=10)
    state = save(ws)  # the defaults again
    assert not state.recomputing and state.pending is None
    only_the_model = save(ws, default_model="linear")
    assert not only_the_model.recomputing  # every model is always written: nothing to redo
    assert AttributionConfig.objects.get(workspace=ws).default_model == "linear"


def test_a_generation_after_a_cancelled_one_starts_clean(ws, orders):
    cancelled = save(ws, click_window_days=10).pending_generation
    # the cancelled recompute had written some rows before it was called off
    recompute._begin(ws, cancelled)
    recompute._batch(ws, cancelled, 2)
    save(ws)
    state = save(ws, conversion_events="Paid")
    assert state.pending_generation > cancelled
    run(ws)
    assert attributed(ws) == Decimal("0.00")  # no Paid events: nothing left of the old rows
    assert not AttributedConversion.objects.filter(generation=cancelled).exists()


def test_conversions_arriving_during_a_recompute_are_credited_for_both_settings(ws, orders):
    save(ws, click_window_days=10)
    contact = buyer(ws, "d")
    touch(ws, contact, "click", T0 - days(7), message=950, source_id="7")
    late_order = convert(ws, contact, revenue=50)
    process(ws, late_order)  # the pipeline, while the recompute is pending
    assert attributed(ws) == Decimal("100.00")  # current settings: 7 days is too far
    generations = set(
        AttributedConversion.objects.filter(event_id=late_order.pk).values_list(
            "generation", "message_id"
        )
    )
    assert generations == {(0, None), (1, 950)}
    run(ws)
    assert attributed(ws) == Decimal("250.00")


def test_another_workspaces_conversions_are_not_recomputed(ws, other_ws, orders):
    theirs = convert(other_ws, Contact.objects.create(workspace=other_ws), revenue=5)
    process(other_ws, theirs)
    save(ws, click_window_days=10)
    run(ws)
    assert set(
        AttributedConversion.objects.filter(event_id=theirs.pk).values_list("generation", flat=True)
    ) == {0}
    assert attribution_state(workspace=other_ws).generation == 0


# --- late touches ---------------------------------------------------------------------------


def test_a_click_received_after_the_conversion_is_credited_by_the_pipeline(ws):
    contact = buyer(ws, "late")
    order = convert(ws, contact, revenue=60)
    process(ws, order)
    assert credited(order, "last_touch") == {None: Decimal(1)}
    # the ESP's webhook for a click made an hour before the order arrives afterwards
    late_click = touch(ws, contact, "click", T0 - timedelta(hours=1), message=77)
    assert late_click.received_at > order.received_at
    process(ws, late_click)
    assert credited(order, "last_touch") == {77: Decimal(1)}
    assert credited(order, "linear") == {77: Decimal(1)}
    assert AttributedConversion.objects.filter(event_id=order.pk).count() == 3  # no leftovers
    assert attributed(ws) == Decimal("60.00")


def test_a_late_click_after_the_conversion_or_past_its_window_changes_nothing(ws):
    contact = buyer(ws, "late")
    order = convert(ws, contact, revenue=60)
    process(ws, order)
    after = touch(ws, contact, "click", T0 + timedelta(minutes=5), message=78)
    too_early = touch(ws, contact, "click", T0 - days(6), message=79)
    process(ws, after, too_early)
    assert credited(order, "last_touch") == {None: Decimal(1)}


def test_a_late_click_is_credited_by_a_recompute_too(ws):
    contact = buyer(ws, "late")
    order = convert(ws, contact, revenue=60)
    process(ws, order)
    touch(ws, contact, "click", T0 - timedelta(hours=1), message=80)  # stored, never processed
    attribution_recompute_start(workspace=ws)
    run(ws)
    assert credited(order, "last_touch") == {80: Decimal(1)}


def test_a_late_click_during_a_recompute_is_credited_in_both_generations(ws, orders):
    save(ws, click_window_days=10)
    c = orders["c"]
    late = touch(ws, Contact.objects.get(pk=c.contact_id), "click", T0 - days(7), message=81)
    process(ws, late)
    assert credited(c, "last_touch") == {None: Decimal(1)}  # current: 7 days is too far
    run(ws)
    assert credited(c, "last_touch") == {81: Decimal(1)}  # the new 10-day window takes it


def test_a_batch_with_neither_conversions_nor_touches_writes_nothing(ws):
    page_view = convert(ws, buyer(ws, "x"), name="Viewed Page")
    assert processing.attribution_process_events(workspace=ws, events=[page_view]) == 0
    assert not AttributedConversion.objects.exists()
