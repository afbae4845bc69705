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


def _operations(schema: dict) -> list[dict]:
    methods = {"get", "post", "put", "patch", "delete"}
    return [op for item in schema["paths"].values() for m, op in item.items() if m in methods]


def test_the_api_docs_render_grouped_by_resource_in_local_fonts(page, live_server):  # noqa: ANN001
    # Every request for another host must be one the CSP refused (it never leaves).
    outside: list[str] = []
    refused_by_csp: list[str] = []
    local = (live_server.url, "data:", "blob:")
    page.on(
        "request",
        lambda request: None if request.url.startswith(local) else outside.append(request.url),
    )
    page.on(
        "requestfailed",
        lambda request: (
            refused_by_csp.append(request.url)
            if request.failure == "csp"  # Chromium's net::ERR_BLOCKED_BY_CSP
            else None
        ),
    )
    page.add_init_script(WATCH)
    page.goto("/api/docs/")
    # Swagger UI draws the sections near the viewport; sorted, the first is a resource
    # (a name of the schema's own tags, not a path segment such as "api").
    page.locator(".opblock-tag").first.wait_for()
    schema = page.request.get("/api/schema/?format=json").json()
    tags = sorted({tag for op in _operations(schema) for tag in op.get("tags", [])})
    assert page.locator(".opblock-tag").first.inner_text() == tags[0]
    assert tags[0] not in {"api", "v1"}
    page.goto("/api/redoc/")
    page.get_by_text("Ingestion (Segment-compatible)").first.wait_for()
    sections = page.evaluate(
        "[...document.querySelectorAll('li[data-item-id^=\"tag/\"]')]"
        ".map(li => li.getAttribute('data-item-id')).filter(id => id.split('/').length === 2)"
    )
    assert {"tag/Contacts", "tag/Email-templates", "tag/Workflows"} <= set(sections)
    assert not {"tag/api", "tag/v1"} & set(sections)
    assert "Montserrat" not in page.evaluate(
        "getComputedStyle(document.querySelector('h1')).fontFamily"
    )
    assert page.evaluate("[...document.fonts].map(f => f.family)") == []  # no web font at all
    # The one thing refused: the Redocly logo ReDoc always puts in its menu (not fetched).
    refused = page.evaluate("window.__csp")
    assert all(v.startswith("img-src https://cdn.redoc.ly/") for v in refused), refused
    assert [url for url in outside if url not in refused_by_csp] == []
