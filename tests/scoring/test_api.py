"""The scoring API: models and rules CRUD, a contact's score, leads for CRMs, stage and deals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, Event
from scoring.models import ContactScore, ScoringModel, ScoringRule
from scoring.services import score_adjust

from .conftest import behavioural, make_contact

pytestmark = pytest.mark.django_db


def test_models_and_rules_crud(ws, api):
    response = api.post(
        "/api/v1/scoring/models/", {"name": "Main", "mql_threshold": 40}, format="json"
    )
    assert response.status_code == 201, response.content
    model_id = response.json()["id"]
    assert response.json()["is_primary"] is True and response.json()["exit_threshold"] == 30
    rules = f"/api/v1/scoring/models/{model_id}/rules/"
    response = api.post(
        rules,
        {
            "kind": "behavioural",
            "name": "Demo",
            "points": 25,
            "event": "Requested Demo",
            "where": [{"property": "plan", "op": "eq", "value": "pro"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    rule_id = response.json()["id"]
    response = api.patch(f"{rules}{rule_id}/", {"points": 30}, format="json")
    assert response.status_code == 200 and response.json()["points"] == 30
    assert [r["name"] for r in api.get(rules).json()["results"]] == ["Demo"]
    response = api.patch(
        f"/api/v1/scoring/models/{model_id}/",
        {"decay_mode": "percent", "decay_percent": 10},
        format="json",
    )
    assert response.status_code == 200 and response.json()["decay_mode"] == "percent"
    assert api.delete(f"{rules}{rule_id}/").status_code == 204
    assert api.delete(f"/api/v1/scoring/models/{model_id}/").status_code == 204
    assert not ScoringModel.objects.exists()


def test_bad_rules_are_refused_naming_the_field(ws, model, api):
    rules = f"/api/v1/scoring/models/{model.pk}/rules/"
    response = api.post(
        rules,
        {
            "kind": "fit",
            "name": "Fit",
            "points": 5,
            "filter": {"field": "nope", "op": "eq", "value": "x"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "filter" in response.json()["error"]["fields"]
    response = api.post(
        rules, {"kind": "behavioural", "name": "x", "points": 0, "event": "E"}, format="json"
    )
    assert response.status_code == 400 and "points" in response.json()["error"]["fields"]
    response = api.post(
        "/api/v1/scoring/models/", {"name": "Other", "decay_mode": "percent"}, format="json"
    )
    assert response.status_code == 400 and "decay_percent" in response.json()["error"]["fields"]
    assert not ScoringRule.objects.exists() and ScoringModel.objects.count() == 1


def test_a_contacts_score_with_breakdown_and_history(ws, model, contact, api):
    score_adjust(workspace=ws, contact=contact, points=12, reason="Webinar")
    body = api.get(f"/api/v1/scoring/contacts/{contact.pk}/").json()
    assert body["score"] == 12 and body["lifecycle_stage"] == "lead"
    [entry] = body["models"]
    assert entry["breakdown"][0]["label"] == "Webinar" and entry["breakdown"][0]["current"] == 12
    assert entry["history"][0]["points"] == 12
    assert (
        api.get(f"/api/v1/scoring/contacts/{contact.pk}/", {"history": "many"}).status_code == 400
    )


def test_the_leads_list_is_ranked_filterable_and_paginated(ws, model, api):
    leads = []
    for i, points in enumerate([10, 70, 40]):
        lead = make_contact(ws, first_name=f"L{i}")
        score_adjust(workspace=ws, contact=lead, points=points, reason="x")
        leads.append(lead)
    make_contact(ws, lifecycle_stage="customer")
    body = api.get("/api/v1/leads/").json()
    assert [r["score"] for r in body["results"]] == [70, 40, 10]
    assert body["results"][0]["lifecycle_stage"] == "mql" and body["results"][0]["url"].endswith(
        f"/leads/{leads[1].pk}/"
    )
    assert [r["score"] for r in api.get("/api/v1/leads/", {"min_score": 30}).json()["results"]] == [
        70,
        40,
    ]
    first = api.get("/api/v1/leads/", {"limit": 2}).json()
    second = api.get(first["next"]).json()
    assert [r["score"] for r in first["results"] + second["results"]] == [70, 40, 10]
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert api.get("/api/v1/leads/", {"updated_since": future}).json()["results"] == []
    assert api.get("/api/v1/leads/", {"stage": "hot"}).status_code == 400
    assert api.get("/api/v1/leads/", {"updated_since": "yesterday"}).status_code == 400


def test_a_crm_moves_the_stage_and_records_deals(ws, model, contact, api):
    response = api.post(
        f"/api/v1/leads/{contact.pk}/stage/",
        {"stage": "sql", "reason": "Accepted in Salesforce"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["lifecycle_stage"] == "sql"
    change = Event.objects.get(contact=contact, name="lifecycle.changed")
    assert change.properties["reason"] == "Accepted in Salesforce"
    assert (
        api.post(f"/api/v1/leads/{contact.pk}/stage/", {"stage": "hot"}, format="json").status_code
        == 400
    )
    deals = f"/api/v1/leads/{contact.pk}/deals/"
    assert api.post(deals, {"value": "-5"}, format="json").status_code == 400
    response = api.post(
        deals,
        {"value": "4200.00", "currency": "EUR", "external_id": "sf-1", "status": "open"},
        format="json",
    )
    assert (
        response.status_code == 201 and Contact.objects.get(pk=contact.pk).lifecycle_stage == "sql"
    )
    response = api.post(
        deals, {"value": "5000", "external_id": "sf-1", "status": "won"}, format="json"
    )
    assert response.status_code == 201 and response.json()["id"] == api.get(deals).json()[0]["id"]
    assert Event.objects.get(contact=contact, name="deal.won").properties["revenue"] == 5000.0
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "customer"


def test_another_workspace_gets_404_everywhere(ws, model, contact, outsider_api):
    rule = behavioural(model, "Demo", 10)
    score_adjust(workspace=ws, contact=contact, points=5, reason="x")
    gets = [
        f"/api/v1/scoring/models/{model.pk}/",
        f"/api/v1/scoring/models/{model.pk}/rules/",
        f"/api/v1/scoring/models/{model.pk}/rules/{rule.pk}/",
        f"/api/v1/scoring/contacts/{contact.pk}/",
        f"/api/v1/leads/{contact.pk}/",
        f"/api/v1/leads/{contact.pk}/deals/",
    ]
    for url in gets:
        assert outsider_api.get(url).status_code == 404, url
    assert (
        outsider_api.patch(
            f"/api/v1/scoring/models/{model.pk}/", {"name": "x"}, format="json"
        ).status_code
        == 404
    )
    assert (
        outsider_api.post(
            f"/api/v1/scoring/models/{model.pk}/rules/", {"kind": "fit"}, format="json"
        ).status_code
        == 404
    )
    assert (
        outsider_api.delete(f"/api/v1/scoring/models/{model.pk}/rules/{rule.pk}/").status_code
        == 404
    )
    assert (
        outsider_api.post(
            f"/api/v1/leads/{contact.pk}/stage/", {"stage": "sql"}, format="json"
        ).status_code
        == 404
    )
    assert (
        outsider_api.post(
            f"/api/v1/leads/{contact.pk}/deals/", {"value": "1"}, format="json"
        ).status_code
        == 404
    )
    assert outsider_api.get("/api/v1/leads/").json()["results"] == []
    assert ScoringModel.objects.get(pk=model.pk).name == "Default"
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"
    assert ContactScore.objects.get(contact=contact).score == 5
