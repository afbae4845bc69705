"""The synthetic data generator writes what its docstring promises (benchmarks and the demo rely on it)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count, Max

from bench.generator import generate
from contacts.models import Contact, Event

pytestmark = pytest.mark.django_db


def test_it_writes_exactly_the_contacts_and_events_asked_for(ws):
    now = datetime.now(UTC)
    result = generate(ws.pk, contacts=60, events=900, days=30, seed=3, now=now)

    contacts = Contact.objects.filter(workspace=ws)
    assert contacts.count() == 60 == len(result.contact_ids)
    assert Event.objects.filter(workspace=ws).count() == 900 == result.events
    assert contacts.values("email").distinct().count() == 60
    assert all(c.external_id.startswith("gen-3-") for c in contacts)
    assert {c.lifecycle_stage for c in contacts} <= {"subscriber", "lead", "mql", "sql", "customer"}

    events = Event.objects.filter(workspace=ws)
    names = set(events.values_list("name", flat=True))
    assert "Pricing" in names and "Order Completed" in names and "Signed Up" in names
    order = events.filter(name="Order Completed").first()
    assert order.properties["revenue"] > 0 and order.properties["currency"] == "EUR"
    assert events.filter(type="page", properties__path="/pricing").exists()
    oldest = events.order_by("timestamp").first().timestamp
    assert oldest >= now - timedelta(days=30, seconds=1)
    assert events.filter(timestamp__gt=now).count() == 0


def test_each_contact_was_last_seen_at_its_latest_event(ws):
    generate(ws.pk, contacts=20, events=200, seed=4)
    latest = dict(
        Event.objects.filter(workspace=ws).values_list("contact").annotate(m=Max("timestamp"))
    )
    for contact in Contact.objects.filter(workspace=ws, pk__in=latest):
        assert contact.last_seen_at == latest[contact.pk]


def test_activity_is_skewed_towards_a_few_contacts(ws):
    generate(ws.pk, contacts=100, events=2000, seed=5)
    counts = sorted(
        Event.objects.filter(workspace=ws)
        .values("contact")
        .annotate(n=Count("id"))
        .values_list("n", flat=True),
        reverse=True,
    )
    assert sum(counts[:10]) > 2000 * 0.2  # the top 10% do far more than 10% of it


def test_the_demo_seed_fills_a_workspace_with_definitions(ws):
    import io

    from contacts.demo import demo_seed
    from contacts.models import AttributeDefinition, EventDefinition

    out = io.StringIO()
    demo_seed(workspace=ws, contacts=30, stdout=out)
    assert Contact.objects.filter(workspace=ws).count() == 30
    assert Event.objects.filter(workspace=ws).count() == 600
    order = EventDefinition.objects.get(workspace=ws, name="Order Completed")
    assert "revenue" in order.property_keys
    assert AttributeDefinition.objects.filter(workspace=ws, key="plan").exists()
    assert "30 contacts" in out.getvalue()
