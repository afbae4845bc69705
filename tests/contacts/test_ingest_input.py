"""What /v1/ cannot store is refused up front, naming the field, with nothing half-stored;
a trait that is not valid is left out and reported while the rest of the message is
stored; both are counted on the workspace's data issues.

Every class of input that used to answer 500 (a NUL character anywhere, deep nesting,
timestamps that overflow once the clock skew is removed) is tried on every endpoint.
"""

from __future__ import annotations

import pytest

from contacts.models import AttributeDefinition, Contact, DataIssue, Event
from tests.contacts.test_ingest_api import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(tenant):
    return tenant.write_key


WHO = {"userId": "user-1", "anonymousId": "anon-1"}
# The smallest valid body of every single-call endpoint, and where its free-form data goes.
ENDPOINTS = {
    "identify": ({**WHO, "traits": {"plan": "pro"}}, "traits"),
    "track": ({**WHO, "event": "Signed Up", "properties": {"plan": "pro"}}, "properties"),
    "page": ({**WHO, "name": "Home", "properties": {"path": "/"}}, "properties"),
    "screen": ({**WHO, "name": "Home", "properties": {"path": "/"}}, "properties"),
    "group": ({**WHO, "groupId": "g-1", "traits": {"plan": "pro"}}, "traits"),
    "alias": ({"userId": "user-1", "previousId": "anon-1"}, "context"),
}


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def with_data(kind: str, data: dict) -> dict:
    body, where = ENDPOINTS[kind]
    return {**body, where: {**body.get(where, {}), **data}}


def assert_refused(response, field: str, *, ws) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["error"]["fields"]) == [field], body
    assert not Event.objects.filter(workspace=ws).exists()
    assert not Contact.objects.filter(workspace=ws).exists()
    return body


# --- NUL characters -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_a_nul_character_in_a_value_is_a_400_naming_the_field_on_every_endpoint(ws, key, kind):
    _, where = ENDPOINTS[kind]
    response = post(f"/v1/{kind}", with_data(kind, {"note": "a\u0000b"}), key)
    body = assert_refused(response, f"{where}.note", ws=ws)
    assert "NUL" in body["error"]["message"]


@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_a_nul_character_in_a_nested_key_is_a_400_on_every_endpoint(ws, key, kind):
    _, where = ENDPOINTS[kind]
    response = post(f"/v1/{kind}", with_data(kind, {"deep": [{"k\u0000": 1}]}), key)
    assert_refused(response, f"{where}.deep[0]", ws=ws)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"userId": "u\u0000", "event": "E"}, "userId"),
        ({"anonymousId": "a\u0000", "event": "E"}, "anonymousId"),
        ({"userId": "u", "event": "E\u0000"}, "event"),
        ({"userId": "u", "event": "E", "messageId": "m\u0000"}, "messageId"),
        ({"userId": "u", "event": "E", "context": {"page": {"url": "\u0000"}}}, "context.page.url"),
        ({"userId": "u", "event": "E", "integrations": {"All": "\u0000"}}, "integrations.All"),
    ],
)
def test_a_nul_character_in_ids_names_and_context_is_a_400(ws, key, body, field):
    assert_refused(post("/v1/track", body, key), field, ws=ws)


def test_a_nul_character_in_a_trait_that_maps_to_a_field_is_a_400(ws, key):
    body = {**WHO, "traits": {"firstName": "Ad\u0000a", "plan": "pro"}}
    assert_refused(post("/v1/identify", body, key), "traits.firstName", ws=ws)


# --- Depth, size, key count -------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_500_deep_nesting_is_a_400_on_every_endpoint(ws, key, kind):
    _, where = ENDPOINTS[kind]
    response = post(f"/v1/{kind}", with_data(kind, {"x": nested(500)}), key)
    body = assert_refused(response, f"{where}.x" + ".a" * 30, ws=ws)
    assert "levels deep" in body["error"]["message"]


def test_nesting_within_the_cap_is_stored(ws, key, settings):
    response = post("/v1/track", with_data("track", {"x": nested(20)}), key)
    assert response.status_code == 200, response.content
    assert Event.objects.get(workspace=ws).properties["x"] == nested(20)


def test_more_properties_than_the_cap_is_a_400_naming_the_cap(ws, key):
    properties = {f"p{i}": i for i in range(256)}
    body = assert_refused(
        post("/v1/track", with_data("track", properties), key), "properties", ws=ws
    )
    assert "at most 255" in body["error"]["message"]
    assert "INGEST_MAX_KEYS" in body["error"]["message"]


def test_more_traits_than_the_cap_is_a_400_naming_the_cap(ws, key, settings):
    settings.INGEST_MAX_KEYS = 10
    traits = {f"t{i}": i for i in range(11)}
    assert_refused(post("/v1/identify", with_data("identify", traits), key), "traits", ws=ws)


def test_a_string_longer_than_the_cap_is_a_400_naming_its_path(ws, key, settings):
    settings.INGEST_MAX_STRING_LENGTH = 100
    response = post("/v1/page", with_data("page", {"search": ["ok", "q" * 101]}), key)
    body = assert_refused(response, "properties.search[1]", ws=ws)
    assert "longer than 100 characters" in body["error"]["message"]


def test_a_key_longer_than_the_cap_is_a_400(ws, key, settings):
    settings.INGEST_MAX_STRING_LENGTH = 100
    response = post("/v1/track", with_data("track", {"nested": {"k" * 101: 1}}), key)
    body = assert_refused(response, "properties.nested", ws=ws)
    assert "a key is longer than 100 characters" in body["error"]["message"]


# --- Timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        # Segment's skew correction: receivedAt − (sentAt − timestamp) overflows.
        ({"timestamp": "9999-12-31T23:59:59Z", "sentAt": "0001-01-01T00:00:00Z"}, "timestamp"),
        ({"timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59Z"}, "timestamp"),
        ({"originalTimestamp": "0001-01-01T00:00:00+01:00"}, "originalTimestamp"),
        ({"timestamp": "1969-12-31T23:59:59Z"}, "timestamp"),
        ({"timestamp": "9999-12-31T23:59:59Z"}, "timestamp"),
    ],
)
def test_timestamps_out_of_range_are_a_400_naming_the_field(ws, key, extra, field):
    response = post("/v1/track", {**ENDPOINTS["track"][0], **extra}, key)
    assert_refused(response, field, ws=ws)


def test_an_old_timestamp_with_a_plausible_skew_is_still_corrected(ws, key):
    body = {
        **ENDPOINTS["track"][0],
        "timestamp": "2001-01-01T00:00:00Z",
        "sentAt": "2001-01-01T00:00:10Z",
    }
    assert post("/v1/track", body, key).status_code == 200
    event = Event.objects.get(workspace=ws)
    assert (event.received_at - event.timestamp).total_seconds() == pytest.approx(10, abs=1)


# --- Batches: the bad item alone ----------------------------------------------------------------


def test_a_batch_rejects_each_bad_item_alone_and_stores_the_rest(ws, key):
    good = {"type": "track", **WHO, "event": "Good"}
    bad = [
        {**good, "properties": {"a": "\u0000"}},
        {**good, "properties": nested(500)},
        {**good, "timestamp": "9999-12-31T23:59:59Z", "sentAt": "0001-01-01T00:00:00Z"},
        {**good, "properties": {f"p{i}": i for i in range(256)}},
    ]
    batch = [{**good, "messageId": "ok-0"}]
    for i, item in enumerate(bad):
        batch += [{**item, "messageId": f"bad-{i}"}, {**good, "messageId": f"ok-{i + 1}"}]
    response = post("/v1/batch", {"batch": batch}, key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stored"] == 5
    assert [r["index"] for r in body["rejected"]] == [1, 3, 5, 7]
    assert body["rejected"][0]["field"] == "batch[1].properties.a"
    assert body["rejected"][2]["field"] == "batch[5].timestamp"
    stored = set(Event.objects.filter(workspace=ws).values_list("message_id", flat=True))
    assert stored == {f"ok-{i}" for i in range(5)}


def test_a_nul_character_in_the_batch_context_refuses_the_batch(ws, key):
    batch = {"batch": [{"type": "track", **WHO, "event": "E"}], "context": {"ip": "\u0000"}}
    assert_refused(post("/v1/batch", batch, key), "context.ip", ws=ws)


# --- Traits that fail validation ------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["josé@exämple.de", "用户@例子.广告", "Ada@XN--EXMPLE-CUA.de"],
)
def test_internationalised_email_addresses_are_valid(ws, key, email):
    traits = {"email": email, "name": "José Núñez", "plan": "pro"}
    response = post("/v1/identify", {"userId": "u-1", "traits": traits}, key)
    assert response.json() == {"success": True}
    contact = Contact.objects.get(workspace=ws)
    assert contact.email == email.lower() if "XN--" not in email else "ada@exämple.de"
    assert (contact.first_name, contact.attributes["plan"]) == ("José", "pro")


@pytest.mark.parametrize(
    ("traits", "field"),
    [
        ({"email": "not an address"}, "traits.email"),
        ({"phone": "nope"}, "traits.phone"),
        ({"timezone": "Mars/Olympus"}, "traits.timezone"),
        ({"lifecycleStage": "champion"}, "traits.lifecycleStage"),
        ({"address": {"country": "x" * 500, "street": "Main St"}}, "traits.address.country"),
        ({"email_consent": "maybe"}, "traits.email_consent"),
    ],
)
def test_a_trait_that_fails_validation_is_left_out_and_the_rest_stored(ws, key, traits, field):
    body = {"userId": "u-1", "traits": {**traits, "name": "Ada Lovelace", "plan": "pro"}}
    response = post("/v1/identify", body, key)
    assert response.status_code == 200, response.content
    warnings = response.json()["warnings"]
    assert [w["field"] for w in warnings] == [field]
    assert "left out" in warnings[0]["message"]
    contact = Contact.objects.get(workspace=ws)
    assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
    assert contact.attributes["plan"] == "pro"
    assert contact.email == "" and contact.phone == "" and contact.timezone == ""
    event = Event.objects.get(workspace=ws, type="identify")
    assert field.split(".")[1] not in event.properties or field == "traits.address.country"
    issue = DataIssue.objects.get(workspace=ws)
    assert (issue.kind, issue.field, issue.action, issue.count) == (
        "invalid_trait",
        field if field != "traits.address.country" else "traits.address",
        "corrected",
        1,
    )


def test_a_known_contacts_identify_with_a_bad_trait_keeps_the_rest(ws, key):
    assert (
        post("/v1/identify", {"userId": "u-1", "traits": {"plan": "free"}}, key).status_code == 200
    )
    body = {"userId": "u-1", "traits": {"phone": "123", "plan": "pro"}}
    response = post("/v1/identify", body, key)
    assert response.json()["warnings"][0]["field"] == "traits.phone"
    assert Contact.objects.get(workspace=ws).attributes["plan"] == "pro"


def test_a_batch_reports_corrections_by_index(ws, key):
    batch = [
        {"type": "identify", "userId": "u-1", "traits": {"plan": "pro"}},
        {"type": "identify", "userId": "u-2", "traits": {"email": "@@", "plan": "team"}},
    ]
    body = post("/v1/batch", {"batch": batch}, key).json()
    assert body["stored"] == 2 and body["rejected"] == []
    assert [(w["index"], w["field"]) for w in body["warnings"]] == [(1, "batch[1].traits.email")]
    assert Contact.objects.get(workspace=ws, external_id="u-2").attributes["plan"] == "team"


# --- Custom attributes per workspace ------------------------------------------------------------


def test_new_attributes_beyond_the_workspace_limit_are_left_out_naming_the_cap(ws, key, settings):
    settings.CONTACTS_MAX_ATTRIBUTES = 3
    traits = {f"attr_{i}": i for i in range(5)} | {"firstName": "Ada"}
    response = post("/v1/identify", {"userId": "u-1", "traits": traits}, key)
    assert response.status_code == 200, response.content
    warnings = response.json()["warnings"]
    assert [w["field"] for w in warnings] == ["traits.attr_3", "traits.attr_4"]
    assert "limit of 3 custom attributes" in warnings[0]["message"]
    assert "CONTACTS_MAX_ATTRIBUTES" in warnings[0]["message"]
    assert AttributeDefinition.objects.filter(workspace=ws).count() == 3
    contact = Contact.objects.get(workspace=ws)
    assert contact.first_name == "Ada"
    assert set(contact.attributes) == {"attr_0", "attr_1", "attr_2"}
    # Known attributes still take new values; the next new one is still refused.
    traits = {"attr_0": 10, "attr_9": 9}
    response = post("/v1/identify", {"userId": "u-1", "traits": traits}, key)
    assert [w["field"] for w in response.json()["warnings"]] == ["traits.attr_9"]
    contact.refresh_from_db()
    assert contact.attributes["attr_0"] == 10
    assert DataIssue.objects.get(workspace=ws, kind="attribute_limit").count == 3


def test_the_management_api_refuses_attributes_beyond_the_limit(ws, api, settings):
    settings.CONTACTS_MAX_ATTRIBUTES = 1
    contact = Contact.objects.create(workspace=ws, email="ada@example.com")
    response = api.patch(
        f"/api/v1/contacts/{contact.pk}/", {"attributes": {"a": 1, "b": 2}}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "CONTACTS_MAX_ATTRIBUTES" in response.json()["error"]["message"]
    contact.refresh_from_db()
    assert contact.attributes == {}
    assert not AttributeDefinition.objects.filter(workspace=ws).exists()


def test_registering_an_attribute_beyond_the_limit_is_a_400_naming_the_cap(ws, api, settings):
    settings.CONTACTS_MAX_ATTRIBUTES = 1
    assert (
        api.post("/api/v1/attributes/", {"key": "a", "type": "string"}, format="json").status_code
        == 201
    )
    response = api.post("/api/v1/attributes/", {"key": "b", "type": "string"}, format="json")
    assert response.status_code == 400
    assert "CONTACTS_MAX_ATTRIBUTES" in response.json()["error"]["message"]
    assert list(AttributeDefinition.objects.filter(workspace=ws).values_list("key", flat=True)) == [
        "a"
    ]


def test_a_form_or_import_adding_attributes_beyond_the_limit_is_refused(ws, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from contacts.services import forms as form_services
    from contacts.services import imports as import_services
    from workspaces.errors import ValidationFailed

    settings.CONTACTS_MAX_ATTRIBUTES = 0
    fields = [
        {"key": "email", "label": "Email", "type": "email", "required": True},
        {"key": "shoe_size", "label": "Shoe size", "type": "number"},
    ]
    with pytest.raises(ValidationFailed, match="CONTACTS_MAX_ATTRIBUTES") as error:
        form_services.form_create(workspace=ws, data={"name": "F", "fields": fields})
    assert list(error.value.fields) == ["fields.shoe_size"]
    upload = SimpleUploadedFile("x.csv", b"email,shoe\nada@acme.test,42\n")
    imp = import_services.import_create(workspace=ws, upload=upload, filename="x.csv")
    with pytest.raises(ValidationFailed, match="CONTACTS_MAX_ATTRIBUTES") as error:
        import_services.import_configure(
            contact_import=imp,
            mapping={"email": "email", "shoe": "attr:shoe_size"},
            upsert_key="email",
        )
    assert list(error.value.fields) == ["mapping.shoe"]
    assert not AttributeDefinition.objects.filter(workspace=ws).exists()


# --- Sending to them ---------------------------------------------------------------------------


def test_mail_to_a_non_ascii_local_part_fails_with_the_reason_instead_of_a_wrong_address():
    from django.core.mail import EmailMultiAlternatives

    from messaging.channels import UnsupportedAddress
    from messaging.channels.email import send

    message = EmailMultiAlternatives("Hi", "Hi", "news@acme.test", ["José <josé@exämple.de>"])
    with pytest.raises(UnsupportedAddress, match="SMTPUTF8"):
        send(message)


def test_mail_to_an_internationalised_domain_goes_out(mailoutbox):
    from django.core.mail import EmailMultiAlternatives

    from messaging.channels.email import send

    send(EmailMultiAlternatives("Hi", "Hi", "news@acme.test", ["ada@exämple.de"]))
    assert mailoutbox[0].to == ["ada@exämple.de"]
