"""Scoring fixtures: a primary model, contacts, rules, and a way to run the pipeline."""

from __future__ import annotations

import itertools

import pytest

from contacts.models import Contact, LifecycleStage
from contacts.services import event_record, events_process
from scoring.models import ScoringModel, ScoringRule
from workspaces.roles import Role

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def only_scoring_processor(monkeypatch):
    """Unit tests here exercise scoring's step of the pipeline alone: other apps' processors
    are tested by their owners (and all run together in tests/e2e)."""
    import scoring.processors  # noqa: F401  (registered)
    from contacts import hooks

    mine = [entry for entry in hooks._processors if entry[1] == "scoring"]
    monkeypatch.setattr(hooks, "_processors", mine)


@pytest.fixture
def model(ws):
    return ScoringModel.objects.create(
        workspace=ws, name="Default", is_primary=True, mql_threshold=50, hysteresis=10
    )


@pytest.fixture
def contact(ws):
    return Contact.objects.create(
        workspace=ws,
        email="lead@example.test",
        first_name="Lena",
        last_name="Lead",
        company="Initech",
        lifecycle_stage=LifecycleStage.LEAD,
    )


def make_contact(ws, **fields):
    n = next(_seq)
    fields.setdefault("email", f"c{n}@example.test")
    fields.setdefault("lifecycle_stage", LifecycleStage.LEAD)
    return Contact.objects.create(workspace=ws, **fields)


def behavioural(model, event, points, **extra):
    return ScoringRule.objects.create(
        workspace=model.workspace,
        model=model,
        kind="behavioural",
        name=extra.pop("name", event),
        event=event,
        points=points,
        **extra,
    )


def fit(model, tree, points, name="Fit"):
    return ScoringRule.objects.create(
        workspace=model.workspace, model=model, kind="fit", name=name, filter=tree, points=points
    )


def negative(model, signal, points, **extra):
    return ScoringRule.objects.create(
        workspace=model.workspace,
        model=model,
        kind="negative",
        name=extra.pop("name", signal),
        signal=signal,
        points=points,
        **extra,
    )


def track(ws, contact, name, properties=None, **extra):
    """Record an event as an integration would (source api) without processing it."""
    extra.setdefault("source", "api")
    return event_record(workspace=ws, contact=contact, name=name, properties=properties, **extra)


def process(ws, events=(), changed=None):
    """Run the events_ingested pipeline on these events, as the Celery task does."""
    return events_process(
        workspace=ws,
        event_ids=[e.pk for e in events],
        changed_fields={str(k): sorted(v) for k, v in (changed or {}).items()},
    )


@pytest.fixture
def sales_rep(ws):
    from tests.conftest import add_member

    return add_member(ws, "rep@acme.test", Role.SALES)
