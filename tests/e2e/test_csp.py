"""The Content-Security-Policy breaks nothing: pages load without a single violation, nothing
comes from another host, and the behaviours that used to be inline handlers still work."""

import pytest

from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/",
    "/contacts/",
    "/contacts/forms/new/",
    "/segments/",
    "/segments/new/",
    "/workflows/",
    "/analytics/",
    "/leads/",
    "/messages/",
    "/messages/templates/new/",
    "/settings/",
    "/settings/members/",
    "/settings/api-keys/",
    "/api/docs/",
    "/api/redoc/",
]

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));
"""


def test_pages_load_without_csp_violations_or_outside_requests(page, tenant, live_server):
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "data:", "blob:", "about:"))
            else outside.append(request.url)
        ),
    )
    page.add_init_script(WATCH)
    browser_login(page, tenant.owner)
    for path in PAGES:
        response = page.goto(path)
        assert response.status == 200, path
        assert "script-src" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    assert outside == []


def test_confirm_copy_and_dismiss_work_without_inline_handlers(page, tenant):
    page.add_init_script(WATCH)
    browser_login(page, tenant.owner)
    page.goto("/settings/api-keys/")
    page.select_option("select[name=kind]", "secret")
    page.click("button:has-text('Create key')")
    page.wait_for_selector("#raw-key")
    dismiss = page.locator(".flash-close").first
    if dismiss.count():
        dismiss.click()
        assert page.locator(".flash").count() == 0
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.locator("[data-copy=raw-key]")
    copy.click()
    assert copy.inner_text() == "Copied"
    revoke_forms = page.locator("form[data-confirm]")
    before = revoke_forms.count()
    asked: list[str] = []

    def answer_no(dialog):  # noqa: ANN001
        asked.append(dialog.message)
        dialog.dismiss()  # "No": nothing is revoked

    page.once("dialog", answer_no)
    revoke_forms.first.locator("button").click()
    assert asked and asked[0].startswith("Revoke ")
    assert page.locator("form[data-confirm]").count() == before
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        revoke_forms.first.locator("button").click()
    assert page.locator("form[data-confirm]").count() == before - 1
    assert page.evaluate("window.__csp") == []
