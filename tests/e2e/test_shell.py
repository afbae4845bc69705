"""A person logs in through a real browser and lands on the workspace home."""

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_login_lands_on_home_with_navigation(page, tenant):
    page.goto("/")
    page.wait_for_url("**/login/**")
    page.fill("input[name=username]", tenant.owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Get started")
    assert page.locator(".nav-item", has_text="Contacts").count() == 1
    assert "Acme" in page.inner_text(".topbar-title")


def test_a_wrong_password_shows_an_inline_error(page, tenant):
    page.goto("/login/")
    page.fill("input[name=username]", tenant.owner.email)
    page.fill("input[name=password]", "nope")
    page.click("button[type=submit]")
    assert "correct email address and password" in page.inner_text(".form-errors").lower()
