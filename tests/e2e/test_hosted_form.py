"""A hosted form in a real browser: inline errors, then success; and embedded in an iframe
on another site."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from contacts.models import Contact, Event, FormSubmission
from contacts.services.forms import form_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signup(ws):
    cache.clear()
    return form_create(
        workspace=ws,
        data={
            "name": "Product newsletter",
            "fields": [
                {"key": "email", "label": "Email", "type": "email", "required": True},
                {"key": "first_name", "label": "First name", "type": "text", "required": True},
                {"key": "team_size", "label": "Team size", "type": "number"},
            ],
            "consent_enabled": True,
            "consent_text": "Send me the newsletter",
            "success_message": "Welcome aboard!",
            "tags": ["newsletter"],
        },
    )


def test_bad_input_shows_inline_errors_then_a_good_submission_succeeds(page, ws, signup):
    page.goto(f"/f/{signup.public_id}/")
    page.fill("#f-email", "ada-at-acme")
    page.fill("#f-team_size", "7")
    page.click("button[type=submit]")
    page.wait_for_selector("#err-email")
    assert "valid email" in page.inner_text("#err-email")
    assert "required" in page.inner_text("#err-first_name")
    assert page.locator("#err-team_size").count() == 0
    assert page.input_value("#f-team_size") == "7"  # what was typed is kept
    assert not Contact.objects.filter(workspace=ws).exists()

    page.fill("#f-email", "Ada@Acme.test")
    page.fill("#f-first_name", "Ada")
    page.fill("#f-team_size", "12")
    page.check("#f-consent")
    page.click("button[type=submit]")
    page.wait_for_selector("#form-success")
    assert "Welcome aboard!" in page.inner_text("#form-success")

    contact = Contact.objects.get(workspace=ws, email="ada@acme.test")
    assert contact.first_name == "Ada" and contact.attributes == {"team_size": 12}
    assert contact.tags == ["newsletter"] and contact.email_consent == "subscribed"
    event = Event.objects.get(workspace=ws, name="form.submitted")
    assert event.contact_id == contact.pk and event.properties["form_name"] == "Product newsletter"


def test_the_form_works_embedded_in_another_sites_iframe(page, ws, signup, live_server):
    html = (
        "<!doctype html><html><body><h1>Our blog</h1>"
        f'<iframe id="signup" src="{live_server.url}/f/{signup.public_id}/?embed=1" '
        'style="width:100%;border:0;min-height:420px"></iframe></body></html>'
    ).encode()

    class Site(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        frame = page.frame_locator("#signup")
        frame.locator("#f-email").fill("grace@navy.test")
        frame.locator("#f-first_name").fill("Grace")
        frame.locator("button[type=submit]").click()
        frame.locator("#form-success").wait_for()
    finally:
        server.shutdown()
    submission = FormSubmission.objects.get(form=signup)
    assert submission.contact.email == "grace@navy.test"
    assert submission.page_url.startswith("http://127.0.0.1:")  # the embedding page
