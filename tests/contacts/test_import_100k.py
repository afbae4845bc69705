"""A 100,000-row CSV imports in one go (chunked, set-based), with its bad rows reported."""

import io

import pytest

from contacts import hooks
from contacts.models import Contact, ContactImport
from contacts.services import imports as import_services

pytestmark = pytest.mark.django_db

ROWS = 100_000
BAD_EMAIL_EVERY = 10_007  # rows whose email is broken
BAD_SEATS_EVERY = 25_013  # rows whose number is not one


def generated_csv() -> bytes:
    lines = ["email,first_name,last_name,company,plan,seats,tags"]
    for i in range(ROWS):
        email = f"person{i}@example{i % 97}.test"
        if i % BAD_EMAIL_EVERY == 5:
            email = f"person{i}-at-example.test"
        seats = "lots" if i % BAD_SEATS_EVERY == 7 else str(i % 50)
        lines.append(
            f"{email},First{i},Last{i},Company {i % 1000},{('free', 'pro', 'team')[i % 3]},{seats},csv;{'even' if i % 2 == 0 else 'odd'}"
        )
    return ("\n".join(lines) + "\n").encode()


def test_a_100k_row_csv_imports_with_its_error_report(
    ws, monkeypatch, django_capture_on_commit_callbacks
):
    told = set()
    monkeypatch.setattr(hooks, "_processors", [])
    hooks.on_events_ingested(order=10, name="spy")(lambda batch: told.update(batch.changed_fields))
    # 1,000 of the people exist already, with a value the import must not erase.
    Contact.objects.bulk_create(
        [
            Contact(workspace=ws, email=f"person{i}@example{i % 97}.test", job_title="CTO")
            for i in range(0, 2000, 2)
        ]
    )
    imp = import_services.import_create(
        workspace=ws, upload=io.BytesIO(generated_csv()), filename="big.csv"
    )
    assert imp.total_rows == ROWS
    with django_capture_on_commit_callbacks(execute=True):
        import_services.import_configure(
            contact_import=imp, mapping=imp.mapping, upsert_key="email", tags=["big-import"]
        )
    imp = ContactImport.objects.get(pk=imp.pk)

    bad_emails = [i for i in range(ROWS) if i % BAD_EMAIL_EVERY == 5]
    bad_seats = [i for i in range(ROWS) if i % BAD_SEATS_EVERY == 7 and i not in bad_emails]
    assert imp.status == "completed" and imp.processed_rows == ROWS
    assert imp.error_count == len(bad_emails) + len(bad_seats)
    assert imp.updated_count == 1000
    assert imp.created_count == ROWS - imp.error_count - 1000
    assert Contact.objects.filter(workspace=ws).count() == ROWS - imp.error_count
    assert sorted(e["row"] for e in imp.errors) == sorted(i + 2 for i in bad_emails + bad_seats)

    sample = Contact.objects.get(workspace=ws, email="person1000@example30.test")
    assert sample.job_title == "CTO" and sample.first_name == "First1000"  # updated, not erased
    assert sample.attributes == {"plan": "pro", "seats": 0}
    assert sample.tags == ["big-import", "csv", "even"]
    assert len(told) == ROWS - imp.error_count  # every changed contact reached the pipeline
