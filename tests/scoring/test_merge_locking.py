"""A merge and a score change of the same person take their locks in the same order —
contacts first, then score rows — so one waits for the other instead of deadlocking (which
PostgreSQL would resolve by failing one of them: an ingestion request answering 500, a
pipeline batch retried)."""

import threading
import time

import pytest
from django.db import transaction

from contacts.services import contact_merge
from scoring.models import ContactScore
from scoring.services.engine import ScoreWriter, ruleset_load
from tests.support import threads

from .conftest import make_contact

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_merge_waits_for_a_score_change_of_the_absorbed_contact(ws, model):
    survivor, absorbed = make_contact(ws), make_contact(ws)
    locked, merging, errors = threading.Event(), threading.Event(), []

    def score() -> None:
        with transaction.atomic():
            writer = ScoreWriter(workspace=ws, ruleset=ruleset_load(workspace=ws))
            writer.lock([absorbed.pk])
            locked.set()
            assert merging.wait(10)
            time.sleep(0.5)  # the merge is now waiting for us (or, before, holding the contact)
            writer.add(model, absorbed.pk, points=5, reason="Visited pricing")
            writer.flush()  # writes Contact.score of the absorbed contact

    def merge() -> None:
        assert locked.wait(10)
        merging.set()
        contact_merge(workspace=ws, into=survivor, source=absorbed)

    for thread in [threads.start(score, errors), threads.start(merge, errors)]:
        thread.join(20)
    assert errors == []
    row = ContactScore.objects.get(model=model, contact=survivor)  # the points moved along
    assert row.score == 5
