"""A marketer builds a hosted form in a real browser: adds, removes and reorders field rows,
meets an inline error on the wrong row, saves; a visitor then fills the hosted page and the
contact gets the mapped values."""

import pytest
from django.core.cache import cache

from contacts.models import Contact, Form
from tests.conftest import browser_login
from tests.support.browser import htmx_settled

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_FORM = "**/contacts/forms/new/"


def _row_button(page, action):
    with page.expect_response(NEW_FORM):
        page.click(f"#field-rows button[value='{action}']")
    htmx_settled(page)


def _keys(page):
    return page.eval_on_selector_all(
        "#field-rows input[name$='-key']", "inputs => inputs.map(i => i.value)"
    )


def test_a_marketer_adds_removes_and_reorders_fields_then_a_visitor_signs_up(page, tenant):
    cache.clear()
    ws = tenant.workspace
    browser_login(page, tenant.owner)
    page.goto("/contacts/forms/new/")
    page.fill("#id_name", "Trial sign-up")
    assert _keys(page) == ["email", "first_name"]

    # Add two fields; typing goes straight into the new row.
    with page.expect_response(NEW_FORM):
        page.click("#add-field")
    htmx_settled(page)
    assert page.evaluate("document.activeElement.name") == "fields-2-key"
    page.keyboard.type("plan")
    page.fill("input[name='fields-2-label']", "Plan")
    assert page.is_hidden("input[name='fields-2-options']")  # only dropdowns have options
    page.select_option("select[name='fields-2-type']", "select")
    page.fill("input[name='fields-2-options']", "Free, Pro")
    with page.expect_response(NEW_FORM):
        page.click("#add-field")
    htmx_settled(page)
    page.fill("input[name='fields-3-key']", "company")
    # Its label is left empty on purpose.
    assert page.input_value("input[name='fields-2-options']") == "Free, Pro"  # kept as typed
    assert page.is_visible("input[name='fields-2-options']")

    # Remove first_name, then move company above plan.
    _row_button(page, "remove:1")
    assert _keys(page) == ["email", "plan", "company"]
    _row_button(page, "up:2")
    assert _keys(page) == ["email", "company", "plan"]
    assert page.evaluate("document.activeElement.value") == "up:1"  # ready to move again
    assert page.input_value("select[name='fields-2-type']") == "select"

    # Save: the unlabelled row is named, nothing is stored, the rows stay as typed.
    page.click("#save-form")
    page.wait_for_selector(".fb-row[data-row='1'] [data-error='label']")
    assert "label" in page.inner_text(".fb-row[data-row='1'] [data-error='label']").lower()
    assert page.locator(".fb-row[data-row='2'] [data-error]").count() == 0
    assert _keys(page) == ["email", "company", "plan"]
    assert page.input_value("input[name='fields-2-options']") == "Free, Pro"
    assert not Form.objects.filter(workspace=ws).exists()

    page.fill("input[name='fields-1-label']", "Company")
    page.click("#save-form")
    page.wait_for_selector("#submission-count")
    form = Form.objects.get(workspace=ws, name="Trial sign-up")
    assert [(f["key"], f["label"]) for f in form.fields] == [
        ("email", "Email"),
        ("company", "Company"),
        ("plan", "Plan"),
    ]

    # A visitor fills the hosted page: the fields come in the builder's order.
    page.goto(f"/f/{form.public_id}/")
    names = page.eval_on_selector_all(
        "#hosted-form .field [id^='f-']:not(#f-consent)", "els => els.map(e => e.name)"
    )
    assert names == ["email", "company", "plan"]
    assert page.locator("#f-first_name").count() == 0
    page.fill("#f-email", "grace@navy.test")
    page.fill("#f-company", "US Navy")
    page.select_option("#f-plan", "Pro")
    page.click("button[type=submit]")
    page.wait_for_selector("#form-success")

    contact = Contact.objects.get(workspace=ws, email="grace@navy.test")
    assert contact.company == "US Navy"
    assert contact.attributes == {"plan": "Pro"}
