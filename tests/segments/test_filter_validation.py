"""Bad trees are refused with a message that names the node, by its path."""

import pytest

from contacts.models import AttributeDefinition
from segments.filters import validate_filter
from segments.models import Segment
from segments.services import segment_create, segment_update
from workspaces.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def error_for(ws, tree, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        validate_filter(workspace=ws, tree=tree, **kwargs)
    return caught.value


def test_an_operator_invalid_for_the_type_names_the_nested_node(ws):
    error = error_for(
        ws,
        {"all": [{"tag": "vip"}, {"any": [{"field": "country", "op": "gt", "value": "DE"}]}]},
    )
    assert error.message.startswith(
        "all[1].any[0].op: operator 'gt' is not valid for text field 'country'"
    )
    assert list(error.fields) == ["all[1].any[0].op"]


def test_an_unknown_field_is_named(ws):
    error = error_for(ws, {"all": [{"field": "plan", "op": "eq", "value": "pro"}]})
    assert error.fields == {"all[0].field": "unknown field 'plan'"}


def test_a_custom_attribute_is_typed_by_its_definition(ws):
    AttributeDefinition.objects.create(workspace=ws, key="seats", type="number")
    validate_filter(workspace=ws, tree={"field": "seats", "op": "gte", "value": 3})
    error = error_for(ws, {"not": {"field": "seats", "op": "gte", "value": "many"}})
    assert error.fields == {"not.value": "must be a number, not 'many'"}


@pytest.mark.parametrize(
    ("node", "path", "fragment"),
    [
        ({"field": "lifecycle_stage", "op": "eq", "value": "king"}, "all[0].value", "one of"),
        ({"field": "created_at", "op": "before", "value": "yesterday"}, "all[0].value", "date"),
        ({"field": "score", "op": "between", "value": [10, 1]}, "all[0].value", "low value"),
        ({"field": "email", "op": "in", "value": []}, "all[0].value", "list"),
        ({"field": "email", "op": "exists", "value": "x"}, "all[0].value", "no value"),
        ({"field": "created_at", "op": "within_last_days", "value": -1}, "all[0].value", "days"),
        ({"event": "Order", "count": {"op": "gte", "value": -2}}, "all[0].count.value", "whole"),
        ({"event": "Order", "count": {"op": "most", "value": 2}}, "all[0].count.op", "operator"),
        (
            {"event": "Order", "within_days": 3, "between": ["2024-01-01", "2024-02-01"]},
            "all[0].between",
            "either",
        ),
        (
            {"event": "Order", "where": [{"property": "total", "op": "gt", "value": "a"}]},
            "all[0].where[0].value",
            "numbers",
        ),
        ({"event": ""}, "all[0].event", "event name"),
        ({"tag": ""}, "all[0].tag", "tag name"),
        ({"field": "email", "op": "eq", "value": "a", "extra": 1}, "all[0].extra", "unknown key"),
        ({"all": [], "any": []}, "all[0]", "exactly one"),
        ("nonsense", "all[0]", "must be an object"),
    ],
)
def test_bad_values_name_the_node(ws, node, path, fragment):
    error = error_for(ws, {"all": [node]})
    assert path in error.fields, error.fields
    assert fragment in error.fields[path]
    assert error.message.startswith(f"{path}: ")


def test_every_mistake_is_reported(ws):
    error = error_for(
        ws,
        {"any": [{"field": "nope", "op": "eq", "value": 1}, {"field": "score", "op": "contains"}]},
    )
    assert set(error.fields) == {"any[0].field", "any[1].op"}


def test_an_unknown_segment_and_another_workspaces_segment_are_refused(ws, other_ws):
    theirs = Segment.objects.create(workspace=other_ws, name="Theirs", kind="static")
    assert error_for(ws, {"segment": 999999}).fields == {"segment": "unknown segment 999999"}
    assert error_for(ws, {"all": [{"segment": theirs.pk}]}).fields == {
        "all[0].segment": f"unknown segment {theirs.pk}"
    }


def test_segment_cycles_are_refused_with_the_chain(ws, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = segment_create(workspace=ws, name="A", filter={"all": []})
        b = segment_create(workspace=ws, name="B", filter={"all": [{"segment": a.pk}]})
        c = segment_create(workspace=ws, name="C", filter={"all": [{"segment": b.pk}]})
    with pytest.raises(ValidationFailed) as caught:
        segment_update(segment=a, filter={"all": [{"not": {"segment": c.pk}}]})
    assert caught.value.fields == {"all[0].not.segment": "segment cycle: 'A' → 'C' → 'B' → 'A'"}
    with pytest.raises(ValidationFailed):
        segment_update(segment=a, filter={"segment": a.pk})
    a.refresh_from_db()
    assert a.filter == {"all": []}  # a refused change changes nothing


def test_huge_trees_are_refused(ws):
    tree = {"any": [{"tag": f"t{i}"} for i in range(300)]}
    assert "at most" in error_for(ws, tree).message
