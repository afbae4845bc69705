"""Funnel exclusion steps: "A then B then C, leaving out those who did X between A and C".

A contact is left out of the whole funnel (every step, the first included) when the excluded
event falls after their `from_step` event and before their `to_step` event, or — when they
never reached `to_step` — before their window closed. Counts below are worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.funnels import exclusions_parse, funnel_compute, funnel_save, steps_parse
from analytics.models import Funnel
from workspaces.errors import ValidationFailed

from .test_funnels import PERIOD, STEPS, T0, page, person, track

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
DEMO = "Demo Booked"


def result_of(ws, exclusions, steps=STEPS, window_days=30):
    return funnel_compute(
        workspace=ws, steps=steps, window_days=window_days, exclusions=exclusions, **PERIOD
    )


def counts(ws, exclusions, **kwargs):
    return [row.contacts for row in result_of(ws, exclusions, **kwargs).steps]


@pytest.fixture
def journeys(ws):
    """Seven visitors of /pricing (step 1) → Signed Up (2) → Order Completed (3), 30-day
    window; X is a demo booking."""
    people = {
        name: person(ws, name)
        for name in ("clean", "x_1_2", "x_before", "x_after", "x_no_2", "x_late", "x_2_3")
    }
    for contact in people.values():
        page(ws, contact, "/pricing", T0)
    # clean: A, B, C — no demo at all
    track(ws, people["clean"], "Signed Up", T0 + H)
    track(ws, people["clean"], "Order Completed", T0 + 2 * H)
    # x_1_2: A, X, B, C — the demo between steps 1 and 2
    track(ws, people["x_1_2"], DEMO, T0 + H)
    track(ws, people["x_1_2"], "Signed Up", T0 + 2 * H)
    track(ws, people["x_1_2"], "Order Completed", T0 + 3 * H)
    # x_before: X, then A, B, C — the demo before the funnel began
    track(ws, people["x_before"], DEMO, T0 - H)
    track(ws, people["x_before"], "Signed Up", T0 + H)
    track(ws, people["x_before"], "Order Completed", T0 + 2 * H)
    # x_after: A, B, C, then X — the demo after the funnel was complete
    track(ws, people["x_after"], "Signed Up", T0 + H)
    track(ws, people["x_after"], "Order Completed", T0 + 2 * H)
    track(ws, people["x_after"], DEMO, T0 + 3 * H)
    # x_no_2: A, X — never signed up; the demo inside the window
    track(ws, people["x_no_2"], DEMO, T0 + H)
    # x_late: A, B, then X 31 days after A — never ordered; the demo after the window closed
    track(ws, people["x_late"], "Signed Up", T0 + H)
    track(ws, people["x_late"], DEMO, T0 + timedelta(days=31))
    # x_2_3: A, B, X, C — the demo between steps 2 and 3
    track(ws, people["x_2_3"], "Signed Up", T0 + H)
    track(ws, people["x_2_3"], DEMO, T0 + 2 * H)
    track(ws, people["x_2_3"], "Order Completed", T0 + 3 * H)
    return people


def test_without_exclusions_everyone_counts(ws, journeys):
    assert counts(ws, []) == [7, 6, 5]


def test_a_demo_between_steps_1_and_3_leaves_the_contact_out_of_every_step(ws, journeys):
    result = result_of(ws, [{"event": DEMO, "from_step": 1, "to_step": 3}])
    # out: x_1_2 and x_2_3 (a demo between A and C), x_no_2 (a demo in the window, no C);
    # in: clean, x_before, x_after, x_late (its demo came after the window closed)
    assert [row.contacts for row in result.steps] == [4, 4, 3]
    assert result.excluded == 3
    assert result.steps[2].from_previous == pytest.approx(3 / 4)


def test_between_all_steps_is_the_default(ws, journeys):
    assert counts(ws, [{"event": DEMO}]) == [4, 4, 3]


def test_an_exclusion_spans_only_its_own_steps(ws, journeys):
    # between 2 and 3: only x_2_3 is out (x_1_2's demo came before its sign-up, x_no_2 never
    # signed up, x_late's demo is past the window)
    result = result_of(ws, [{"event": DEMO, "from_step": 2, "to_step": 3}])
    assert [row.contacts for row in result.steps] == [6, 5, 4]
    assert result.excluded == 1


def test_between_steps_1_and_2_an_event_after_step_2_does_not_count(ws, journeys):
    # out: x_1_2 (demo before sign-up) and x_no_2 (never signed up, demo in the window)
    assert counts(ws, [{"event": DEMO, "from_step": 1, "to_step": 2}]) == [5, 5, 4]


def test_an_excluded_event_can_require_a_property(ws):
    pro, free = person(ws), person(ws)
    for contact, plan in ((pro, "pro"), (free, "free")):
        page(ws, contact, "/pricing", T0)
        track(ws, contact, DEMO, T0 + H, {"plan": plan})
        track(ws, contact, "Signed Up", T0 + 2 * H)
    exclusion = {"event": DEMO, "where": [{"property": "plan", "op": "eq", "value": "pro"}]}
    assert counts(ws, [exclusion], steps=STEPS[:2]) == [1, 1]  # only pro's demo excludes


def test_a_page_view_can_be_excluded(ws):
    browsed, direct = person(ws), person(ws)
    for contact in (browsed, direct):
        track(ws, contact, "Signed Up", T0)
        track(ws, contact, "Order Completed", T0 + 2 * H)
    page(ws, browsed, "https://acme.test/refund-policy", T0 + H)
    steps = [{"event": "Signed Up"}, {"event": "Order Completed"}]
    assert counts(ws, [{"page": "/refund-policy"}], steps=steps) == [1, 1]


def test_another_workspaces_events_never_exclude(ws, other_ws):
    mine = person(ws)
    page(ws, mine, "/pricing", T0)
    track(ws, mine, "Signed Up", T0 + 2 * H)
    # an event filed under the other workspace against our contact's id is not ours
    track(other_ws, mine, DEMO, T0 + H)
    assert counts(ws, [{"event": DEMO}], steps=STEPS[:2]) == [1, 1]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exclusions", "path", "words"),
    [
        ("Demo", "exclusions", "list"),
        ([{"event": DEMO}] * 6, "exclusions", "at most 5"),
        ([{"event": DEMO, "from_step": 3}], "exclusions[0].from_step", "1 to 2"),
        ([{"event": DEMO, "from_step": 2, "to_step": 2}], "exclusions[0].to_step", "after step 2"),
        ([{"event": DEMO, "to_step": 4}], "exclusions[0].to_step", "2 to 3"),
        ([{"event": DEMO, "to_step": "two"}], "exclusions[0].to_step", "step number"),
        ([{"event": DEMO, "from_step": True}], "exclusions[0].from_step", "step number"),
        ([{"event": DEMO}, {"event": " "}], "exclusions[1].event", "event name"),
        ([{"event": DEMO, "colour": "red"}], "exclusions[0].colour", "unknown key"),
        ([{"event": "Signed Up", "to_step": 3}], "exclusions[0].event", "is step 2"),
        (
            [{"event": DEMO, "where": [{"property": "p", "op": "zz", "value": 1}]}],
            "exclusions[0].where[0].op",
            "",
        ),
    ],
)
def test_bad_exclusions_are_rejected_naming_the_exclusion_and_part(ws, exclusions, path, words):
    steps = steps_parse(workspace=ws, steps=STEPS)
    with pytest.raises(ValidationFailed) as caught:
        exclusions_parse(workspace=ws, exclusions=exclusions, steps=steps)
    assert path in caught.value.fields, caught.value.fields
    assert words in caught.value.fields[path]


def test_excluding_a_steps_own_event_outside_its_span_is_allowed(ws):
    steps = steps_parse(workspace=ws, steps=STEPS)
    # "signed up twice": Signed Up between steps 2 and 3 is a repeat, not step 2 itself
    [exclusion] = exclusions_parse(
        workspace=ws, exclusions=[{"event": "Signed Up", "from_step": 2}], steps=steps
    )
    assert (exclusion.from_step, exclusion.to_step) == (2, 3)


def test_a_saved_funnel_keeps_its_exclusions_with_their_steps(ws, owner):
    data = {
        "name": "No demo",
        "steps": STEPS,
        "window_days": 30,
        "exclusions": [{"event": f" {DEMO} "}, {"page": "/jobs", "from_step": 2, "to_step": 3}],
    }
    funnel = funnel_save(workspace=ws, user=owner, data=data, instance=None)
    funnel.refresh_from_db()
    assert funnel.exclusions == [
        {"event": DEMO, "from_step": 1, "to_step": 3},
        {"page": "/jobs", "from_step": 2, "to_step": 3},
    ]


def test_a_funnel_with_a_bad_exclusion_is_not_saved(ws, owner):
    data = {"name": "x", "steps": STEPS, "exclusions": [{"event": DEMO, "to_step": 9}]}
    with pytest.raises(ValidationFailed) as caught:
        funnel_save(workspace=ws, user=owner, data=data, instance=None)
    assert "exclusions[0].to_step" in caught.value.fields
    assert not Funnel.objects.exists()
