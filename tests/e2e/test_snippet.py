"""The tracking snippet in a real browser, on a site of another origin that embeds it."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contacts.models import Contact, Event
from tests.support.worker import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


PAGE = """<!doctype html><html><head><title>Shop</title>
<script src="{server}/v1/tendril.js" data-write-key="{key}" {extra} async></script>
</head><body>
<h1>Spring sale</h1>
<form data-tendril-form="Newsletter" action="/thanks" method="post">
  <input type="email" name="email" value="">
  <input name="firstName" value="">
  <input type="password" name="password" value="secret">
  <input name="notes" value="call me" data-tendril-ignore>
  <button type="submit">Subscribe</button>
</form>
</body></html>"""


@contextmanager
def customer_site(html: str) -> Iterator[str]:
    """A customer's website: another origin (127.0.0.1:<port>) than Tendril (localhost).

    A real server, not a Playwright route: Chromium treats routed pages as public and then
    refuses their requests to a loopback Tendril (Private Network Access)."""

    class Handler(BaseHTTPRequestHandler):
        def _page(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._page(html.encode())

        def do_POST(self):  # the form's action: a thank-you page without the snippet (with
            # it, the page view of /thanks would race the test's count of page views)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._page(b"<!doctype html><title>Thanks</title><p>Thanks!</p>")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site(live_server, tenant, request):
    extra = getattr(request, "param", "")
    html = PAGE.format(server=live_server.url, key=tenant.write_key, extra=extra)
    with customer_site(html) as url:
        yield url


def _record_batches(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda req: sent.append(req.url) if "/v1/batch" in req.url else None)
    return sent


def test_page_views_identify_and_forms_land_as_events_with_utm(page, site, tenant):
    ws = tenant.workspace
    page.goto(f"{site}/landing?utm_source=news&utm_medium=email&utm_campaign=spring")

    view = wait_for(
        lambda: Event.objects.filter(workspace=ws, type="page").first(), message="page view"
    )
    assert view.properties["path"] == "/landing"
    assert view.context["campaign"] == {"source": "news", "medium": "email", "name": "spring"}
    assert view.context["library"]["name"] == "tendril.js"
    assert view.source == "snippet"
    anonymous_id = page.evaluate("tendril.anonymousId()")
    assert anonymous_id in view.contact.anonymous_ids

    page.evaluate("tendril.identify('user-42', {plan: 'pro'})")
    page.evaluate("tendril.track('Clicked Buy', {sku: 'A1'})")
    page.fill("input[name=email]", "Ada@Example.com")
    page.fill("input[name=firstName]", "Ada")
    page.click("button[type=submit]")

    submitted = wait_for(
        lambda: Event.objects.filter(workspace=ws, name="Form Submitted").first(),
        message="form submission",
    )
    assert submitted.properties == {
        "form": "Newsletter",
        "email": "Ada@Example.com",
        "firstName": "Ada",
    }
    wait_for(lambda: Event.objects.filter(workspace=ws, name="Clicked Buy").exists())
    contact = Contact.objects.get(workspace=ws)  # one person: visitor, user and subscriber
    assert contact.external_id == "user-42"
    assert contact.email == "ada@example.com"
    assert contact.first_name == "Ada"
    assert contact.attributes["plan"] == "pro"
    assert anonymous_id in contact.anonymous_ids
    types = sorted(contact.events.values_list("type", flat=True))
    assert types == ["identify", "identify", "page", "track", "track"]
    assert all(e.context.get("campaign", {}).get("name") == "spring" for e in contact.events.all())


@pytest.mark.parametrize("site", ['data-consent="false"'], indirect=True)
def test_with_consent_off_nothing_is_sent_and_no_cookie_is_kept(page, site, tenant):
    sent = _record_batches(page)
    page.goto(f"{site}/landing?utm_source=news")
    page.wait_for_function("window.tendril && window.tendril.VERSION")
    page.evaluate("tendril.track('Clicked Buy')")
    page.evaluate("tendril.flush()")
    page.wait_for_timeout(700)  # longer than the snippet's batching delay
    assert sent == []
    assert not any(c["name"] == "tendril_aid" for c in page.context.cookies())
    assert not Event.objects.filter(workspace=tenant.workspace).exists()


def test_switching_consent_off_forgets_the_visitor_and_stops_sending(page, site, tenant):
    sent = _record_batches(page)
    page.goto(f"{site}/")
    wait_for(lambda: Event.objects.filter(workspace=tenant.workspace).exists())
    assert any(c["name"] == "tendril_aid" for c in page.context.cookies())
    before = len(sent)

    page.evaluate("tendril.consent(false)")
    page.evaluate("tendril.track('Clicked Buy'); tendril.flush()")
    page.reload()
    page.wait_for_function("window.tendril && window.tendril.VERSION")
    page.wait_for_timeout(700)

    assert len(sent) == before
    assert not any(c["name"] == "tendril_aid" for c in page.context.cookies())
    assert Event.objects.filter(workspace=tenant.workspace).count() == 1
