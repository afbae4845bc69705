"""CSV import: upload and mapping guess, preview, the chunked task, identity rules, the error
report, progress, roles and isolation."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts import hooks
from contacts.models import AttributeDefinition, Contact, ContactImport
from contacts.services import imports as import_services
from tests.conftest import add_member, login_client
from workspaces.errors import ValidationFailed
from workspaces.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(monkeypatch):
    """Count what the pipeline is told, instead of running scoring/segments/workflows."""
    seen = {}
    monkeypatch.setattr(hooks, "_processors", [])

    def spy(batch):
        for contact_id, fields in batch.changed_fields.items():
            seen.setdefault(contact_id, set()).update(fields)

    hooks.on_events_ingested(order=10, name="spy")(spy)
    return seen


def csv_file(rows, name="people.csv", delimiter=","):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode(), content_type="text/csv")


def upload(client, rows, **kwargs):
    return client.post(reverse("contacts:imports"), {"file": csv_file(rows, **kwargs)})


def run(client, imp, capture, **form):
    data = {f"map_{i}": imp.mapping.get(h, "") for i, h in enumerate(imp.headers)}
    data.update({"upsert_key": "email", "tags": ""})
    data.update(form)
    with capture(execute=True):
        response = client.post(reverse("contacts:import_detail", args=[imp.pk]), data)
    imp.refresh_from_db()
    return response


PEOPLE = [
    ["E-mail", "First Name", "Surname", "Company", "Plan", "Seats", "Newsletter", "Tags"],
    ["ada@acme.test", "Ada", "Lovelace", "Analytical", "pro", "12", "yes", "vip;beta"],
    ["BOB@acme.test", "Bob", "", "Builder Ltd", "free", "1", "no", ""],
    ["not-an-email", "Eve", "", "", "", "", "", ""],
    ["cy@acme.test", "Cy", "", "", "pro", "many", "", ""],
]


def test_an_upload_guesses_the_mapping_and_shows_a_preview(owner_client, ws):
    response = upload(owner_client, PEOPLE)
    imp = ContactImport.objects.get(workspace=ws)
    assert response.status_code == 302 and imp.status == "mapping" and imp.total_rows == 4
    assert imp.mapping == {
        "E-mail": "email",
        "First Name": "first_name",
        "Surname": "last_name",
        "Company": "company",
        "Plan": "attr:plan",
        "Seats": "attr:seats",
        "Newsletter": "email_consent",
        "Tags": "tags",
    }
    page = owner_client.get(reverse("contacts:import_detail", args=[imp.pk])).content.decode()
    assert "Analytical" in page and "Import 4 rows" in page


def test_semicolon_files_and_windows_encoding_are_read(owner_client, ws):
    rows = [["email", "city"], ["zoe@acme.test", "Zürich"]]
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    owner_client.post(
        reverse("contacts:imports"),
        {"file": SimpleUploadedFile("w.csv", out.getvalue().encode("cp1252"))},
    )
    imp = ContactImport.objects.get(workspace=ws)
    assert imp.headers == ["email", "city"]
    assert import_services.import_preview(contact_import=imp) == [["zoe@acme.test", "Zürich"]]


@pytest.mark.parametrize(
    "content,message",
    [(b"", "empty"), (b"email\n", "no rows"), (b"\n\n", "empty")],
)
def test_a_useless_upload_is_refused_inline(owner_client, ws, content, message):
    response = owner_client.post(
        reverse("contacts:imports"), {"file": SimpleUploadedFile("x.csv", content)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused(owner_client, ws, settings):
    settings.TENDRIL_IMPORT_MAX_BYTES = 100
    response = upload(owner_client, [["email"], *[[f"p{i}@acme.test"] for i in range(20)]])
    assert response.status_code == 400 and "larger than" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_the_import_creates_updates_types_and_reports_bad_rows(
    owner_client, ws, pipeline, django_capture_on_commit_callbacks
):
    AttributeDefinition.objects.create(workspace=ws, key="seats", type="number")
    existing = Contact.objects.create(
        workspace=ws, email="bob@acme.test", last_name="Keep", company="Old Co", tags=["old"]
    )
    upload(owner_client, PEOPLE)
    imp = ContactImport.objects.get(workspace=ws)
    response = run(owner_client, imp, django_capture_on_commit_callbacks, tags="fair-2024")
    assert response.status_code == 302
    assert imp.status == "completed" and imp.processed_rows == 4
    assert (imp.created_count, imp.updated_count, imp.error_count) == (1, 1, 2)

    ada = Contact.objects.get(workspace=ws, email="ada@acme.test")
    assert (ada.first_name, ada.last_name, ada.company) == ("Ada", "Lovelace", "Analytical")
    assert ada.attributes == {"plan": "pro", "seats": 12}
    assert ada.tags == ["fair-2024", "vip", "beta"]
    assert ada.email_consent == "subscribed" and ada.email_consent_source == "import"
    bob = Contact.objects.get(pk=existing.pk)
    assert bob.first_name == "Bob" and bob.last_name == "Keep"  # an empty cell erases nothing
    assert bob.company == "Builder Ltd" and bob.tags == ["old", "fair-2024"]
    assert bob.email_consent == "unsubscribed"
    types = dict(AttributeDefinition.objects.filter(workspace=ws).values_list("key", "type"))
    assert types == {"plan": "string", "seats": "number"}

    assert pipeline[ada.pk] >= {"created", "email", "plan", "seats", "tags"}
    assert pipeline[bob.pk] >= {"first_name", "company", "tags", "email_consent"}

    report = b"".join(
        owner_client.get(reverse("contacts:import_errors", args=[imp.pk])).streaming_content
    ).decode()
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[0] == ["row", "error", *PEOPLE[0]]
    assert [r[0] for r in rows[1:]] == ["4", "5"]
    assert "valid email" in rows[1][1] and rows[1][2] == "not-an-email"
    assert rows[2][1].startswith("Seats:") and "number" in rows[2][1]


def test_a_new_attribute_column_is_typed_by_most_of_its_values(ws):
    data = (
        "email,seats\n" + "".join(f"p{i}@acme.test,{i}\n" for i in range(19)) + "x@acme.test,many\n"
    )
    imp = import_services.import_create(
        workspace=ws, upload=io.BytesIO(data.encode()), filename="s.csv"
    )
    imp.status = "queued"
    imp.save()
    import_services.import_run(workspace=ws, import_id=imp.pk)
    imp.refresh_from_db()
    assert AttributeDefinition.objects.get(workspace=ws, key="seats").type == "number"
    assert imp.error_count == 1 and imp.errors[0]["values"] == ["x@acme.test", "many"]


def test_a_bad_mapping_is_refused_naming_the_column(
    owner_client, ws, django_capture_on_commit_callbacks
):
    upload(owner_client, PEOPLE)
    imp = ContactImport.objects.get(workspace=ws)
    response = run(
        owner_client,
        imp,
        django_capture_on_commit_callbacks,
        map_0="first_name",
        map_1="first_name",
    )
    assert response.status_code == 400 and "already mapped there" in response.content.decode()
    response = run(owner_client, imp, django_capture_on_commit_callbacks, map_0="")
    assert response.status_code == 400 and "map a column to Email" in response.content.decode()
    assert imp.status == "mapping" and not Contact.objects.exists()


def test_matching_by_external_id(owner_client, ws, django_capture_on_commit_callbacks):
    known = Contact.objects.create(workspace=ws, external_id="u-1", email="old@acme.test")
    upload(
        owner_client,
        [["user_id", "email", "plan"], ["u-1", "new@acme.test", "pro"], ["u-2", "", "free"]],
    )
    imp = ContactImport.objects.get(workspace=ws)
    run(owner_client, imp, django_capture_on_commit_callbacks, upsert_key="external_id")
    known.refresh_from_db()
    assert known.email == "new@acme.test" and known.attributes == {"plan": "pro"}
    assert Contact.objects.get(workspace=ws, external_id="u-2").attributes == {"plan": "free"}
    assert (imp.created_count, imp.updated_count) == (1, 1)


def test_a_row_naming_two_contacts_is_resolved_like_an_identify_call(
    owner_client, ws, django_capture_on_commit_callbacks
):
    """Email key, but the external id belongs to an email-less contact: contact_upsert merges."""
    by_id = Contact.objects.create(workspace=ws, external_id="u-9", first_name="Known")
    upload(owner_client, [["email", "external_id", "company"], ["dee@acme.test", "u-9", "Dee Co"]])
    imp = ContactImport.objects.get(workspace=ws)
    run(owner_client, imp, django_capture_on_commit_callbacks)
    contact = Contact.objects.get(workspace=ws)
    assert contact.pk == by_id.pk
    assert (contact.email, contact.external_id, contact.company) == (
        "dee@acme.test",
        "u-9",
        "Dee Co",
    )


def test_a_restarted_import_resumes_after_the_last_committed_chunk(ws, monkeypatch, pipeline):
    monkeypatch.setattr(import_services, "CHUNK_ROWS", 2)
    data = "email\n" + "".join(f"p{i}@acme.test\n" for i in range(5))
    imp = import_services.import_create(
        workspace=ws, upload=io.BytesIO(data.encode()), filename="p.csv"
    )
    imp.mapping, imp.status, imp.processed_rows = {"email": "email"}, "running", 2
    imp.save()
    import_services.import_run(workspace=ws, import_id=imp.pk)
    imp.refresh_from_db()
    emails = sorted(Contact.objects.filter(workspace=ws).values_list("email", flat=True))
    assert emails == ["p2@acme.test", "p3@acme.test", "p4@acme.test"]
    assert imp.status == "completed" and imp.processed_rows == 5 and imp.created_count == 3


def test_the_progress_partial_polls_until_done(owner_client, ws):
    imp = import_services.import_create(
        workspace=ws, upload=io.BytesIO(b"email\na@acme.test\n"), filename="p.csv"
    )
    ContactImport.objects.filter(pk=imp.pk).update(status="running", processed_rows=0)
    html = owner_client.get(reverse("contacts:import_progress", args=[imp.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and "0 of 1 rows" in html
    ContactImport.objects.filter(pk=imp.pk).update(status="completed", processed_rows=1)
    html = owner_client.get(reverse("contacts:import_progress", args=[imp.pk])).content.decode()
    assert "every 1s" not in html and "Import complete" in html


def test_configure_refuses_an_import_that_already_ran(ws):
    imp = import_services.import_create(
        workspace=ws, upload=io.BytesIO(b"email\na@acme.test\n"), filename="p.csv"
    )
    ContactImport.objects.filter(pk=imp.pk).update(status="completed")
    imp.refresh_from_db()
    with pytest.raises(ValidationFailed):
        import_services.import_configure(
            contact_import=imp, mapping={"email": "email"}, upsert_key="email"
        )


# --- Roles and isolation --------------------------------------------------------------------------


def test_a_viewer_cannot_import(ws):
    viewer = login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))
    assert viewer.get(reverse("contacts:imports")).status_code == 403
    assert upload(viewer, PEOPLE).status_code == 403
    assert not ContactImport.objects.exists()


def test_sales_can_import(ws):
    sales = login_client(add_member(ws, "sales@acme.test", Role.SALES))
    assert upload(sales, PEOPLE).status_code == 302


@pytest.mark.parametrize(
    "name,method",
    [
        ("contacts:import_detail", "get"),
        ("contacts:import_detail", "post"),
        ("contacts:import_progress", "get"),
        ("contacts:import_errors", "get"),
    ],
)
def test_import_pages_404_for_the_outsider(outsider_client, ws, name, method):
    imp = import_services.import_create(
        workspace=ws, upload=io.BytesIO(b"email\na@acme.test\n"), filename="p.csv"
    )
    response = getattr(outsider_client, method)(
        reverse(name, args=[imp.pk]), {"map_0": "email", "upsert_key": "email"}
    )
    assert response.status_code == 404
    imp.refresh_from_db()
    assert imp.status == "mapping"


def test_the_outsiders_import_list_holds_none_of_ours(outsider_client, ws):
    import_services.import_create(
        workspace=ws, upload=io.BytesIO(b"email\na@acme.test\n"), filename="secret.csv"
    )
    assert "secret.csv" not in outsider_client.get(reverse("contacts:imports")).content.decode()


def test_the_import_list_costs_the_same_queries_for_one_import_or_many(
    owner_client, ws, owner, django_assert_num_queries
):
    def create(name):
        import_services.import_create(
            workspace=ws,
            upload=io.BytesIO(b"email\na@acme.test\n"),
            filename=name,
            created_by=owner,
        )

    create("first.csv")
    owner_client.get(reverse("contacts:imports"))
    with django_assert_num_queries(8) as one:
        owner_client.get(reverse("contacts:imports"))
    for i in range(5):
        create(f"more-{i}.csv")
    with django_assert_num_queries(len(one.captured_queries)):
        assert "more-4.csv" in owner_client.get(reverse("contacts:imports")).content.decode()
