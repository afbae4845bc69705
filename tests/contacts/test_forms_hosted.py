"""Hosted forms: building them (roles, validation), the public page (inline errors, upsert,
consent, form.submitted, pipeline), rate limiting and the honeypot."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from contacts import hooks
from contacts.models import AttributeDefinition, Contact, Event, Form, FormSubmission
from contacts.services import forms as form_services
from tests.conftest import add_member, login_client
from workspaces.roles import Role

pytestmark = pytest.mark.django_db

FIELDS = [
    {"key": "email", "label": "Email", "type": "email", "required": True},
    {"key": "first_name", "label": "First name", "type": "text"},
    {"key": "seats", "label": "Team size", "type": "number"},
    {"key": "role", "label": "Role", "type": "select", "options": ["Dev", "Ops"], "required": True},
]


@pytest.fixture(autouse=True)
def clean_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def pipeline(monkeypatch):
    seen = []
    monkeypatch.setattr(hooks, "_processors", [])
    hooks.on_events_ingested(order=10, name="spy")(
        lambda batch: seen.append(([e.name for e in batch.events], dict(batch.changed_fields)))
    )
    return seen


@pytest.fixture
def signup(ws):
    return form_services.form_create(
        workspace=ws,
        data={
            "name": "Newsletter",
            "fields": FIELDS,
            "tags": ["newsletter"],
            "consent_enabled": True,
            "consent_text": "Email me",
        },
    )


def hosted(form):
    return reverse("contacts:hosted_form", args=[form.public_id])


GOOD = {
    "email": "Ada@Acme.TEST",
    "first_name": "Ada",
    "seats": "12",
    "role": "Dev",
    "consent": "on",
}


# --- The public page ----------------------------------------------------------------------------


def test_the_hosted_page_renders_the_fields_and_can_be_framed(client, signup):
    response = client.get(hosted(signup))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in html and "Team size" in html and "Email me" in html
    assert "X-Frame-Options" not in response.headers


def test_a_submission_upserts_the_contact_records_the_event_and_enqueues_the_pipeline(
    client, ws, signup, pipeline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(hosted(signup), {**GOOD, "page_url": "https://acme.test/blog"})
    assert response.status_code == 200
    assert "on the list" in response.content.decode()
    contact = Contact.objects.get(workspace=ws, email="ada@acme.test")
    assert contact.first_name == "Ada" and contact.attributes == {"seats": 12, "role": "Dev"}
    assert contact.tags == ["newsletter"]
    assert (
        contact.email_consent == "subscribed"
        and contact.email_consent_source == f"form:{signup.pk}"
    )
    event = Event.objects.get(workspace=ws, name="form.submitted")
    assert event.contact_id == contact.pk and event.source == "form"
    assert event.properties["form_name"] == "Newsletter"
    assert event.properties["fields"]["seats"] == 12
    assert event.context["page"]["url"] == "https://acme.test/blog"
    assert FormSubmission.objects.get(form=signup).contact_id == contact.pk
    names, changed = pipeline[-1]
    assert names == ["form.submitted"] and "email_consent" in changed[contact.pk]


def test_a_second_submission_updates_the_same_contact(client, ws, signup):
    client.post(hosted(signup), GOOD)
    client.post(hosted(signup), {**GOOD, "email": "ada@acme.test", "first_name": "Augusta"})
    contact = Contact.objects.get(workspace=ws)
    assert contact.first_name == "Augusta"
    assert Event.objects.filter(name="form.submitted").count() == 2


def test_bad_input_comes_back_inline_and_stores_nothing(client, ws, signup):
    response = client.post(hosted(signup), {"email": "nope", "seats": "a dozen", "role": "CEO"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="err-email"' in html and "valid email address" in html
    assert 'id="err-seats"' in html and "enter a number" in html.lower()
    assert 'id="err-role"' in html
    assert 'value="a dozen"' in html  # what they typed is kept
    assert not Contact.objects.filter(workspace=ws).exists()
    assert not Event.objects.filter(workspace=ws).exists()


def test_double_opt_in_leaves_consent_pending(client, ws, signup):
    form_services.form_update(form=signup, data={"double_opt_in": True})
    client.post(hosted(signup), GOOD)
    contact = Contact.objects.get(workspace=ws)
    assert contact.email_consent == "pending"
    assert Event.objects.get(name="form.submitted").properties["double_opt_in"] is True


def test_double_opt_in_does_not_downgrade_a_subscribed_contact(client, ws, signup):
    Contact.objects.create(workspace=ws, email="ada@acme.test", email_consent="subscribed")
    form_services.form_update(form=signup, data={"double_opt_in": True})
    client.post(hosted(signup), GOOD)
    assert Contact.objects.get(workspace=ws).email_consent == "subscribed"


def test_without_the_consent_tick_consent_is_untouched(client, ws, signup):
    client.post(hosted(signup), {k: v for k, v in GOOD.items() if k != "consent"})
    assert Contact.objects.get(workspace=ws).email_consent == "unknown"


def test_required_consent_is_enforced(client, ws, signup):
    form_services.form_update(form=signup, data={"consent_required": True})
    response = client.post(hosted(signup), {k: v for k, v in GOOD.items() if k != "consent"})
    assert response.status_code == 400 and 'id="err-consent"' in response.content.decode()
    assert not Contact.objects.exists()


def test_the_honeypot_thanks_a_bot_and_stores_nothing(client, ws, signup):
    response = client.post(hosted(signup), {**GOOD, form_services.HONEYPOT_FIELD: "http://spam"})
    assert response.status_code == 200 and "on the list" in response.content.decode()
    assert not Contact.objects.filter(workspace=ws).exists()
    assert not FormSubmission.objects.exists()


def test_submissions_are_rate_limited_per_ip(client, ws, signup, settings):
    settings.TENDRIL_FORM_RATE_LIMIT = (3, 60)
    for i in range(3):
        assert client.post(hosted(signup), {**GOOD, "email": f"p{i}@acme.test"}).status_code == 200
    blocked = client.post(hosted(signup), {**GOOD, "email": "late@acme.test"})
    assert blocked.status_code == 429
    assert "Too many submissions" in blocked.content.decode()
    assert not Contact.objects.filter(email="late@acme.test").exists()
    other_ip = client.post(
        hosted(signup), {**GOOD, "email": "else@acme.test"}, REMOTE_ADDR="10.9.8.7"
    )
    assert other_ip.status_code == 200


def test_a_redirect_url_sends_the_visitor_on(client, signup):
    form_services.form_update(form=signup, data={"redirect_url": "https://acme.test/thanks"})
    response = client.post(hosted(signup), GOOD)
    assert response.status_code == 302 and response["Location"] == "https://acme.test/thanks"
    embedded = client.post(hosted(signup) + "?embed=1", {**GOOD, "email": "b@acme.test"})
    assert embedded.status_code == 200 and "window.top.location" in embedded.content.decode()


def test_a_closed_form_takes_no_submissions(client, ws, signup):
    form_services.form_update(form=signup, data={"is_active": False})
    assert client.post(hosted(signup), GOOD).status_code == 410
    assert not Contact.objects.exists()


def test_an_unknown_form_is_a_404(client, db):
    response = client.get(
        reverse("contacts:hosted_form", args=["00000000-0000-0000-0000-000000000000"])
    )
    assert response.status_code == 404


def test_an_anonymous_visitor_joins_their_profile_on_sign_up(client, ws, signup):
    visitor = Contact.objects.create(workspace=ws, anonymous_ids=["anon-1"])
    client.post(hosted(signup), {**GOOD, "anonymous_id": "anon-1"})
    contact = Contact.objects.get(workspace=ws, email="ada@acme.test")
    assert contact.pk == visitor.pk or not Contact.objects.filter(pk=visitor.pk).exists()
    assert "anon-1" in contact.anonymous_ids


# --- Defining forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields,field",
    [
        ([], "fields"),
        ([{"key": "first_name", "type": "text"}], "fields"),
        ([{"key": "email", "type": "email"}], "fields"),  # email must be required
        ([{"key": "email", "type": "email", "required": True}, {"key": "bad key"}], "fields.1.key"),
        ([{"key": "email", "type": "email", "required": True}, {"key": "score"}], "fields.1.key"),
        (
            [{"key": "email", "type": "email", "required": True}, {"key": "x", "type": "select"}],
            "fields.1.options",
        ),
        ([{"key": "email", "type": "number", "required": True}], "fields.0.type"),
        ([{"key": "email", "type": "email", "required": True}, {"key": "email"}], "fields.1.key"),
    ],
)
def test_a_bad_field_list_is_refused_naming_the_field(ws, fields, field):
    with pytest.raises(Exception) as raised:
        form_services.form_create(workspace=ws, data={"name": "F", "fields": fields})
    assert field in raised.value.fields
    assert not Form.objects.exists()


def test_custom_fields_register_typed_attributes(ws, signup):
    types = dict(AttributeDefinition.objects.filter(workspace=ws).values_list("key", "type"))
    assert types == {"seats": "number", "role": "string"}


def builder_post(name="Webinar", **extra):
    data = {
        "name": name,
        "submit_label": "Register",
        "success_message": "See you there",
        "consent_enabled": "on",
        "consent_text": "Email me",
        "tags": "webinar, q3",
        "is_active": "on",
        "fields-TOTAL_FORMS": "3",
        "fields-INITIAL_FORMS": "0",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "30",
        "fields-0-key": "email",
        "fields-0-label": "Work email",
        "fields-0-type": "email",
        "fields-0-required": "on",
        "fields-1-key": "company",
        "fields-1-label": "Company",
        "fields-1-type": "text",
        "fields-2-key": "",
        "fields-2-type": "text",
    }
    data.update(extra)
    return data


def test_a_marketer_builds_a_form_and_sees_its_embed_snippet(member_client, ws):
    response = member_client.post(reverse("contacts:form_create"), builder_post())
    form = Form.objects.get(workspace=ws)
    assert response.status_code == 302
    assert [f["key"] for f in form.fields] == ["email", "company"] and form.tags == [
        "webinar",
        "q3",
    ]
    page = member_client.get(reverse("contacts:form_detail", args=[form.pk])).content.decode()
    assert f"/f/{form.public_id}/?embed=1" in page and "&lt;iframe" in page
    assert 'id="submission-count">0<' in page


def test_a_builder_error_is_shown_next_to_the_row(member_client, ws):
    response = member_client.post(
        reverse("contacts:form_create"), builder_post(**{"fields-1-key": "has space"})
    )
    assert response.status_code == 400
    assert "letters, digits and _ only" in response.content.decode()
    assert not Form.objects.exists()


def test_editing_a_form_keeps_its_public_url(member_client, signup):
    public_id = signup.public_id
    response = member_client.post(
        reverse("contacts:form_edit", args=[signup.pk]), builder_post(name="Renamed")
    )
    assert response.status_code == 302
    signup.refresh_from_db()
    assert signup.name == "Renamed" and signup.public_id == public_id


def test_the_form_page_counts_submissions(owner_client, client, signup):
    client.post(hosted(signup), GOOD)
    client.post(hosted(signup), {**GOOD, "email": "bob@acme.test"})
    page = owner_client.get(reverse("contacts:form_detail", args=[signup.pk])).content.decode()
    assert 'id="submission-count">2<' in page and "bob@acme.test" in page
    listing = owner_client.get(reverse("contacts:forms")).content.decode()
    assert "Newsletter" in listing


def test_sales_and_viewers_cannot_build_forms(ws, signup):
    for role in (Role.SALES, Role.VIEWER):
        c = login_client(add_member(ws, f"{role}@acme.test", role))
        assert c.get(reverse("contacts:form_create")).status_code == 403
        assert (
            c.post(
                reverse("contacts:form_edit", args=[signup.pk]), builder_post(name="X")
            ).status_code
            == 403
        )
        assert c.get(reverse("contacts:form_detail", args=[signup.pk])).status_code == 200
    signup.refresh_from_db()
    assert signup.name == "Newsletter"


@pytest.mark.parametrize(
    "name,method",
    [
        ("contacts:form_detail", "get"),
        ("contacts:form_edit", "get"),
        ("contacts:form_edit", "post"),
    ],
)
def test_form_pages_404_for_the_outsider(outsider_client, signup, name, method):
    response = getattr(outsider_client, method)(
        reverse(name, args=[signup.pk]), builder_post(name="Stolen")
    )
    assert response.status_code == 404
    signup.refresh_from_db()
    assert signup.name == "Newsletter"


def test_the_outsiders_form_list_holds_none_of_ours(outsider_client, signup):
    assert "Newsletter" not in outsider_client.get(reverse("contacts:forms")).content.decode()


def test_the_form_list_costs_the_same_queries_for_one_form_or_many(
    owner_client, ws, signup, django_assert_num_queries
):
    owner_client.get(reverse("contacts:forms"))
    with django_assert_num_queries(8) as one:
        owner_client.get(reverse("contacts:forms"))
    for i in range(5):
        form_services.form_create(workspace=ws, data={"name": f"F{i}", "fields": FIELDS})
    with django_assert_num_queries(len(one.captured_queries)):
        assert "F4" in owner_client.get(reverse("contacts:forms")).content.decode()
