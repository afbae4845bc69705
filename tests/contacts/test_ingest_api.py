"""The Segment-compatible /v1/ API: what integrations post is stored once, exactly, in the
right workspace; what is wrong is refused with a message naming the field."""

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from contacts import hooks
from contacts.models import Contact, Event, EventDefinition
from workspaces.models import ApiKey

pytestmark = pytest.mark.django_db


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def post(path, body, key=None, *, compress=False, raw=None, **headers):
    data = raw if raw is not None else json.dumps(body).encode()
    if compress:
        data = gzip.compress(data)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    if key:
        headers["HTTP_AUTHORIZATION"] = basic(key)
    return Client().generic(
        "POST", path, data, content_type=headers.pop("content_type", "application/json"), **headers
    )


def track(i=0, **extra):
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": "user-1",
        "properties": {"revenue": 10 * (i + 1)},
        "messageId": f"m-{i}",
        **extra,
    }


@pytest.fixture
def key(tenant):
    return tenant.write_key


def test_a_track_call_stores_the_event_on_a_new_contact(ws, key):
    response = post("/v1/track", track(), key)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    event = Event.objects.get(workspace=ws)
    assert (event.type, event.name, event.properties) == (
        "track",
        "Order Completed",
        {"revenue": 10},
    )
    assert event.contact.external_id == "user-1"
    assert event.source == "api"
    assert event.context["ip"] == "127.0.0.1"
    event.contact.refresh_from_db()
    assert event.contact.last_seen_at is not None


def test_identify_applies_traits(ws, key):
    response = post(
        "/v1/identify",
        {
            "userId": "user-1",
            "traits": {"email": "Ada@Example.com", "firstName": "Ada", "plan": "pro"},
        },
        key,
    )
    assert response.status_code == 200
    contact = Contact.objects.get(workspace=ws)
    assert (contact.email, contact.first_name, contact.attributes) == (
        "ada@example.com",
        "Ada",
        {"plan": "pro"},
    )
    assert Event.objects.get(workspace=ws).type == "identify"


def test_a_replayed_batch_creates_nothing_new_and_still_answers_200(ws, key):
    batch = {"batch": [track(i) for i in range(5)] + [{**track(9), "userId": "user-2"}]}
    first = post("/v1/batch", batch, key)
    second = post("/v1/batch", batch, key)
    assert first.status_code == second.status_code == 200
    assert first.json()["stored"] == 6
    assert second.json() == {"success": True, "stored": 0, "duplicates": 6, "rejected": []}
    assert Event.objects.filter(workspace=ws).count() == 6
    assert Contact.objects.filter(workspace=ws).count() == 2


def test_a_replayed_single_call_is_a_200_and_no_new_row(ws, key):
    assert post("/v1/track", track(), key).status_code == 200
    assert post("/v1/track", track(), key).status_code == 200
    assert Event.objects.filter(workspace=ws).count() == 1


def test_a_track_without_event_is_a_400_naming_the_field_and_nothing_is_stored(ws, key):
    response = post("/v1/track", {"userId": "u", "properties": {}}, key)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["message"] == "event: required for track"
    assert body["error"]["fields"] == {"event": "required for track"}
    assert not Event.objects.filter(workspace=ws).exists()
    assert not Contact.objects.filter(workspace=ws).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "x"}, "userId"),
        ({"event": "x", "userId": "u", "properties": [1]}, "properties"),
        ({"event": "x", "userId": "u", "timestamp": "yesterday"}, "timestamp"),
        ({"event": "x", "userId": {"id": 1}}, "userId"),
        ({"event": "x" * 201, "userId": "u"}, "event"),
    ],
)
def test_malformed_calls_name_the_field(ws, key, body, field):
    response = post("/v1/track", body, key)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not Event.objects.filter(workspace=ws).exists()


def test_an_identify_with_a_bad_phone_names_the_trait_and_stores_the_rest(ws, key):
    body = {"userId": "u", "traits": {"phone": "nope", "plan": "pro"}}
    response = post("/v1/identify", body, key)
    assert response.status_code == 200
    assert [w["field"] for w in response.json()["warnings"]] == ["traits.phone"]
    contact = Contact.objects.get(workspace=ws)
    assert (contact.phone, contact.attributes) == ("", {"plan": "pro"})


def test_a_body_that_is_not_json_is_a_400(key):
    response = post("/v1/track", None, key, raw=b"{nope")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"body": "not valid JSON"}


def test_a_partial_batch_stores_the_good_messages_and_reports_the_bad_by_index(ws, key):
    batch = {
        "batch": [
            track(0),
            {"type": "track", "userId": "u", "messageId": "bad-1"},
            track(2),
            {"type": "wave", "userId": "u"},
            {"type": "identify", "userId": "u", "traits": {"email": "nope"}, "messageId": "bad-4"},
        ]
    }
    response = post("/v1/batch", batch, key)
    assert response.status_code == 200
    body = response.json()
    assert body["stored"] == 3
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (1, "batch[1].event"),
        (3, "batch[3].type"),
    ]
    # A trait that is not valid is left out of its message, which is stored.
    assert [(w["index"], w["field"]) for w in body["warnings"]] == [(4, "batch[4].traits.email")]
    assert set(Event.objects.filter(workspace=ws).values_list("message_id", flat=True)) == {
        "m-0",
        "m-2",
        "bad-4",
    }


def test_a_batch_with_only_bad_messages_is_a_400(ws, key):
    response = post("/v1/batch", {"batch": [{"type": "track", "userId": "u"}]}, key)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "batch[0].event: required for track"
    assert response.json()["error"]["rejected"][0]["index"] == 0


def test_a_batch_without_a_batch_list_is_a_400(key):
    response = post("/v1/batch", {"messages": []}, key)
    assert response.status_code == 400
    assert "batch" in response.json()["error"]["fields"]


def test_a_bad_or_missing_key_is_a_401(ws, key):
    assert post("/v1/track", track(), "tdw_not-a-key").status_code == 401
    response = post("/v1/track", track())
    assert response.status_code == 401
    assert "write key" in response.json()["error"]["message"]
    assert not Event.objects.exists()


def test_a_revoked_key_is_refused(ws, key):
    assert post("/v1/track", track(0), key).status_code == 200
    api_key = ApiKey.objects.get(key_hash=ApiKey.hash(key))
    api_key.revoked_at = timezone.now()
    api_key.save()
    assert post("/v1/track", track(1), key).status_code == 401


def test_the_write_key_may_travel_in_the_body(ws, key):
    response = post("/v1/batch", {"writeKey": key, "batch": [track()]}, content_type="text/plain")
    assert response.status_code == 200
    assert Event.objects.filter(workspace=ws).count() == 1


def test_a_gzip_batch_is_accepted(ws, key):
    response = post("/v1/batch", {"batch": [track(i) for i in range(3)]}, key, compress=True)
    assert response.status_code == 200
    assert Event.objects.filter(workspace=ws).count() == 3


def test_a_call_over_32_kb_is_refused_naming_the_limit(ws, key):
    response = post("/v1/track", track(properties={"blob": "x" * 33_000}), key)
    assert response.status_code == 400
    assert "32 KB" in response.json()["error"]["message"]
    assert not Event.objects.exists()


def test_a_batch_over_500_kb_is_refused_even_when_compressed(ws, key):
    batch = {"batch": [track(i, properties={"blob": "x" * 20_000}) for i in range(30)]}
    response = post("/v1/batch", batch, key, compress=True)
    assert response.status_code == 400
    assert "500 KB" in response.json()["error"]["message"]
    assert not Event.objects.exists()


def test_a_message_over_32_kb_inside_a_batch_is_rejected_alone(ws, key):
    batch = {"batch": [track(0), track(1, properties={"blob": "x" * 33_000})]}
    response = post("/v1/batch", batch, key)
    assert response.status_code == 200
    assert response.json()["rejected"][0]["field"] == "batch[1]"
    assert Event.objects.filter(workspace=ws).count() == 1


def test_identify_after_anonymous_activity_keeps_one_contact_with_all_events(ws, key):
    post("/v1/page", {"anonymousId": "anon-1", "name": "Pricing", "messageId": "p1"}, key)
    post(
        "/v1/identify",
        {"anonymousId": "anon-1", "userId": "user-1", "traits": {"email": "a@b.test"}},
        key,
    )
    post("/v1/track", {**track(), "anonymousId": "anon-1"}, key)
    contact = Contact.objects.get(workspace=ws)
    assert contact.external_id == "user-1" and contact.anonymous_ids == ["anon-1"]
    assert contact.events.count() == 3


def test_identify_merges_the_anonymous_profile_into_a_known_contact_with_its_events(ws, key):
    post("/v1/identify", {"userId": "user-1", "traits": {"email": "a@b.test"}}, key)
    batch = {
        "batch": [
            {"type": "page", "anonymousId": "anon-2", "name": "Home", "messageId": "p1"},
            {"type": "page", "anonymousId": "anon-2", "name": "Pricing", "messageId": "p2"},
            {"type": "identify", "anonymousId": "anon-2", "userId": "user-1", "messageId": "i1"},
            {"type": "track", "anonymousId": "anon-2", "event": "Upgraded", "messageId": "t1"},
        ]
    }
    assert post("/v1/batch", batch, key).status_code == 200
    contact = Contact.objects.get(workspace=ws)
    assert contact.email == "a@b.test"
    assert "anon-2" in contact.anonymous_ids
    assert contact.events.count() == 5


def test_alias_merges_the_previous_profile_into_the_user(ws, key):
    post("/v1/page", {"anonymousId": "anon-3", "messageId": "p1"}, key)
    post("/v1/identify", {"userId": "user-9", "traits": {"plan": "pro"}}, key)
    response = post("/v1/alias", {"previousId": "anon-3", "userId": "user-9"}, key)
    assert response.status_code == 200
    contact = Contact.objects.get(workspace=ws)
    assert contact.external_id == "user-9"
    assert contact.events.count() == 3


def test_alias_from_an_earlier_user_id_renames_the_contact(ws, key):
    post("/v1/identify", {"userId": "u-1", "anonymousId": "a-1", "messageId": "i-1"}, key)
    response = post("/v1/alias", {"previousId": "u-1", "userId": "u-2"}, key)
    assert response.status_code == 200
    contact = Contact.objects.get(workspace=ws)
    assert (contact.external_id, contact.anonymous_ids) == ("u-2", ["a-1", "u-1"])
    # Calls still naming the old userId land on the same person.
    post("/v1/track", track(0, userId="u-1"), key)
    assert Contact.objects.get(workspace=ws).events.count() == 3


def test_an_identify_naming_a_renamed_user_id_updates_that_contact(ws, key):
    """The one identity rule for every path: an identify carrying a new email goes through
    contact_upsert (not ingestion's batched traits), which finds the renamed userId too."""
    post("/v1/identify", {"userId": "u-1", "messageId": "i-1"}, key)
    post("/v1/alias", {"previousId": "u-1", "userId": "u-2", "messageId": "al-1"}, key)
    response = post(
        "/v1/identify",
        {"userId": "u-1", "traits": {"email": "Ada@Example.com"}, "messageId": "i-2"},
        key,
    )
    assert response.status_code == 200
    contact = Contact.objects.get(workspace=ws)  # no second profile for the old userId
    assert (contact.external_id, contact.email) == ("u-2", "ada@example.com")


def test_alias_without_previous_id_is_a_400(key):
    response = post("/v1/alias", {"userId": "user-9"}, key)
    assert response.status_code == 400
    assert "previousId" in response.json()["error"]["fields"]


def test_the_client_timestamp_is_honoured_with_clock_skew_removed(ws, key):
    now = datetime.now(UTC)
    happened = now - timedelta(days=3)
    skew = timedelta(minutes=5)  # the client clock runs 5 minutes fast
    body = {
        "batch": [
            track(
                0,
                timestamp=(happened + skew).isoformat(),
            )
        ],
        "sentAt": (now + skew).isoformat(),
    }
    post("/v1/batch", body, key)
    event = Event.objects.get(workspace=ws)
    assert abs(event.timestamp - happened) < timedelta(seconds=5)
    assert event.received_at > happened + timedelta(days=2)


def test_a_page_url_with_utm_parameters_fills_the_campaign(ws, key):
    post(
        "/v1/page",
        {
            "anonymousId": "a",
            "properties": {"url": "https://site.test/pricing?utm_source=news&utm_campaign=spring"},
        },
        key,
    )
    event = Event.objects.get(workspace=ws)
    assert event.context["campaign"] == {"source": "news", "name": "spring"}
    assert event.properties["path"] == "/pricing"


def test_track_events_register_their_names_and_property_keys(ws, key):
    post("/v1/batch", {"batch": [track(0), track(1, properties={"currency": "EUR"})]}, key)
    definition = EventDefinition.objects.get(workspace=ws, name="Order Completed")
    assert definition.property_keys == ["currency", "revenue"]


def test_one_pipeline_task_per_request_sees_the_new_events(
    ws, key, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(hooks, "_processors", [])
    seen = []

    @hooks.on_events_ingested(order=10, name="probe")
    def probe(batch):
        seen.append((sorted(e.message_id for e in batch.events), dict(batch.changed_fields)))

    from contacts.tasks import process_events

    sent = []
    real_apply_async = process_events.apply_async
    monkeypatch.setattr(
        process_events,
        "apply_async",
        lambda *args, **kwargs: (sent.append(args), real_apply_async(*args, **kwargs)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        post("/v1/batch", {"batch": [track(0), track(1), track(2)]}, key)
    assert len(sent) == 1
    assert seen[0][0] == ["m-0", "m-1", "m-2"]
    assert list(seen[0][1].values()) == [{"created"}]


def test_cors_preflight_allows_the_calling_origin(key):
    response = Client().options(
        "/v1/batch",
        HTTP_ORIGIN="https://shop.test",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://shop.test"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "authorization" in response["Access-Control-Allow-Headers"].lower()


def test_responses_and_errors_carry_cors_headers(key):
    ok = post("/v1/track", track(), key, HTTP_ORIGIN="https://shop.test")
    refused = post("/v1/track", track(), "nope", HTTP_ORIGIN="https://shop.test")
    assert ok["Access-Control-Allow-Origin"] == "https://shop.test"
    assert refused.status_code == 401
    assert refused["Access-Control-Allow-Origin"] == "https://shop.test"


def test_cors_is_not_added_outside_v1(client):
    response = client.get("/healthz", HTTP_ORIGIN="https://shop.test")
    assert "Access-Control-Allow-Origin" not in response


def test_a_write_key_only_ever_writes_into_its_own_workspace(ws, other_ws, key, other_tenant):
    post("/v1/identify", {"userId": "user-1", "traits": {"plan": "acme"}}, key)
    post("/v1/identify", {"userId": "user-1", "traits": {"plan": "globex"}}, other_tenant.write_key)
    post("/v1/track", track(), other_tenant.write_key)
    mine = Contact.objects.get(workspace=ws)
    theirs = Contact.objects.get(workspace=other_ws)
    assert mine.attributes == {"plan": "acme"}
    assert theirs.attributes == {"plan": "globex"}
    assert Event.objects.filter(workspace=ws).count() == 1
    assert Event.objects.filter(workspace=other_ws).count() == 2
    assert set(Event.objects.filter(workspace=other_ws).values_list("contact", flat=True)) == {
        theirs.pk
    }


def test_the_same_message_id_in_two_workspaces_is_two_events(ws, other_ws, key, other_tenant):
    post("/v1/track", track(), key)
    post("/v1/track", track(), other_tenant.write_key)
    assert Event.objects.filter(workspace=ws).count() == 1
    assert Event.objects.filter(workspace=other_ws).count() == 1


def test_a_secret_key_may_send_events_too(ws, tenant):
    response = post("/v1/track", track(), tenant.secret_key)
    assert response.status_code == 200


def test_identifies_of_a_known_user_apply_their_traits_in_order(ws, key):
    post("/v1/identify", {"userId": "u-1", "anonymousId": "a-1", "traits": {"plan": "free"}}, key)
    batch = {
        "batch": [
            {"type": "identify", "userId": "u-1", "anonymousId": "a-1", "traits": {"plan": "pro"}},
            {**track(1), "userId": "u-1"},
            {"type": "identify", "userId": "u-1", "traits": {"plan": "enterprise", "seats": 5}},
        ]
    }
    assert post("/v1/batch", batch, key).json()["stored"] == 3
    contact = Contact.objects.get(workspace=ws)
    assert contact.attributes == {"plan": "enterprise", "seats": 5}


def test_a_known_user_who_changes_email_gets_the_new_one(ws, key):
    post("/v1/identify", {"userId": "u-1", "traits": {"email": "old@b.test"}}, key)
    post("/v1/identify", {"userId": "u-1", "traits": {"email": "New@B.test"}}, key)
    assert Contact.objects.get(workspace=ws).email == "new@b.test"


def test_an_identify_cannot_take_another_contacts_email(ws, key):
    post("/v1/identify", {"userId": "u-1", "traits": {"email": "one@b.test"}}, key)
    post("/v1/identify", {"userId": "u-2", "traits": {"email": "two@b.test"}}, key)
    post(
        "/v1/batch",
        {
            "batch": [
                {
                    "type": "identify",
                    "userId": "u-2",
                    "traits": {"email": "one@b.test", "plan": "x"},
                }
            ]
        },
        key,
    )
    two = Contact.objects.get(workspace=ws, external_id="u-2")
    assert two.email == "two@b.test"
    assert two.attributes == {"plan": "x"}
    assert Contact.objects.get(workspace=ws, external_id="u-1").email == "one@b.test"


def _ingest_one(ws, body, kind):
    from contacts.ingest.parsing import parse_call
    from contacts.services.ingest import ingest_messages

    message = parse_call(body, type=kind, received_at=timezone.now())
    return ingest_messages(
        workspace=ws, messages=[message], source="api", received_at=timezone.now()
    )


def _statements(ws, body, kind):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = _ingest_one(ws, body, kind)
    return result, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("synchronous", [False, True])
def test_ingestion_commits_asynchronously_unless_configured_in_few_round_trips(
    ws, key, settings, synchronous
):
    """The SET LOCAL travels with the transaction's first query, and really applies."""
    from django.db import connection

    settings.TENDRIL_INGEST_SYNCHRONOUS_COMMIT = synchronous
    result, statements = _statements(ws, track(0, userId="new-user"), "track")
    assert result.stored == 1
    # (inside SAVEPOINT … RELEASE because the test itself runs inside a transaction)
    lookup = statements[1]
    assert lookup.startswith("SET LOCAL enable_seqscan = off;\n")
    assert ("SET LOCAL synchronous_commit = off;" in lookup) is not synchronous
    assert "FROM contacts_contact" in lookup
    assert not any(sql.startswith("SET") for sql in statements[2:])
    # The test runs inside one transaction, so a SET LOCAL is still visible here.
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == ("on" if synchronous else "off")


@pytest.mark.parametrize("synchronous", [False, True])
def test_an_event_about_a_known_contact_is_one_statement(ws, key, settings, synchronous):
    """Lookup, INSERT and last-seen touch in one query string (its own transaction when
    no transaction is open); a replay of it stores nothing and still counts as handled."""
    settings.TENDRIL_INGEST_SYNCHRONOUS_COMMIT = synchronous
    first = {"type": "page", "name": "Pricing", "userId": "u-1", "anonymousId": "a-1"}
    assert post("/v1/page", {**first, "messageId": "p-0"}, key).status_code == 200
    contact = Contact.objects.get(workspace=ws)
    Contact.objects.filter(pk=contact.pk).update(last_seen_at=None)

    result, statements = _statements(ws, {**first, "messageId": "p-1"}, "page")
    assert (result.stored, result.duplicates) == (1, 0)
    assert len(statements) == 1
    assert statements[0].lstrip().startswith("WITH who AS")
    assert "INSERT INTO contacts_event" in statements[0]
    # The commit setting travels inside the statement (the test's own transaction is still
    # open, so it is visible here).
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == ("on" if synchronous else "off")
    event = Event.objects.get(workspace=ws, message_id="p-1")
    assert (event.contact_id, event.type, event.name) == (contact.pk, "page", "Pricing")
    contact.refresh_from_db()
    assert contact.last_seen_at == event.timestamp

    replay, statements = _statements(ws, {**first, "messageId": "p-1"}, "page")
    assert (replay.stored, replay.duplicates, len(statements)) == (0, 1, 1)
    by_anonymous_id = _statements(
        ws, {"type": "page", "anonymousId": "a-1", "messageId": "p-2"}, "page"
    )
    assert by_anonymous_id[0].stored == 1 and len(by_anonymous_id[1]) == 1
    assert Event.objects.filter(workspace=ws, contact=contact).count() == 3
    assert Contact.objects.filter(workspace=ws).count() == 1


def test_the_one_statement_is_prepared_once_a_connection_has_run_it_a_few_times(ws, key):
    """Its planning cost as much as its execution; bound server-side, psycopg prepares it
    after DATABASES OPTIONS prepare_threshold runs on a connection."""
    post("/v1/page", {"type": "page", "userId": "u-1", "messageId": "p-0"}, key)
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    for i in range(threshold + 1):
        assert _ingest_one(ws, {"userId": "u-1", "messageId": f"p-{i + 1}"}, "page").stored == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%INSERT INTO contacts_event%"],
        )
        assert cursor.fetchone()[0] == 1


def test_calls_that_change_who_someone_is_leave_the_one_statement_path(ws, key):
    """A new device, a userId meeting another profile's anonymousId, a userId renamed by an
    alias: the single statement writes nothing and the general path does the rest."""
    post("/v1/identify", {"userId": "u-1", "anonymousId": "a-1", "messageId": "i-1"}, key)
    post("/v1/page", {"anonymousId": "a-2", "messageId": "p-1"}, key)  # another visitor
    ada = Contact.objects.get(workspace=ws, external_id="u-1")

    new_device = _ingest_one(
        ws, {"type": "page", "userId": "u-1", "anonymousId": "a-3", "messageId": "p-2"}, "page"
    )
    assert new_device.stored == 1
    ada.refresh_from_db()
    assert ada.anonymous_ids == ["a-1", "a-3"]

    meets = _ingest_one(
        ws, {"type": "page", "userId": "u-1", "anonymousId": "a-2", "messageId": "p-3"}, "page"
    )
    assert meets.stored == 1
    assert list(Contact.objects.filter(workspace=ws)) == [ada]  # the visitor merged into Ada
    assert set(Event.objects.filter(workspace=ws).values_list("contact_id", flat=True)) == {ada.pk}

    post("/v1/alias", {"previousId": "u-1", "userId": "u-2", "messageId": "al-1"}, key)
    renamed = _ingest_one(ws, {"type": "page", "userId": "u-1", "messageId": "p-4"}, "page")
    assert renamed.stored == 1
    assert Event.objects.get(workspace=ws, message_id="p-4").contact_id == ada.pk
    assert Contact.objects.filter(workspace=ws).count() == 1


def test_a_track_with_a_new_property_key_still_registers_it(ws, key):
    from contacts.services import event_definitions

    post("/v1/track", track(0), key)
    now = timezone.now()
    event_definitions._known_definitions[(ws.pk, "Order Completed")] = (frozenset({"revenue"}), now)
    try:
        result, statements = _statements(ws, track(1), "track")
        assert result.stored == 1 and len(statements) == 1  # keys known: one statement
        _ingest_one(ws, track(2, properties={"coupon": "X"}), "track")
    finally:
        event_definitions._known_definitions.pop((ws.pk, "Order Completed"), None)
    definition = EventDefinition.objects.get(workspace=ws, name="Order Completed")
    assert definition.property_keys == ["coupon", "revenue"]


def test_ingestion_skips_the_ui_middleware_but_keeps_security_headers(ws, key):
    response = post("/v1/track", track(), key)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware ran
    assert "X-Frame-Options" not in response  # the UI's clickjacking middleware did not
    assert not response.cookies  # no session, no CSRF cookie
    assert response.wsgi_request.resolver_match.url_name == "ingest_track"
    # An unknown /v1/ path still gets the API's JSON 404 through the full chain.
    missing = post("/v1/nothing-here", {}, key)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
