"""axe-core finds no serious or critical accessibility violation on Tendril's main pages,
walked in Chromium on the demo workspace (`make dev`'s data), under the app's CSP.

The shell also gives keyboard and screen-reader users what they expect: a skip link as the
first Tab stop, one <h1> naming the page, the current menu item announced as the page."""

from __future__ import annotations

import pytest

from segments.services import segment_create
from tests.conftest import browser_login
from tests.support.axe import axe_violations, describe
from tests.support.browser import htmx_settled
from tests.workflows.conftest import email_template

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Pages as a user reaches them; "{name}" parts are filled from links found on earlier pages.
PAGES = [
    "/",
    "/contacts/",
    "{contact}",
    "/contacts/new/",
    "/data-issues/",
    "/contacts/forms/",
    "/contacts/forms/new/",
    "/contacts/import/",
    "/segments/",
    "/segments/new/",
    "{segment}",
    "{segment}edit/",
    "/workflows/",
    "{workflow}",
    "{builder}",
    "/messages/",
    "{template}",
    "/messages/templates/new/",
    "/messages/templates/create/",
    "/messages/templates/new/blocks/",
    "/messages/sms/new/",
    "/messages/broadcasts/",
    "/messages/broadcasts/new/",
    "/messages/suppressions/",
    "/messages/topics/",
    "/messages/settings/",
    "/leads/",
    "{lead}",
    "/scoring/models/",
    "{model}",
    "{model}report/",
    "/scoring/routing/",
    "/scoring/integrations/",
    "/notifications/",
    "/analytics/",
    "/analytics/funnels/",
    "{funnel}",
    "/analytics/funnels/new/",
    "/analytics/attribution/",
    "/analytics/attribution/settings/",
    "/analytics/control-group/",
    "/settings/",
    "/settings/members/",
    "/settings/api-keys/",
    "/settings/webhooks/",
]

# Where each placeholder's first link is found, and what it looks like.
LINKS = {
    "contact": ("/contacts/", r"^/contacts/\d+/$"),
    "segment": ("/segments/", r"^/segments/\d+/$"),
    "workflow": ("/workflows/", r"^/workflows/\d+/$"),
    "builder": ("/workflows/", r"^/workflows/\d+/builder/$"),
    "template": ("/messages/", r"^/messages/templates/\d+/$"),
    "lead": ("/leads/", r"^/leads/\d+/$"),
    "model": ("/scoring/models/", r"^/scoring/models/\d+/$"),
    "funnel": ("/analytics/funnels/", r"^/analytics/funnels/\d+/$"),
}

FIRST_LINK = """pattern => {
  const re = new RegExp(pattern);
  const a = [...document.querySelectorAll('a[href]')].find(a => re.test(a.getAttribute('href')));
  return a ? a.getAttribute('href') : null;
}"""


def settle(page) -> None:  # noqa: ANN001
    page.wait_for_load_state("networkidle")
    htmx_settled(page)


def check(page, path: str, found: list[str]) -> None:  # noqa: ANN001
    response = page.goto(path)
    assert response.status == 200, f"{path} answered {response.status}"
    settle(page)
    found.extend(describe(path, axe_violations(page)))


def test_main_pages_have_no_serious_or_critical_axe_violations(page, demo):  # noqa: ANN001
    segment_create(
        workspace=demo.workspace,
        name="Engaged customers",
        filter={"all": [{"event": "Order Completed", "within_days": 30}]},
    )
    email_template(demo.workspace, name="Spring sale")
    found: list[str] = []
    check(page, "/login/", found)
    browser_login(page, demo.owner, demo.password)
    page.goto("/workflows/")
    page.click("#new-workflow")  # a workflow for the list, detail and builder pages
    page.wait_for_url("**/builder/")
    links: dict[str, str] = {}
    for name, (where, pattern) in LINKS.items():
        page.goto(where)
        href = page.evaluate(FIRST_LINK, pattern)
        assert href, f"no link like {pattern} on {where}"
        links[name] = href
    for template in PAGES:
        check(page, template.format(**links), found)
    assert not found, "axe found serious/critical violations:\n" + "\n".join(found)


def test_the_shell_has_a_skip_link_one_heading_and_the_current_page_announced(page, tenant):  # noqa: ANN001
    browser_login(page, tenant.owner)
    page.goto("/data-issues/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to content"
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    assert page.locator("h1").all_inner_texts() == ["Data issues"]
    current = page.locator('nav[aria-label="Main"] [aria-current="page"]')
    assert current.all_inner_texts() == ["Data issues"]  # not Contacts as well
    page.goto("/contacts/")
    assert current.all_inner_texts() == ["Contacts"]
