"""The sales rep's pages and scoring setup pages: what people see, what they may do."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, Event
from scoring.models import Deal, LeadActivity, SalesTask, ScoringModel, ScoringRule
from scoring.services import sales_task_create, score_adjust
from tests.conftest import add_member, login_client
from workspaces.roles import Role

from .conftest import behavioural, make_contact

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rep(ws):
    return add_member(ws, "rep@acme.test", Role.SALES)


@pytest.fixture
def rep_client(rep):
    return login_client(rep)


@pytest.fixture
def viewer_client(ws):
    return login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))


@pytest.fixture
def lead(ws, model, contact):
    behavioural(model, "Requested Demo", 30, name="Requested a demo")
    score_adjust(workspace=ws, contact=contact, points=25, reason="Webinar")
    return Contact.objects.get(pk=contact.pk)


def stage(contact):
    return Contact.objects.get(pk=contact.pk).lifecycle_stage


def test_leads_are_ranked_by_score_with_a_constant_number_of_queries(ws, model, rep_client):
    def render(count):
        for i in range(count):
            c = make_contact(ws, first_name=f"L{i}")
            score_adjust(workspace=ws, contact=c, points=i + 1, reason="x")
        with CaptureQueriesContext(connection) as captured:
            response = rep_client.get(reverse("scoring:leads"))
        assert response.status_code == 200
        return len(captured), response

    small, _ = render(2)
    large, response = render(20)
    assert small == large
    body = response.content.decode()
    assert body.index("L19") < body.index("L18") < body.index("L0")


def test_filters_narrow_the_list_and_bad_ones_are_named(ws, model, rep, rep_client):
    mine = make_contact(ws, first_name="Mine", owner=rep)
    other = make_contact(ws, first_name="Theirs")
    score_adjust(workspace=ws, contact=mine, points=70, reason="x")
    score_adjust(workspace=ws, contact=other, points=5, reason="x")
    results = {**HTMX, "HTTP_HX_TARGET": "lead-results"}
    response = rep_client.get(reverse("scoring:leads"), {"owner": "mine"}, **results)
    assert "Mine" in response.content.decode() and "Theirs" not in response.content.decode()
    response = rep_client.get(
        reverse("scoring:leads"), {"stage": "mql", "min_score": "60"}, **results
    )
    assert "Mine" in response.content.decode() and "Theirs" not in response.content.decode()
    response = rep_client.get(reverse("scoring:leads"), {}, **results)
    assert "Mine" in response.content.decode() and "Theirs" in response.content.decode()
    response = rep_client.get(reverse("scoring:leads"), {"min_score": "lots"})
    assert response.status_code == 400 and "min_score" in response.content.decode()


def test_the_lead_page_explains_the_score(ws, lead, rep_client):
    response = rep_client.get(reverse("scoring:lead", args=[lead.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Why this score" in body and "Webinar" in body
    assert 'data-chart="bar"' in body and 'data-chart="line"' in body
    assert "Accept (→ SQL)" in body


def test_accepting_a_lead_makes_it_sql_and_the_rep_its_owner(ws, lead, rep, rep_client):
    response = rep_client.post(reverse("scoring:accept", args=[lead.pk]), **HTMX)
    assert response.status_code == 200 and "sales qualified" in response.content.decode()
    lead.refresh_from_db()
    assert (lead.lifecycle_stage, lead.owner) == ("sql", rep)
    assert LeadActivity.objects.filter(contact=lead, kind="accepted").exists()


def test_disqualifying_needs_a_reason(ws, lead, rep_client):
    url = reverse("scoring:disqualify", args=[lead.pk])
    response = rep_client.post(url, {"reason": " "}, **HTMX)
    assert response.status_code == 400 and "Say why" in response.content.decode()
    assert stage(lead) == "lead"
    rep_client.post(url, {"reason": "Student"}, **HTMX)
    assert stage(lead) == "other"
    event = Event.objects.filter(contact=lead, name="lifecycle.changed").latest("pk")
    assert event.properties["reason"] == "Disqualified: Student"


def test_a_disqualified_lead_says_so_and_why_and_offers_no_second_disqualify(
    ws, lead, rep, rep_client
):
    url = reverse("scoring:disqualify", args=[lead.pk])
    before = rep_client.get(reverse("scoring:lead", args=[lead.pk])).content.decode()
    assert '<summary class="btn">Disqualify</summary>' in before
    html = rep_client.post(url, {"reason": "Student"}, **HTMX).content.decode()
    assert 'id="lead-stage">Disqualified<' in html
    assert "Disqualified by rep@acme.test" in html and ": Student</p>" in html
    assert '<summary class="btn">Disqualify</summary>' not in html


def test_a_task_on_an_unowned_lead_is_its_creators_and_shows_in_my_tasks(ws, lead, rep, rep_client):
    assert lead.owner is None
    rep_client.post(reverse("scoring:task_create", args=[lead.pk]), {"title": "Call back"}, **HTMX)
    task = SalesTask.objects.get(contact=lead)
    assert task.assignee == rep
    leads_page = rep_client.get(reverse("scoring:leads")).content.decode()
    assert "Call back" in leads_page.split("My tasks")[1]


def test_the_notification_bell_is_a_drawn_icon_not_an_emoji(ws, rep_client):
    """Chromium without an emoji font drew the 🔔 character as an empty box."""
    bell = rep_client.get(reverse("scoring:bell")).content.decode()
    assert "<svg" in bell and "🔔" not in bell and 'aria-label="Notifications"' in bell


def test_logging_a_call_shows_in_the_activity_and_the_stream(ws, lead, rep_client):
    rep_client.post(
        reverse("scoring:log", args=[lead.pk]), {"kind": "call", "body": "Left a voicemail"}, **HTMX
    )
    assert LeadActivity.objects.get(contact=lead, kind="call").body == "Left a voicemail"
    assert Event.objects.filter(contact=lead, name="lead.call_logged").exists()


def test_marking_as_customer_records_the_deal_and_its_revenue(ws, lead, rep_client):
    url = reverse("scoring:won", args=[lead.pk])
    response = rep_client.post(url, {"value": "ten grand"}, **HTMX)
    assert response.status_code == 400 and "number" in response.content.decode()
    assert not Deal.objects.exists()
    rep_client.post(url, {"value": "12000.50", "currency": "eur", "name": "Pilot"}, **HTMX)
    deal = Deal.objects.get(contact=lead)
    assert (str(deal.value), deal.currency, deal.status) == ("12000.50", "EUR", "won")
    won = Event.objects.get(contact=lead, name="deal.won")
    assert won.properties["revenue"] == 12000.5 and won.properties["currency"] == "EUR"
    assert stage(lead) == "customer"


def test_assigning_an_owner_and_adding_and_finishing_a_task(ws, lead, rep, rep_client):
    rep_client.post(reverse("scoring:assign", args=[lead.pk]), {"owner": rep.pk}, **HTMX)
    lead.refresh_from_db()
    assert lead.owner == rep
    response = rep_client.post(
        reverse("scoring:task_create", args=[lead.pk]), {"title": ""}, **HTMX
    )
    assert response.status_code == 400
    rep_client.post(
        reverse("scoring:task_create", args=[lead.pk]),
        {"title": "Send the deck", "due_at": "2030-01-02T09:00"},
        **HTMX,
    )
    task = SalesTask.objects.get(contact=lead)
    assert task.assignee == rep and task.due_at.year == 2030
    rep_client.post(reverse("scoring:task_done", args=[lead.pk, task.pk]), **HTMX)
    task.refresh_from_db()
    assert task.completed_at is not None


def test_a_viewer_sees_leads_but_cannot_act(ws, lead, viewer_client):
    assert viewer_client.get(reverse("scoring:lead", args=[lead.pk])).status_code == 200
    assert (
        "Accept (→ SQL)"
        not in viewer_client.get(reverse("scoring:lead", args=[lead.pk])).content.decode()
    )
    assert viewer_client.post(reverse("scoring:accept", args=[lead.pk])).status_code == 403
    assert stage(lead) == "lead"


def test_the_hot_feed_lists_recent_risers(ws, lead, rep_client):
    response = rep_client.get(reverse("scoring:hot"), **HTMX)
    assert lead.display_name in response.content.decode() and "+25" in response.content.decode()


def test_notifications_feed_and_bell(ws, lead, rep, rep_client):
    sales_task_create(workspace=ws, contact=lead, title="Call", assignee=rep)
    bell = rep_client.get(reverse("scoring:bell")).content.decode()
    assert "1 unread" in bell
    assert "Task: Call" in rep_client.get(reverse("scoring:notifications")).content.decode()
    rep_client.post(reverse("scoring:notifications_read"))
    assert "unread" not in rep_client.get(reverse("scoring:bell")).content.decode()


def test_mark_all_read_from_htmx_swaps_only_the_feed(ws, lead, rep, rep_client):
    sales_task_create(workspace=ws, contact=lead, title="Call", assignee=rep)
    response = rep_client.post(reverse("scoring:notifications_read"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<ul class="sc-feed" id="notifications">')
    assert "Task: Call" in body and ">new<" not in body and "<html" not in body


# --- setup -------------------------------------------------------------------------------------


def test_a_marketer_builds_a_model_and_its_rules(ws, member_client):
    response = member_client.post(
        reverse("scoring:model_create"),
        {
            "name": "Main",
            "mql_threshold": "60",
            "hysteresis": "10",
            "decay_mode": "percent",
            "decay_percent": "10",
            "decay_period_days": "30",
            "expire_after_days": "90",
            "is_active": "on",
        },
    )
    model = ScoringModel.objects.get(workspace=ws)
    assert response.status_code == 302 and model.is_primary and model.mql_threshold == 60
    url = reverse("scoring:rule_create", args=[model.pk])
    # The rule form holds the condition editor island (no JSON box): the event and its
    # property rows, in a hidden input it keeps current.
    form = member_client.get(url + "?kind=behavioural").content.decode()
    assert "data-condition-editor" in form and 'data-mode="event"' in form
    assert 'name="behaviour"' in form and "textarea" not in form

    def behaviour(op: str, value: str, **extra: str) -> dict[str, str]:
        where = [{"property": "path", "op": op, "value": value}]
        return {
            "kind": "behavioural",
            "name": "Pricing",
            "points": "5",
            "behaviour": json.dumps({"event": "Page Viewed", "where": where}),
            **extra,
        }

    response = member_client.post(url, behaviour("gt", "lots"))
    html = response.content.decode()
    assert response.status_code == 400
    errors = json.loads(
        html.split('id="behaviour-errors" type="application/json">')[1].split("<")[0]
    )
    assert "where[0].value" in errors  # the editor shows it next to the property row
    assert not ScoringRule.objects.filter(name="Pricing").exists()
    member_client.post(url, behaviour("contains", "/pricing", is_active="on"))
    pricing = ScoringRule.objects.get(name="Pricing")
    assert (pricing.event, pricing.where) == (
        "Page Viewed",
        [{"property": "path", "op": "contains", "value": "/pricing"}],
    )
    edit = member_client.get(reverse("scoring:rule", args=[model.pk, pricing.pk])).content.decode()
    assert "/pricing" in edit and 'name="behaviour"' in edit

    fit = {"all": [{"field": "job_title", "op": "contains", "value": "VP"}]}
    fit_form = {"kind": "fit", "name": "VP", "points": "10", "is_active": "on"}
    bad_tree = {"all": [{"field": "score", "op": "gt", "value": "lots"}]}
    bad = member_client.post(url, {**fit_form, "filter": json.dumps(bad_tree)})
    assert bad.status_code == 400
    html = bad.content.decode()
    errors = json.loads(html.split('id="filter-errors" type="application/json">')[1].split("<")[0])
    assert list(errors) == ["all[0].value"]
    assert member_client.post(url, {**fit_form, "filter": "{oops"}).status_code == 400
    member_client.post(url, {**fit_form, "filter": json.dumps(fit)})
    vp = ScoringRule.objects.get(name="VP")
    assert vp.filter == fit
    # Switching the kind re-renders the form for it, keeping what was typed.
    switched = member_client.get(
        url, {"kind": "fit", "name": "Typed", "points": "7", "behaviour": "{}"}
    ).content.decode()
    assert 'value="Typed"' in switched and 'name="filter"' in switched
    response = member_client.post(
        url,
        {
            "kind": "negative",
            "name": "Gone quiet",
            "points": "5",
            "signal": "inactive",
            "inactive_days": "30",
        },
    )
    assert response.status_code == 400 and "negative" in response.content.decode()
    assert sorted(ScoringRule.objects.values_list("name", flat=True)) == ["Pricing", "VP"]
    page = member_client.get(reverse("scoring:model", args=[model.pk])).content.decode()
    assert "Pricing" in page and "VP" in page


def test_sales_cannot_edit_scoring_models(ws, model, rep_client):
    response = rep_client.post(reverse("scoring:model", args=[model.pk]), {"name": "Hijacked"})
    assert response.status_code == 403
    assert ScoringModel.objects.get(pk=model.pk).name == "Default"


def test_routing_rules_and_capacity_are_saved(ws, rep, member_client):
    response = member_client.post(
        reverse("scoring:routing"),
        {
            "name": "DACH",
            "filter": '{"field": "country", "op": "in", "value": ["DE", "AT"]}',
            "reps": [rep.pk],
        },
    )
    assert response.status_code == 302
    response = member_client.post(
        reverse("scoring:routing"),
        {"name": "Bad", "filter": '{"field": "nope", "op": "eq", "value": 1}', "reps": [rep.pk]},
    )
    assert response.status_code == 400 and "nope" in response.content.decode()
    member_client.post(
        reverse("scoring:routing"),
        {"action": "capacity", "user": rep.pk, "max_open_leads": "5", "is_available": "on"},
    )
    from scoring.models import AssignmentRule, SalesRep

    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["DACH"]
    assert SalesRep.objects.get(user=rep).max_open_leads == 5


def test_only_admins_set_webhooks_and_private_addresses_are_refused(
    ws, owner_client, member_client
):
    url = reverse("scoring:integrations")
    assert (
        member_client.post(url, {"slack_webhook_url": "https://hooks.example.com/x"}).status_code
        == 403
    )
    response = owner_client.post(
        url, {"slack_webhook_url": "http://169.254.169.254/latest", "task_due_hours": "24"}
    )
    assert response.status_code == 400
    assert "169.254.169.254 is a link-local address" in response.content.decode()


# --- outsiders -----------------------------------------------------------------------------------


def test_every_scoring_page_404s_for_another_workspace(ws, lead, model, outsider_client, owner):
    rule = ScoringRule.objects.filter(model=model).first()
    task = sales_task_create(workspace=ws, contact=lead, title="x", assignee=owner)
    gets = [
        reverse("scoring:lead", args=[lead.pk]),
        reverse("scoring:model", args=[model.pk]),
        reverse("scoring:report", args=[model.pk]),
        reverse("scoring:rule", args=[model.pk, rule.pk]),
        reverse("scoring:rule_create", args=[model.pk]),
    ]
    posts = [
        reverse("scoring:accept", args=[lead.pk]),
        reverse("scoring:disqualify", args=[lead.pk]),
        reverse("scoring:log", args=[lead.pk]),
        reverse("scoring:won", args=[lead.pk]),
        reverse("scoring:assign", args=[lead.pk]),
        reverse("scoring:task_create", args=[lead.pk]),
        reverse("scoring:task_done", args=[lead.pk, task.pk]),
        reverse("scoring:model_delete", args=[model.pk]),
        reverse("scoring:rule_delete", args=[model.pk, rule.pk]),
    ]
    for url in gets:
        assert outsider_client.get(url).status_code == 404, url
    for url in posts:
        assert (
            outsider_client.post(
                url, {"reason": "x", "body": "x", "value": "1", "title": "x"}
            ).status_code
            == 404
        ), url
    assert stage(lead) == "lead" and ScoringModel.objects.filter(pk=model.pk).exists()
    own = outsider_client.get(reverse("scoring:leads")).content.decode()
    assert lead.display_name not in own
