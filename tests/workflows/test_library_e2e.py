"""Each ready-made workflow, end to end with a real Celery worker and simulated time.

Events go through the real pipeline (contacts → scoring → segments → workflows) in the
worker; the scheduler is ticked here, as beat would; time moves with the workflow clock.
"""

from datetime import timedelta

import pytest

from contacts.models import Contact, LifecycleStage
from contacts.services import event_record, events_enqueue_processing
from messaging.models import Message
from workflows.engine import clock as wf_clock
from workflows.library import library_import
from workflows.models import RunStatus, StepLog, WorkflowRun
from workflows.services import draft_save, workflow_publish

from .conftest import until

pytestmark = [pytest.mark.integration]


def person(ws, email, **fields):
    defaults = {
        "first_name": email.split("@")[0].title(),
        "email_consent": "subscribed",
        "timezone": "UTC",
    }
    return Contact.objects.create(workspace=ws, email=email, **{**defaults, **fields})


def fire(ws, contact, name, **properties):
    event = event_record(
        workspace=ws,
        contact=contact,
        name=name,
        properties=properties,
        timestamp=wf_clock.now(),
        source="api",
    )
    events_enqueue_processing(workspace=ws, event_ids=[event.pk])
    return event


def publish(ws, slug, *, edit=None):
    workflow = library_import(workspace=ws, slug=slug)
    if edit:
        version = workflow.versions.get()
        draft_save(workspace=ws, workflow=workflow, graph=edit(version.graph))
    workflow_publish(workspace=ws, workflow=workflow)
    workflow.refresh_from_db()
    return workflow


def nodes_sent(workflow, contact):
    """The message nodes this contact got a Message from (each must appear once)."""
    ids = Message.objects.filter(contact=contact, source_type="workflow").values_list(
        "source_id", flat=True
    )
    runs = set(
        WorkflowRun.objects.filter(workflow=workflow, contact=contact).values_list("id", flat=True)
    )
    return sorted(source.split(":")[1] for source in ids if int(source.split(":")[0]) in runs)


def run_state(workflow, contact):
    run = WorkflowRun.objects.filter(workflow=workflow, contact=contact).order_by("-id").first()
    return (run.status, run.current_node) if run else None


def advance(days=0, hours=0):
    wf_clock.shift(timedelta(days=days, hours=hours))


def test_welcome_series(live_worker, ws):
    workflow = publish(ws, "welcome-series")
    clicker, quiet = person(ws, "clicker@example.test"), person(ws, "quiet@example.test")
    for contact in (clicker, quiet):
        fire(ws, contact, "Signed Up")
    until(lambda: run_state(workflow, quiet) == (RunStatus.WAITING, "wait_1d"), message="enrolled")
    advance(days=1)
    until(
        lambda: run_state(workflow, quiet) == (RunStatus.WAITING, "wait_2d"), message="welcome sent"
    )
    advance(days=2)
    until(
        lambda: run_state(workflow, quiet) == (RunStatus.WAITING, "wait_3d"),
        message="education sent",
    )
    fire(ws, clicker, "email.clicked", url="https://example.com/pricing?utm=edu")
    advance(days=3)
    until(
        lambda: (
            run_state(workflow, quiet)[0] == RunStatus.COMPLETED
            and run_state(workflow, clicker)[0] == RunStatus.COMPLETED
        ),
        message="finished",
    )
    assert nodes_sent(workflow, clicker) == ["demo_invite", "education", "welcome"]
    assert nodes_sent(workflow, quiet) == ["education", "welcome"]


def test_abandoned_cart(live_worker, ws):
    workflow = publish(ws, "abandoned-cart")
    big = person(ws, "big@example.test", phone="+14155550100", sms_consent="subscribed")
    buyer = person(ws, "buyer@example.test")
    fire(ws, big, "Cart Abandoned", total=180)
    fire(ws, buyer, "Cart Abandoned", total=40)
    until(lambda: run_state(workflow, buyer) == (RunStatus.WAITING, "wait_1h"), message="enrolled")
    advance(hours=1)
    until(
        lambda: (
            run_state(workflow, buyer) == (RunStatus.WAITING, "wait_24h")
            and run_state(workflow, big) == (RunStatus.WAITING, "wait_24h")
        ),
        message="1 h email",
    )
    fire(ws, buyer, "Order Completed", total=40)
    until(
        lambda: run_state(workflow, buyer)[0] == RunStatus.CONVERTED,
        message="purchase ends the run",
    )
    advance(hours=23)
    until(
        lambda: run_state(workflow, big) == (RunStatus.WAITING, "wait_72h"),
        message="24 h email and SMS",
    )
    advance(hours=48)
    until(lambda: run_state(workflow, big)[0] == RunStatus.COMPLETED, message="72 h email")
    assert nodes_sent(workflow, big) == ["email_1h", "email_24h", "email_72h", "sms"]
    assert nodes_sent(workflow, buyer) == ["email_1h"]
    assert run_state(workflow, buyer) == (RunStatus.CONVERTED, "purchased")


def test_lead_nurture(live_worker, ws):
    from scoring.models import ScoringModel
    from scoring.services import lifecycle_stage_set

    ScoringModel.objects.create(
        workspace=ws, name="Default", is_primary=True, mql_threshold=500, hysteresis=10
    )
    workflow = publish(ws, "lead-nurture")
    browser, webinar, other = (
        person(ws, f"{n}@example.test") for n in ("browser", "webinar", "other")
    )
    for contact in (browser, webinar, other):
        lifecycle_stage_set(workspace=ws, contact=contact, stage=LifecycleStage.LEAD, reason="test")
    until(
        lambda: all(
            run_state(workflow, c) == (RunStatus.WAITING, "wait_3d")
            for c in (browser, webinar, other)
        ),
        message="guide sent",
    )
    fire(ws, browser, "Page Viewed", path="/pricing/enterprise")
    fire(ws, webinar, "Webinar Registered")
    advance(days=3)
    until(
        lambda: all(
            run_state(workflow, c)[0] == RunStatus.COMPLETED for c in (browser, webinar, other)
        ),
        message="branches",
    )
    browser.refresh_from_db()
    webinar.refresh_from_db()
    assert nodes_sent(workflow, browser) == ["case_study", "guide"] and browser.score == 15
    assert (
        nodes_sent(workflow, webinar) == ["guide", "webinar_follow_up"]
        and "webinar-lead" in webinar.tags
    )
    assert nodes_sent(workflow, other)[0] == "guide" and nodes_sent(workflow, other)[1] in (
        "nudge_a",
        "nudge_b",
    )


def test_post_purchase(live_worker, ws):
    workflow = publish(ws, "post-purchase")
    customer = person(ws, "customer@example.test")
    fire(ws, customer, "Order Completed", order_id="A-1001")
    until(
        lambda: run_state(workflow, customer) == (RunStatus.WAITING, "wait_7d"),
        message="confirmation",
    )
    customer.refresh_from_db()
    assert customer.lifecycle_stage == "customer" and "customer" in customer.tags
    for days, node in ((7, "wait_14d"), (7, "wait_30d")):
        advance(days=days)
        until(
            lambda node=node: run_state(workflow, customer) == (RunStatus.WAITING, node),
            message=node,
        )
    advance(days=16)
    until(lambda: run_state(workflow, customer)[0] == RunStatus.COMPLETED, message="referral")
    assert nodes_sent(workflow, customer) == ["confirmation", "cross_sell", "referral", "review"]


def test_win_back(live_worker, ws):
    from segments.models import Segment
    from segments.services import segment_recompute, static_list_add

    lapsed, returning = person(ws, "lapsed@example.test"), person(ws, "returning@example.test")
    workflow = library_import(workspace=ws, slug="win-back")
    active = Segment.objects.get(workspace=ws, name="Active newsletter")
    static_list_add(segment=active, contact_ids=[lapsed.pk, returning.pk], source="manual")
    inactive = Segment.objects.get(workspace=ws, name="No engagement in 60 days")
    segment_recompute(segment=inactive)
    workflow_publish(workspace=ws, workflow=workflow)  # activation enrols everyone inactive now
    until(
        lambda: all(
            run_state(workflow, c) == (RunStatus.WAITING, "wait_1") for c in (lapsed, returning)
        ),
        message="snapshot enrolled",
    )
    fire(ws, returning, "email.opened")
    until(lambda: run_state(workflow, returning)[0] == RunStatus.CONVERTED, message="goal")
    for node in ("wait_2", "wait_3"):
        advance(days=7)
        until(
            lambda node=node: run_state(workflow, lapsed) == (RunStatus.WAITING, node), message=node
        )
    advance(days=7)
    until(lambda: run_state(workflow, lapsed)[0] == RunStatus.COMPLETED, message="unsubscribed")
    members = set(active.memberships.values_list("contact_id", flat=True))
    assert members == {returning.pk}
    assert nodes_sent(workflow, lapsed) == ["last_call", "miss_you", "offer"]
    assert nodes_sent(workflow, returning) == ["miss_you"]


def test_predicted_win_back(live_worker, ws):
    """The churn model's high tier enters the workflow when the nightly scoring lands (its
    segment is recomputed by the predictions_scored hook); a week later only those still at
    risk get the offer, and whoever orders leaves as converted."""
    from django.utils import timezone

    from predictions import hooks
    from predictions.models import ContactPrediction, PredictionModel
    from tests.predictions.test_views import trained_run

    risky, cooled, orders = (
        person(ws, f"{name}@example.test") for name in ("risky", "cooled", "orders")
    )
    safe = person(ws, "safe@example.test")
    workflow = publish(ws, "predicted-win-back")
    model = PredictionModel.objects.get(workspace=ws, key="churn-order-completed")
    run = trained_run(model)

    def scored(likelihoods):
        for contact, likelihood in likelihoods.items():
            tier = "high" if likelihood >= 0.4 else "low"
            ContactPrediction.objects.update_or_create(
                workspace=ws, model=model, contact=contact,
                defaults={"run": run, "probability": likelihood, "tier": tier, "scored_at": timezone.now()},
            )  # fmt: skip
        hooks.predictions_scored(
            hooks.PredictionsScored(
                workspace=ws, model_id=model.pk, key=model.key, fields=model.filter_fields,
                contacts=len(likelihoods),
            )
        )  # fmt: skip

    scored({risky: 0.8, cooled: 0.6, orders: 0.7, safe: 0.1})
    until(
        lambda: all(
            run_state(workflow, c) == (RunStatus.WAITING, "wait_1") for c in (risky, cooled, orders)
        ),
        message="the high tier entered",
    )
    assert run_state(workflow, safe) is None
    fire(ws, orders, "Order Completed")
    until(lambda: run_state(workflow, orders)[0] == RunStatus.CONVERTED, message="goal")
    scored({cooled: 0.45})  # still high tier, but below the branch's 50%
    advance(days=7)
    until(lambda: run_state(workflow, risky)[0] == RunStatus.COMPLETED, message="offer sent")
    until(lambda: run_state(workflow, cooled)[0] == RunStatus.COMPLETED, message="no offer")
    assert nodes_sent(workflow, risky) == ["note", "offer"]
    assert nodes_sent(workflow, cooled) == ["note"]
    assert nodes_sent(workflow, orders) == ["note"]


def test_mql_handoff(live_worker, ws, receiver):
    from scoring.models import ScoringModel
    from scoring.services import score_adjust
    from tests.conftest import add_member

    rep = add_member(ws, "rep@acme.test", "sales")
    ScoringModel.objects.create(
        workspace=ws, name="Default", is_primary=True, mql_threshold=80, hysteresis=10
    )

    def point_chat_at_receiver(graph):
        for node in graph["nodes"]:
            if node["type"] == "action.webhook":
                node["config"]["url"] = receiver.url
        return graph

    workflow = publish(ws, "mql-handoff", edit=point_chat_at_receiver)
    lead = person(ws, "hot@example.test", lifecycle_stage="lead")
    score_adjust(workspace=ws, contact=lead, points=50, reason="demo request")
    score_adjust(workspace=ws, contact=lead, points=35, reason="pricing visits")
    until(
        lambda: (
            run_state(workflow, lead) is not None
            and run_state(workflow, lead)[0] == RunStatus.COMPLETED
        ),
        message="handoff",
    )
    lead.refresh_from_db()
    assert lead.lifecycle_stage == "mql" and lead.owner_id == rep.pk
    from scoring.models import SalesTask

    assert SalesTask.objects.filter(contact=lead, title__startswith="Call the new MQL").exists()
    assert len(receiver.requests) == 1
    assert (
        StepLog.objects.get(workflow=workflow, node_id="chat").detail["response"]["status"] == 200
    )
