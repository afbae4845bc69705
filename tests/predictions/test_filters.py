"""Prediction fields in the filter language: segments, branches and rules read them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from contacts.models import Contact
from predictions import hooks
from predictions.models import ContactPrediction
from segments.filters import FilterInvalid, compile_filter, evaluate_filter, validate_filter
from segments.models import SegmentMembership
from segments.services import segment_create
from tests.predictions.test_views import make_model, trained_run

pytestmark = pytest.mark.django_db

# (likelihood as a fraction, tier) — None: the contact has no prediction
PEOPLE = [(0.62, "high"), (0.35, "medium"), (0.30, "medium"), (0.05, "low"), None]


@pytest.fixture
def scored(ws):
    model = make_model(ws)
    run = trained_run(model)
    contacts = []
    for i, stored in enumerate(PEOPLE):
        contact = Contact.objects.create(workspace=ws, email=f"p{i}@example.test")
        contacts.append(contact)
        if stored:
            ContactPrediction.objects.create(
                workspace=ws, model=model, contact=contact, run=run, probability=stored[0],
                tier=stored[1], scored_at=timezone.now(),
            )  # fmt: skip
    return model, contacts


def announce(ws, model):
    """What the nightly scoring says when it has stored a model's predictions."""
    hooks.predictions_scored(
        hooks.PredictionsScored(
            workspace=ws, model_id=model.pk, key=model.key, fields=model.filter_fields, contacts=4
        )
    )


def matches(ws, tree, contacts):
    """The SQL answer, checked against the per-contact Python evaluation."""
    by_sql = set(compile_filter(workspace=ws, tree=tree).values_list("pk", flat=True))
    by_python = {c.pk for c in contacts if evaluate_filter(workspace=ws, tree=tree, contact=c)}
    assert by_sql == by_python, tree
    return [i for i, c in enumerate(contacts) if c.pk in by_sql]


@pytest.mark.parametrize(
    ("part", "op", "value", "expected"),
    [
        ("tier", "eq", "high", [0]),
        ("tier", "in", ["high", "medium"], [0, 1, 2]),
        ("tier", "neq", "high", [1, 2, 3, 4]),  # no prediction: "is not high"
        ("likelihood", "gte", 30, [0, 1, 2]),
        ("likelihood", "lt", 30, [3]),
        ("likelihood", "between", [30, 40], [1, 2]),
        ("likelihood", "exists", None, [0, 1, 2, 3]),
        ("likelihood", "not_exists", None, [4]),
    ],
)
def test_sql_and_python_agree_on_prediction_conditions(ws, scored, part, op, value, expected):
    model, contacts = scored
    condition = {"field": f"prediction.{model.key}.{part}", "op": op}
    if value is not None:
        condition["value"] = value
    assert matches(ws, condition, contacts) == expected
    assert matches(ws, {"not": condition}, contacts) == [
        i for i in range(len(contacts)) if i not in expected
    ]


def test_a_wrong_tier_or_operator_is_named_by_its_path(ws, scored):
    model, _ = scored
    with pytest.raises(FilterInvalid) as bad:
        validate_filter(
            workspace=ws,
            tree={"all": [{"field": f"prediction.{model.key}.tier", "op": "eq", "value": "hot"}]},
        )
    assert (
        "all[0].value" in bad.value.errors
        and "high, medium, low" in bad.value.errors["all[0].value"]
    )
    with pytest.raises(FilterInvalid):
        validate_filter(
            workspace=ws,
            tree={"field": f"prediction.{model.key}.likelihood", "op": "contains", "value": "x"},
        )


def test_another_workspaces_model_is_an_unknown_field(ws, other_ws, scored):
    model, _ = scored
    with pytest.raises(FilterInvalid):
        validate_filter(
            workspace=other_ws,
            tree={"field": f"prediction.{model.key}.tier", "op": "eq", "value": "high"},
        )


def test_the_condition_editor_lists_the_prediction_fields(ws, api, outsider_api, scored):
    model, _ = scored
    fields = api.get("/api/v1/workflows/autocomplete/fields/?q=prediction").json()["results"]
    by_name = {f["name"]: f for f in fields}
    tier = by_name[f"prediction.{model.key}.tier"]
    assert tier["type"] == "choice" and tier["choices"] == ["high", "medium", "low"]
    likelihood = by_name[f"prediction.{model.key}.likelihood"]
    assert likelihood["type"] == "number" and "gte" in likelihood["operators"]
    assert likelihood["label"] == f"{model.name} — likelihood %"
    other = outsider_api.get("/api/v1/workflows/autocomplete/fields/?q=prediction").json()
    assert other["results"] == []


def test_segments_reading_a_model_are_recomputed_when_it_scores(
    ws, scored, django_capture_on_commit_callbacks
):
    model, contacts = scored
    tier = f"prediction.{model.key}.tier"
    with django_capture_on_commit_callbacks(execute=True):
        hot = segment_create(
            workspace=ws, name="Hot", filter={"field": tier, "op": "eq", "value": "high"}
        )
        other = segment_create(
            workspace=ws, name="Other", filter={"field": "email", "op": "exists"}
        )
    assert set(
        SegmentMembership.objects.filter(segment=hot).values_list("contact_id", flat=True)
    ) == {contacts[0].pk}
    # The nightly scoring moves contact 1 into the high tier, then tells the listeners.
    ContactPrediction.objects.filter(contact=contacts[1]).update(tier="high", probability=0.7)
    other_members = SegmentMembership.objects.filter(segment=other).count()
    with django_capture_on_commit_callbacks(execute=True):
        announce(ws, model)
    assert set(
        SegmentMembership.objects.filter(segment=hot).values_list("contact_id", flat=True)
    ) == {
        contacts[0].pk,
        contacts[1].pk,
    }
    assert SegmentMembership.objects.filter(segment=other).count() == other_members
    assert "segments" in hooks.registered_listeners()


def test_a_fit_rule_on_the_tier_scores_after_the_nightly_scoring(
    ws, scored, django_capture_on_commit_callbacks
):
    from scoring.models import ScoringModel, ScoringRule

    model, contacts = scored
    scoring = ScoringModel.objects.create(
        workspace=ws, name="Default", is_primary=True, mql_threshold=50, hysteresis=10
    )
    ScoringRule.objects.create(
        workspace=ws, model=scoring, kind="fit", name="Likely to buy", points=20,
        filter={"field": f"prediction.{model.key}.tier", "op": "eq", "value": "high"},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        announce(ws, model)
    scores = dict(Contact.objects.filter(workspace=ws).values_list("pk", "score"))
    assert scores[contacts[0].pk] == 20
    assert [scores[c.pk] for c in contacts[1:]] == [0, 0, 0, 0]
