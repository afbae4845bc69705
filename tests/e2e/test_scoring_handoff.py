"""End to end with a real Celery worker: events posted to /v1/ go through the pipeline, the
contact crosses the threshold, becomes an MQL, is assigned to a rep with a task and a
notification, the rep gets an email (a local SMTP sink) and Slack gets the message (a local
webhook receiver)."""

import pytest

from contacts.models import Contact
from scoring.models import Notification, SalesTask, ScoringModel, ScoringRule
from scoring.services import scoring_settings
from tests.conftest import add_member
from tests.messaging.smtp_sink import SmtpSink
from tests.scoring.receiver import webhook_receiver
from tests.support.ingest import post_batch
from tests.support.worker import running_worker, smtp_env, wait_for
from workspaces.roles import Role

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_ingested_events_turn_a_visitor_into_an_mql_handed_to_a_rep(tenant, ws):
    model = ScoringModel.objects.create(
        workspace=ws, name="Main", is_primary=True, mql_threshold=50
    )
    ScoringRule.objects.create(
        workspace=ws,
        model=model,
        kind="behavioural",
        name="Visited pricing",
        event="Pricing",
        points=5,
    )
    ScoringRule.objects.create(
        workspace=ws,
        model=model,
        kind="behavioural",
        name="Requested a demo",
        event="Requested Demo",
        points=40,
    )
    ScoringRule.objects.create(
        workspace=ws,
        model=model,
        kind="fit",
        name="Decision maker",
        points=10,
        filter={"field": "job_title", "op": "contains", "value": "VP"},
    )
    rep = add_member(ws, "rep@acme.test", Role.SALES)
    sink = SmtpSink().start()
    env = smtp_env(sink, OUTBOUND_ALLOWED_HOSTS="127.0.0.1")
    try:
        with webhook_receiver() as slack, running_worker(extra_env=env):
            settings = scoring_settings(workspace=ws)
            settings.slack_webhook_url = f"{slack.url}/services/T/B/x"
            settings.save()
            who = {"userId": "u-42"}
            post_batch(
                tenant.write_key,
                [
                    {
                        "type": "identify",
                        **who,
                        "traits": {
                            "email": "grace@navy.test",
                            "firstName": "Grace",
                            "company": "Navy",
                            "title": "VP Engineering",
                        },
                        "messageId": "m1",
                    },
                    *[
                        {
                            "type": "page",
                            **who,
                            "name": "Pricing",
                            "properties": {"path": "/pricing"},
                            "messageId": f"p{i}",
                        }
                        for i in range(2)
                    ],
                ],
            )
            contact = wait_for(
                lambda: Contact.objects.filter(
                    workspace=ws, email="grace@navy.test", score=20
                ).first(),
                message="the first batch scored (fit 10 + 2 × pricing 5)",
            )
            assert contact.lifecycle_stage in ("subscriber", "lead")
            post_batch(
                tenant.write_key,
                [
                    {
                        "type": "page",
                        **who,
                        "name": "Pricing",
                        "properties": {"path": "/pricing"},
                        "messageId": "p9",
                    },
                    {"type": "track", **who, "event": "Requested Demo", "messageId": "t1"},
                ],
            )
            task = wait_for(
                lambda: SalesTask.objects.filter(contact=contact).first(),
                message="the follow-up task",
            )
            contact.refresh_from_db()
            assert (contact.score, contact.lifecycle_stage, contact.owner) == (65, "mql", rep)
            assert task.assignee == rep
            note = Notification.objects.get(user=rep, kind="lead.mql")
            assert "visited pricing 3×" in note.body.lower() and "requested demo" in note.body
            wait_for(lambda: slack.requests, message="the Slack message")
            text = slack.requests[0].json["text"]
            assert "Grace" in text and "score 65" in text and "rep@acme.test" in text
            [email] = sink.wait_for(1)
            assert email["To"] == "rep@acme.test" and "New MQL for you" in email["Subject"]
    finally:
        sink.stop()
