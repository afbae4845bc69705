"""Node types in the engine: branches, waits, field and tag actions, messages, webhooks."""

from datetime import datetime, timedelta

import pytest
from standardwebhooks import Webhook

from contacts.models import Contact
from contacts.services import event_record, events_enqueue_processing
from messaging.models import Message
from workflows.models import Outcome, RunStatus, StepLog, WorkflowRun
from workflows.nodes.branch_ab import variant_for
from workspaces.outbound.models import WebhookDelivery

from .conftest import chain, days, drain, email_template, make_workflow, run_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def fire(ws, django_capture_on_commit_callbacks):
    def fire(contact, name, **properties):
        event = event_record(
            workspace=ws, contact=contact, name=name, properties=properties, source="api"
        )
        with django_capture_on_commit_callbacks(execute=True):
            events_enqueue_processing(workspace=ws, event_ids=[event.pk])
        drain()
        return event

    return fire


def path(run):
    return list(StepLog.objects.filter(run=run).values_list("node_id", "outcome", "port"))


def test_if_else_follows_the_segment_filter(ws, api_enrol):
    graph = {
        "nodes": [
            {"id": "start", "type": "trigger.api"},
            {
                "id": "vip",
                "type": "branch.condition",
                "config": {"filter": {"all": [{"tag": "vip"}]}},
            },
            {"id": "yes", "type": "action.tag_add", "config": {"tags": ["went-yes"]}},
            {"id": "no", "type": "action.tag_add", "config": {"tags": ["went-no"]}},
        ],
        "edges": [
            {"source": "start", "target": "vip"},
            {"source": "vip", "target": "yes", "port": "yes"},
            {"source": "vip", "target": "no", "port": "no"},
        ],
    }
    workflow = make_workflow(ws, graph)
    vip = Contact.objects.create(workspace=ws, email="vip@example.test", tags=["vip"])
    plain = Contact.objects.create(workspace=ws, email="plain@example.test")
    api_enrol(workflow, vip)
    api_enrol(workflow, plain)
    vip.refresh_from_db()
    plain.refresh_from_db()
    assert "went-yes" in vip.tags and "went-no" not in vip.tags
    assert plain.tags == ["went-no"]


def test_multi_split_takes_the_first_match_else_default(ws, api_enrol):
    graph = {
        "nodes": [
            {"id": "start", "type": "trigger.api"},
            {"id": "split", "type": "branch.multi", "config": {"branches": [
                {"name": "de", "filter": {"all": [{"field": "country", "op": "eq", "value": "DE"}]}},
                {"name": "eu", "filter": {"all": [{"field": "country", "op": "in", "value": ["DE", "FR"]}]}},
            ]}},
            {"id": "de", "type": "action.tag_add", "config": {"tags": ["de"]}},
            {"id": "eu", "type": "action.tag_add", "config": {"tags": ["eu"]}},
            {"id": "rest", "type": "action.tag_add", "config": {"tags": ["rest"]}},
        ],
        "edges": [
            {"source": "start", "target": "split"},
            {"source": "split", "target": "de", "port": "de"},
            {"source": "split", "target": "eu", "port": "eu"},
            {"source": "split", "target": "rest", "port": "default"},
        ],
    }  # fmt: skip
    workflow = make_workflow(ws, graph)
    tags = {}
    for country in ("DE", "FR", "US"):
        contact = Contact.objects.create(
            workspace=ws, email=f"{country}@example.test", country=country
        )
        api_enrol(workflow, contact)
        contact.refresh_from_db()
        tags[country] = contact.tags
    assert tags == {"DE": ["de"], "FR": ["eu"], "US": ["rest"]}


def test_ab_split_is_stable_per_contact_and_uses_every_variant():
    config = {"variants": [{"name": "a", "weight": 70}, {"name": "b", "weight": 30}]}
    picks = [variant_for(config, workflow_id=7, node_id="ab", contact_id=cid) for cid in range(400)]
    assert picks == [
        variant_for(config, workflow_id=7, node_id="ab", contact_id=cid) for cid in range(400)
    ]
    share_a = picks.count("a") / len(picks)
    assert 0.6 < share_a < 0.8
    other_workflow = [
        variant_for(config, workflow_id=8, node_id="ab", contact_id=cid) for cid in range(400)
    ]
    assert other_workflow != picks  # a different experiment splits differently


def test_wait_until_event_resumes_on_the_event(ws, contact, clock, api_enrol, fire):
    graph = {
        "nodes": [
            {"id": "start", "type": "trigger.api"},
            {
                "id": "wait",
                "type": "wait.until_event",
                "config": {
                    "event": "Order Completed",
                    "where": [{"property": "total", "op": "gt", "value": 10}],
                    "timeout": {"days": 3},
                },
            },
            {"id": "bought", "type": "action.tag_add", "config": {"tags": ["bought"]}},
            {"id": "gave_up", "type": "action.tag_add", "config": {"tags": ["gave-up"]}},
        ],
        "edges": [
            {"source": "start", "target": "wait"},
            {"source": "wait", "target": "bought"},
            {"source": "wait", "target": "gave_up", "port": "timeout"},
        ],
    }
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    fire(contact, "Order Completed", total=5)  # does not match the condition
    assert run_of(workflow, contact).status == RunStatus.WAITING
    fire(contact, "Order Completed", total=50)
    run = run_of(workflow, contact)
    contact.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and contact.tags == ["bought"]
    assert ("wait", Outcome.RESUMED, "default") in path(run)


def test_wait_until_event_times_out_through_the_timeout_port(ws, contact, clock, api_enrol):
    graph = {
        "nodes": [
            {"id": "start", "type": "trigger.api"},
            {
                "id": "wait",
                "type": "wait.until_event",
                "config": {"event": "Order Completed", "timeout": {"hours": 6}},
            },
            {"id": "gave_up", "type": "action.tag_add", "config": {"tags": ["gave-up"]}},
        ],
        "edges": [
            {"source": "start", "target": "wait"},
            {"source": "wait", "target": "gave_up", "port": "timeout"},
        ],
    }
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    clock.shift(timedelta(hours=5))
    drain()
    assert run_of(workflow, contact).status == RunStatus.WAITING
    clock.shift(timedelta(hours=2))
    drain()
    contact.refresh_from_db()
    assert contact.tags == ["gave-up"]


def test_wait_until_condition_resumes_when_the_contact_changes(
    ws, contact, api_enrol, django_capture_on_commit_callbacks
):
    from contacts.services.contacts import contact_tags_add

    graph = chain(
        ("start", "trigger.api", {}),
        (
            "wait",
            "wait.until_condition",
            {"filter": {"all": [{"tag": "ready"}]}, "timeout": {"days": 30}},
        ),
        ("done", "action.tag_add", {"tags": ["done"]}),
    )
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    assert run_of(workflow, contact).status == RunStatus.WAITING
    with django_capture_on_commit_callbacks(execute=True):
        contact_tags_add(workspace=ws, contact=contact, tags=["ready"])
    drain()
    contact.refresh_from_db()
    assert run_of(workflow, contact).status == RunStatus.COMPLETED
    assert contact.tags == ["ready", "done"]


def test_weekday_window_waits_for_contact_local_time(ws, clock, api_enrol):
    contact = Contact.objects.create(
        workspace=ws, email="ny@example.test", timezone="America/New_York"
    )
    graph = chain(
        ("start", "trigger.api", {}),
        ("tue", "wait.weekday_window", {"days": [1], "start": "09:00", "end": "11:00"}),
    )
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    local = run.next_step_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert (local.weekday(), local.hour, local.minute) == (1, 9, 0)
    assert run.next_step_at > clock.now() - timedelta(seconds=1)


def test_update_field_sets_increments_and_clears(ws, contact, api_enrol):
    graph = chain(
        ("start", "trigger.api", {}),
        ("plan", "action.update_field", {"field": "plan", "value": "pro"}),
        ("visits", "action.update_field", {"field": "visits", "op": "increment", "value": 2}),
        ("again", "action.update_field", {"field": "visits", "op": "increment", "value": 3}),
        ("city", "action.update_field", {"field": "city", "value": "Berlin"}),
        ("gone", "action.update_field", {"field": "legacy", "op": "unset"}),
    )
    contact.attributes = {"legacy": "x"}
    contact.save()
    api_enrol(make_workflow(ws, graph), contact)
    contact.refresh_from_db()
    assert contact.attributes == {"plan": "pro", "visits": 5}
    assert contact.city == "Berlin"


def test_email_is_queued_once_and_waits_for_the_send_window(ws, clock, api_enrol):
    template = email_template(ws)
    contact = Contact.objects.create(
        workspace=ws,
        email="night@example.test",
        first_name="Nia",
        timezone="UTC",
        email_consent="subscribed",
    )
    graph = chain(("start", "trigger.api", {}), ("hello", "action.email", {"template": template}))
    now = clock.now()
    start = (now + timedelta(hours=2)).strftime("%H:00")
    end = (now + timedelta(hours=4)).strftime("%H:00")
    workflow = make_workflow(ws, graph, send_window={"start": start, "end": end})
    api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    assert run.status == RunStatus.WAITING and run.current_node == "hello"
    assert not Message.objects.exists()
    clock.shift(timedelta(hours=2, minutes=1))
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    message = Message.objects.get()
    assert (message.source_type, message.source_id) == ("workflow", f"{run.pk}:hello")
    assert [o for _, o, _ in path(run)] == [Outcome.PASSED, Outcome.DEFERRED, Outcome.SENT]


def test_the_daily_cap_defers_to_the_next_day(ws, clock, api_enrol):
    template = email_template(ws)
    contact = Contact.objects.create(workspace=ws, email="cap@example.test", timezone="UTC")
    graph = chain(
        ("start", "trigger.api", {}),
        ("one", "action.email", {"template": template}),
        ("two", "action.email", {"template": template}),
    )
    workflow = make_workflow(ws, graph, daily_message_cap=1)
    api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    assert (run.status, run.current_node) == (RunStatus.WAITING, "two")
    assert (
        run.next_step_at.astimezone(__import__("zoneinfo").ZoneInfo("UTC")).time().isoformat()
        == "00:00:00"
    )
    assert Message.objects.count() == 1
    clock.shift(days(1))
    drain()
    assert Message.objects.count() == 2


def test_webhook_is_signed_and_its_response_kept(ws, contact, receiver, api_enrol):
    graph = chain(
        ("start", "trigger.api", {}),
        ("hook", "action.webhook", {"url": receiver.url, "data": {"team": "sales"}}),
    )
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    assert run.status == RunStatus.COMPLETED
    [request] = receiver.requests
    # Standard Webhooks, verified by the reference library with the workflow's secret.
    payload = Webhook(workflow.webhook_secret).verify(request["body"], request["headers"])
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["webhook-id"] == f"msg_{run.pk}_hook"
    assert payload["contact"]["email"] == contact.email and payload["data"] == {"team": "sales"}
    log = StepLog.objects.get(run=run, node_id="hook")
    assert log.detail["response"]["status"] == 200 and "ok" in log.detail["response"]["excerpt"]
    [delivery] = WebhookDelivery.objects.filter(workspace=ws)
    assert (delivery.status, delivery.attempt, delivery.event_type) == (
        "succeeded",
        1,
        "workflow.webhook",
    )


def test_a_failing_webhook_is_retried_with_backoff_then_fails_the_run(
    ws, contact, receiver, clock, api_enrol, settings
):
    settings.WORKFLOWS_STEP_MAX_ATTEMPTS = 3
    receiver.status = 503
    graph = chain(("start", "trigger.api", {}), ("hook", "action.webhook", {"url": receiver.url}))
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    assert (run.status, run.attempts) == (RunStatus.ACTIVE, 1)
    first_retry = run.next_step_at - clock.now()
    assert timedelta(seconds=25) < first_retry <= timedelta(seconds=31)
    clock.shift(timedelta(seconds=31))
    drain()
    run.refresh_from_db()
    assert run.attempts == 2 and run.next_step_at - clock.now() > timedelta(seconds=100)
    clock.shift(timedelta(minutes=3))
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "HTTP 503" in run.error
    assert len(receiver.requests) == 3
    outcomes = [o for n, o, _ in path(run) if n == "hook"]
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]


def test_a_failing_step_after_others_keeps_their_effects_and_retries_only_itself(
    ws, contact, receiver, api_enrol
):
    receiver.status = [500, 200]
    graph = chain(
        ("start", "trigger.api", {}),
        ("tag", "action.tag_add", {"tags": ["before"]}),
        ("hook", "action.webhook", {"url": receiver.url}),
    )
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    contact.refresh_from_db()
    assert run.current_node == "hook" and contact.tags == ["before"]
    assert [(n, o) for n, o, _ in path(run)] == [
        ("start", "passed"),
        ("tag", "passed"),
        ("hook", "retry"),
    ]


def test_a_stale_claim_is_a_no_op(ws, contact, api_enrol):
    from workflows.engine.runner import runs_execute

    graph = chain(
        ("start", "trigger.api", {}),
        ("tag", "action.tag_add", {"tags": ["x"]}),
        ("wait", "wait.duration", {"days": 1}),
    )
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    before = StepLog.objects.count()
    assert (
        runs_execute(workspace=ws, claims=[[run.pk, "00000000-0000-0000-0000-000000000000", None]])
        == 0
    )
    assert StepLog.objects.count() == before


def test_runs_in_flight_stay_on_their_version(ws, contact, clock, api_enrol):
    from workflows.services import draft_save, workflow_publish

    v1 = chain(
        ("start", "trigger.api", {}),
        ("wait", "wait.duration", {"days": 1}),
        ("tag", "action.tag_add", {"tags": ["v1"]}),
    )
    workflow = make_workflow(ws, v1)
    api_enrol(workflow, contact)
    v2 = chain(
        ("start", "trigger.api", {}),
        ("wait", "wait.duration", {"days": 1}),
        ("tag", "action.tag_add", {"tags": ["v2"]}),
    )
    draft_save(workspace=ws, workflow=workflow, graph=v2)
    workflow_publish(workspace=ws, workflow=workflow)
    newcomer = Contact.objects.create(workspace=ws, email="new@example.test")
    api_enrol(workflow, newcomer)
    clock.shift(days(1))
    drain()
    contact.refresh_from_db()
    newcomer.refresh_from_db()
    assert (contact.tags, newcomer.tags) == (["v1"], ["v2"])


def test_reentry_rules(ws, contact, clock, api_enrol, fire):
    graph = chain(
        ("start", "trigger.event", {"event": "Ping"}), ("tag", "action.tag_add", {"tags": ["x"]})
    )
    never = make_workflow(ws, graph, name="never")
    always = make_workflow(ws, graph, name="always", reentry="always")
    weekly = make_workflow(ws, graph, name="weekly", reentry="after_days", reentry_days=7)
    fire(contact, "Ping")
    fire(contact, "Ping")
    clock.shift(days(8))
    fire(contact, "Ping")
    counts = {
        wf.name: WorkflowRun.objects.filter(workflow=wf).count() for wf in (never, always, weekly)
    }
    assert counts == {"never": 1, "always": 3, "weekly": 2}


def test_a_suppressed_contact_is_not_enrolled(ws, contact, fire):
    from segments.services import segment_create, static_list_add

    blocked = segment_create(workspace=ws, name="Do not disturb", kind="static")
    static_list_add(segment=blocked, contact_ids=[contact.pk], source="manual")
    graph = chain(
        ("start", "trigger.event", {"event": "Ping"}), ("tag", "action.tag_add", {"tags": ["x"]})
    )
    make_workflow(ws, graph, suppression_segment_id=blocked.pk)
    other = Contact.objects.create(workspace=ws, email="free@example.test")
    fire(contact, "Ping")
    fire(other, "Ping")
    assert list(WorkflowRun.objects.values_list("contact_id", flat=True)) == [other.pk]


def test_the_workflow_goal_converts_a_waiting_run(ws, contact, api_enrol, fire):
    graph = chain(
        ("start", "trigger.api", {}),
        ("wait", "wait.duration", {"days": 5}),
        ("tag", "action.tag_add", {"tags": ["late"]}),
    )
    workflow = make_workflow(
        ws, graph, goal_filter={"all": [{"event": "Order Completed", "within_days": 1}]}
    )
    api_enrol(workflow, contact)
    fire(contact, "Order Completed")
    run = run_of(workflow, contact)
    assert run.status == RunStatus.CONVERTED and run.finished_at is not None
    assert path(run)[-1][1] == Outcome.CONVERTED


def test_a_contact_who_meets_a_goal_node_jumps_to_it(ws, contact, api_enrol, fire):
    graph = chain(
        ("start", "trigger.api", {}),
        ("wait", "wait.duration", {"days": 5}),
        ("nag", "action.tag_add", {"tags": ["nagged"]}),
        ("bought", "goal", {"filter": {"all": [{"event": "Order Completed", "within_days": 1}]}}),
        ("thanks", "action.tag_add", {"tags": ["thanked"]}),
    )
    workflow = make_workflow(ws, graph)
    api_enrol(workflow, contact)
    fire(contact, "Order Completed")
    run = run_of(workflow, contact)
    contact.refresh_from_db()
    assert run.status == RunStatus.CONVERTED
    assert contact.tags == ["thanked"]


def test_field_changed_and_segment_entered_triggers(
    ws, contact, django_capture_on_commit_callbacks
):
    from contacts.services.contacts import contact_update
    from segments.services import segment_create, static_list_add

    on_plan = make_workflow(
        ws,
        chain(
            ("start", "trigger.field_changed", {"field": "plan", "to": "pro"}),
            ("t", "action.tag_add", {"tags": ["pro-flow"]}),
        ),
        name="plan",
    )
    vips = segment_create(workspace=ws, name="VIPs", kind="static")
    on_vip = make_workflow(
        ws,
        chain(
            ("start", "trigger.segment_entered", {"segment": vips.pk}),
            ("t", "action.tag_add", {"tags": ["vip-flow"]}),
        ),
        name="vip",
    )
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(workspace=ws, contact=contact, data={"attributes": {"plan": "free"}})
    drain()
    assert not WorkflowRun.objects.filter(workflow=on_plan).exists()
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(workspace=ws, contact=contact, data={"attributes": {"plan": "pro"}})
    with django_capture_on_commit_callbacks(execute=True):
        static_list_add(segment=vips, contact_ids=[contact.pk], source="manual")
    drain()
    contact.refresh_from_db()
    assert sorted(contact.tags) == ["pro-flow", "vip-flow"]
    assert WorkflowRun.objects.filter(workflow=on_vip).count() == 1


def test_anniversary_enrols_at_contact_local_time_once_a_year(ws, clock):
    from workflows.runs.enrolment import anniversaries_enrol

    now = clock.now()
    tokyo = __import__("zoneinfo").ZoneInfo("Asia/Tokyo")
    local_today = now.astimezone(tokyo).date()
    born = (
        local_today.replace(year=1990)
        if (local_today.month, local_today.day) != (2, 29)
        else local_today.replace(year=1992)
    )
    contact = Contact.objects.create(
        workspace=ws,
        email="bday@example.test",
        timezone="Asia/Tokyo",
        attributes={"birthday": born.isoformat()},
    )
    Contact.objects.create(
        workspace=ws,
        email="other@example.test",
        timezone="Asia/Tokyo",
        attributes={"birthday": "1990-01-01" if born.month != 1 else "1990-06-15"},
    )
    local_now = now.astimezone(tokyo)
    at = "00:00"
    workflow = make_workflow(
        ws,
        chain(
            ("start", "trigger.date_anniversary", {"attribute": "birthday", "at": at}),
            ("t", "action.tag_add", {"tags": ["birthday"]}),
        ),
        reentry="always",
    )
    assert anniversaries_enrol(workspace=ws) == 1
    assert anniversaries_enrol(workspace=ws) == 0  # once a year
    assert WorkflowRun.objects.get(workflow=workflow).contact_id == contact.pk
    assert local_now.date() == local_today


def test_segment_snapshot_enrols_everyone_in_it_once_on_activation(
    ws, django_capture_on_commit_callbacks
):
    from segments.services import segment_create, static_list_add

    members = [Contact.objects.create(workspace=ws, email=f"m{i}@example.test") for i in range(3)]
    Contact.objects.create(workspace=ws, email="outside@example.test")
    group = segment_create(workspace=ws, name="Beta", kind="static")
    static_list_add(segment=group, contact_ids=[c.pk for c in members], source="manual")
    with django_capture_on_commit_callbacks(execute=True):
        workflow = make_workflow(
            ws,
            chain(
                ("start", "trigger.segment_snapshot", {"segment": group.pk}),
                ("t", "action.tag_add", {"tags": ["beta"]}),
            ),
        )
    drain()
    assert sorted(
        WorkflowRun.objects.filter(workflow=workflow).values_list("contact_id", flat=True)
    ) == sorted(c.pk for c in members)
    workflow.refresh_from_db()
    assert workflow.snapshot_enrolled_at is not None


def test_archiving_exits_runs_in_flight(ws, contact, api_enrol):
    from workflows.services import workflow_archive

    workflow = make_workflow(
        ws, chain(("start", "trigger.api", {}), ("wait", "wait.duration", {"days": 1}))
    )
    api_enrol(workflow, contact)
    workflow_archive(workspace=ws, workflow=workflow)
    run = run_of(workflow, contact)
    assert run.status == RunStatus.EXITED and run.next_step_at is None
    assert isinstance(run.finished_at, datetime)


def test_one_failing_run_does_not_hold_back_the_others_in_its_chunk(
    ws, django_capture_on_commit_callbacks
):
    from workflows.runs.enrolment import Candidate, enrol

    graph = chain(
        ("start", "trigger.api", {}),
        ("tag", "action.tag_add", {"tags": ["seen"]}),
        ("bump", "action.update_field", {"field": "visits", "op": "increment", "value": 1}),
    )
    workflow = make_workflow(ws, graph)
    good = Contact.objects.create(workspace=ws, email="good@example.test", attributes={"visits": 1})
    bad = Contact.objects.create(
        workspace=ws, email="bad@example.test", attributes={"visits": "lots"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        enrol(
            workspace=ws, candidates=[Candidate(workflow.pk, "start", c, "k") for c in (good, bad)]
        )
    drain()
    good.refresh_from_db()
    bad.refresh_from_db()
    assert run_of(workflow, good).status == RunStatus.COMPLETED and good.attributes["visits"] == 2
    failed = run_of(workflow, bad)
    assert failed.status == RunStatus.FAILED and "cannot add" in failed.error
    assert bad.tags == ["seen"]  # the step before the failing one was kept
