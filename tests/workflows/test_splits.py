"""A/B splits of a workflow: each variant's results, the call on them (workspaces.experiments),
the marketer's "send all future traffic to the winner", and the smart (Thompson) split."""

from __future__ import annotations

import random

import pytest
from django.core.cache import cache
from django.utils import timezone

from contacts.models import Contact
from messaging.models import Message
from workflows import selectors
from workflows.models import RunStatus, StepLog, WorkflowRun
from workflows.runs.enrolment import Candidate, enrol
from workflows.splits import smart_shares
from workspaces.experiments import Arm, pick_by_shares, regret_saved, thompson_allocation

from .conftest import drain, make_workflow

pytestmark = pytest.mark.django_db

AB = {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}]}


def split_graph(config=None, *, email: bool = False) -> dict:
    """t → ab; a → tag "got-a", b → tag "got-b" (or an email on each arm)."""
    arm = (
        (lambda name: {"id": name, "type": "action.email", "config": {"template": 999_999}})
        if email
        else (
            lambda name: {
                "id": name,
                "type": "action.tag_add",
                "config": {"tags": [f"got-{name[-1]}"]},
            }
        )
    )
    return {
        "nodes": [
            {"id": "t", "type": "trigger.api", "config": {}},
            {"id": "ab", "type": "branch.ab", "config": config or AB},
            arm("to_a"),
            arm("to_b"),
        ],
        "edges": [
            {"source": "t", "target": "ab"},
            {"source": "ab", "target": "to_a", "port": "a"},
            {"source": "ab", "target": "to_b", "port": "b"},
        ],
    }


def through(ws, workflow, port: str, n: int, succeeded: int) -> list[WorkflowRun]:
    """`n` finished runs that took `port` at the split, the first `succeeded` converted."""
    version = workflow.current_version or workflow.versions.first()
    start = Contact.objects.filter(workspace=ws).count()
    people = Contact.objects.bulk_create(
        [Contact(workspace=ws, email=f"{port}{start + i}@example.test") for i in range(n)]
    )
    runs = WorkflowRun.objects.bulk_create(
        [
            WorkflowRun(
                workspace=ws,
                workflow=workflow,
                version=version,
                contact=person,
                status=RunStatus.CONVERTED if i < succeeded else RunStatus.COMPLETED,
                current_node=f"to_{port}",
            )
            for i, person in enumerate(people)
        ]
    )
    StepLog.objects.bulk_create(
        [
            StepLog(
                workspace=ws, run=run, workflow=workflow, contact_id=run.contact_id,
                node_id="ab", node_type="branch.ab", outcome="passed", port=port,
            )
            for run in runs
        ]
    )  # fmt: skip
    return runs


def test_a_split_with_a_clear_difference_calls_the_winner(ws):
    workflow = make_workflow(ws, split_graph())
    through(ws, workflow, "a", 600, 60)  # 10 %
    through(ws, workflow, "b", 600, 96)  # 16 %

    [split] = selectors.split_decisions(workflow=workflow)

    assert [(a["port"], a["entered"], a["successes"]) for a in split.arms] == [
        ("a", 600, 60),
        ("b", 600, 96),
    ]
    # by hand: pooled p = 156/1200 = 0.13, se = sqrt(0.13·0.87·(2/600)) = 0.01942,
    # z = 0.06/0.01942 = 3.09 → two-sided p = 0.0020; P(B best) ≈ Φ(0.06/0.01934) = 0.999
    assert split.arms[1]["p_value"] == pytest.approx(0.0020, abs=0.0002)
    assert split.arms[1]["prob_best"] > 0.99
    assert split.winner == "b"
    assert split.headline.startswith("B wins: best with 100% probability")
    assert split.more_needed is None


def test_a_split_short_of_the_minimum_says_how_many_more_it_needs(ws):
    workflow = make_workflow(ws, split_graph())
    through(ws, workflow, "a", 300, 30)  # 10 %
    through(ws, workflow, "b", 300, 36)  # 12 %

    split = selectors.split_node_decision(workflow=workflow, node_id="ab")

    assert split.winner is None
    assert "each variant needs at least 500" in split.decision.reason
    # by hand: detecting 10 % vs 12 % at 5 % / 80 % power takes
    # (1.96 + 0.8416)² · (0.1·0.9 + 0.12·0.88) / 0.02² = 3,838.2 → 3,839 per variant;
    # both variants have 300: 2 · (3,839 − 300) = 7,078 more
    assert split.decision.needed_per_arm == 3839
    assert split.more_needed == 7078
    assert split.headline == "No winner yet — need 7,078 more contacts through the split."


def test_a_split_whose_sizes_do_not_match_its_weights_is_flagged_and_not_called(ws):
    workflow = make_workflow(ws, split_graph())
    through(ws, workflow, "a", 700, 70)
    through(ws, workflow, "b", 500, 100)  # the better rate, but 700 vs 500 on a 50/50 split

    split = selectors.split_node_decision(workflow=workflow, node_id="ab")

    # by hand: χ² = 2 · 100²/600 = 33.3 on 1 degree of freedom → p ≈ 8e-9
    assert split.decision.sample_ratio_mismatch
    assert split.decision.srm_p_value < 1e-8
    assert split.winner is None and split.more_needed is None


def test_the_node_sets_the_minimum_per_variant(ws):
    workflow = make_workflow(ws, split_graph({**AB, "min_sample": 200}))
    through(ws, workflow, "a", 300, 30)
    through(ws, workflow, "b", 300, 60)  # 10 % vs 20 %: clear at 300 each

    split = selectors.split_node_decision(workflow=workflow, node_id="ab")
    assert split.min_sample == 200 and split.winner == "b"


def test_on_clicks_a_variant_succeeds_when_a_later_message_of_the_run_was_clicked(ws):
    workflow = make_workflow(ws, split_graph({**AB, "metric": "clicks"}, email=True), publish=False)
    runs_a = through(ws, workflow, "a", 10, 0)
    runs_b = through(ws, workflow, "b", 10, 10)  # converted, but the metric is clicks
    now = timezone.now()

    def message(run, node, clicked):
        return Message(
            workspace=ws, contact_id=run.contact_id, channel="email", source_type="workflow",
            source_id=f"{run.pk}:{node}", status="delivered", sent_at=now,
            clicked_at=now if clicked else None,
        )  # fmt: skip

    Message.objects.bulk_create(
        [message(run, "to_a", clicked=i < 4) for i, run in enumerate(runs_a)]
        + [message(run, "to_b", clicked=i < 1) for i, run in enumerate(runs_b)]
        # a click on a message of another node (not after the split) does not count
        + [message(runs_b[5], "elsewhere", clicked=True)]
    )

    split = selectors.split_node_decision(workflow=workflow, node_id="ab")

    assert split.metric == "clicks"
    assert [(a["entered"], a["successes"]) for a in split.arms] == [(10, 4), (10, 1)]


def _enter(ws, workflow, n: int, prefix: str) -> list[Contact]:
    people = Contact.objects.bulk_create(
        [Contact(workspace=ws, email=f"{prefix}{i}@example.test") for i in range(n)]
    )
    enrol(
        workspace=ws,
        candidates=[Candidate(workflow.pk, "t", p, f"k-{p.pk}", {"type": "api"}) for p in people],
        dispatch=False,
    )
    drain()
    return people


def _ports(workflow, people) -> dict[str, int]:
    counts: dict[str, int] = {}
    for port in StepLog.objects.filter(
        workflow=workflow, node_id="ab", contact_id__in=[p.pk for p in people]
    ).values_list("port", flat=True):
        counts[port] = counts.get(port, 0) + 1
    return counts


def test_sending_all_future_traffic_to_the_winner_is_the_marketers_call(ws, api):
    workflow = make_workflow(ws, split_graph())
    first = _enter(ws, workflow, 60, "first")
    assert set(_ports(workflow, first)) == {"a", "b"}  # the split as drawn

    url = f"/api/v1/workflows/{workflow.pk}/nodes/ab/winner/"
    bad = api.post(url, {"variant": "c"}, format="json")
    assert bad.status_code == 400 and "variant" in bad.json()["error"]["fields"]
    workflow.refresh_from_db()
    assert workflow.split_winners == {}

    chosen = api.post(url, {"variant": "b"}, format="json")
    assert chosen.status_code == 200 and chosen.json()["chosen"] == "b"
    workflow.refresh_from_db()
    later = _enter(ws, workflow, 40, "later")
    assert _ports(workflow, later) == {"b": 40}
    assert "(the marketer's call)" in chosen.json()["headline"]

    resumed = api.post(url, {"variant": None}, format="json")
    assert resumed.status_code == 200 and resumed.json()["chosen"] is None
    again = _enter(ws, workflow, 60, "again")
    assert set(_ports(workflow, again)) == {"a", "b"}


def test_the_decision_endpoints_are_404_for_another_workspace_and_unknown_nodes(
    ws, api, outsider_api
):
    workflow = make_workflow(ws, split_graph())
    through(ws, workflow, "a", 5, 1)
    base = f"/api/v1/workflows/{workflow.pk}/nodes"

    mine = api.get(f"{base}/ab/decision/")
    assert mine.status_code == 200
    assert [a["entered"] for a in mine.json()["arms"]] == [5, 0]
    assert api.get(f"{base}/to_a/decision/").status_code == 404  # not a split
    assert outsider_api.get(f"{base}/ab/decision/").status_code == 404
    assert (
        outsider_api.post(f"{base}/ab/winner/", {"variant": "a"}, format="json").status_code == 404
    )
    workflow.refresh_from_db()
    assert workflow.split_winners == {}


def test_the_workflow_page_shows_each_splits_call(ws, owner_client, outsider_client):
    workflow = make_workflow(ws, split_graph())
    through(ws, workflow, "a", 300, 30)
    through(ws, workflow, "b", 300, 36)

    html = owner_client.get(f"/workflows/{workflow.pk}/").content.decode()
    assert 'id="splits"' in html
    assert "No winner yet — need 7,078 more contacts through the split." in html
    assert outsider_client.get(f"/workflows/{workflow.pk}/").status_code == 404


# --- the smart split ---------------------------------------------------------------------------


def test_thompson_sampling_converges_to_the_better_arm_and_keeps_the_floor():
    """A simulated two-arm problem (seeded): B converts at 12 %, A at 8 %. Contacts come in
    batches of 100; each batch is split by the allocation of the results so far."""
    rng = random.Random(7)
    truth = [0.08, 0.12]
    n, wins = [0, 0], [0, 0]
    history = []
    for batch in range(80):
        arms = [Arm("A", n[0], wins[0]), Arm("B", n[1], wins[1])]
        shares = thompson_allocation(arms, floor=0.1, seed=batch)
        history.append(shares)
        for _ in range(100):
            arm = pick_by_shares(shares, rng.random())
            n[arm] += 1
            wins[arm] += rng.random() < truth[arm]
    assert history[0] == pytest.approx([0.5, 0.5], abs=0.02)  # no data: an even split
    assert all(min(shares) >= 0.1 - 1e-9 for shares in history)  # the floor always holds
    assert history[-1][1] > 0.85  # converged to B …
    assert history[-1][0] == pytest.approx(0.1, abs=0.05)  # … A kept at its floor
    assert n[1] > 2 * n[0]
    saved = regret_saved([Arm("A", n[0], wins[0]), Arm("B", n[1], wins[1])])
    assert saved.low > 0  # more successes than an even split of the same 8,000 contacts


def test_regret_saved_is_expected_successes_over_an_even_split():
    # by hand with the posterior means (1 + s)/(2 + n): A 11/102 = 0.10784, B 61/302 = 0.20199;
    # the allocation used: 100·0.10784 + 300·0.20199 = 71.38; an even split of the same 400:
    # 400 · (0.10784 + 0.20199)/2 = 61.97 → 9.41 successes saved
    saved = regret_saved([Arm("A", 100, 10), Arm("B", 300, 60)])
    assert saved.expected == pytest.approx(9.41, abs=0.3)
    assert saved.low < saved.expected < saved.high and saved.entered == 400


def test_a_smart_split_sends_most_contacts_to_the_better_variant_from_a_cached_posterior(
    ws, settings
):
    settings.WORKFLOWS_SMART_SPLIT_REFRESH_SECONDS = 300
    config = {**AB, "mode": "smart", "floor": 10}
    workflow = make_workflow(ws, split_graph(config))
    through(ws, workflow, "a", 200, 0)
    through(ws, workflow, "b", 200, 100)
    cache.clear()

    shares = smart_shares(workflow=workflow, node_id="ab", config=config)
    assert shares == pytest.approx({"a": 0.1, "b": 0.9}, abs=0.001)

    # cached: results that would turn the allocation around are not read until the refresh
    through(ws, workflow, "a", 400, 400)
    assert smart_shares(workflow=workflow, node_id="ab", config=config) == shares

    people = _enter(ws, workflow, 300, "smart")
    taken = _ports(workflow, people)
    assert 240 <= taken["b"] <= 300  # 90 % of 300 is 270 (binomial sd 5.2)
    assert taken.get("a", 0) >= 10  # the floor: 10 % of 300 is 30

    cache.clear()  # the refresh: now A has converted 400 of 600
    assert smart_shares(workflow=workflow, node_id="ab", config=config)["a"] > 0.85

    split = selectors.split_node_decision(workflow=workflow, node_id="ab")
    assert split.smart and split.regret is not None
    assert not split.decision.sample_ratio_mismatch  # shares that move on purpose are no SRM


def test_a_floor_the_variants_cannot_all_have_is_refused(ws):
    from workflows.graph.graph import GraphInvalid

    with pytest.raises(GraphInvalid) as caught:
        make_workflow(
            ws,
            split_graph(
                {
                    "variants": [
                        {"name": n, "weight": w} for n, w in (("a", 34), ("b", 33), ("c", 33))
                    ],
                    "mode": "smart",
                    "floor": 40,
                }
            ),
        )
    assert "floor: 40% for each of 3 variants is more than 100%" in str(caught.value.as_dict())
