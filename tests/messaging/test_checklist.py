"""The pre-send checklist: its pure rules (templating.checklist), the SpamAssassin report
parser, and POST /api/v1/messaging/email-templates/check/ with the real spamassassin."""

from __future__ import annotations

import shutil

import pytest

from messaging.templating import checklist
from messaging.templating.spam import SpamResult, parse_report, spam_score

FOOTER = '<p>{{ workspace.physical_address }} · <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
GOOD_HTML = (
    "<h1>Hello {{ first_name | default('there') }}</h1>"
    "<p>Thanks for joining. Your account is ready: "
    '<a href="https://example.com/start">get started</a>.</p>'
    '<img src="https://example.com/logo.png" alt="Example logo">' + FOOTER
)
URL = "/api/v1/messaging/email-templates/check/"
needs_spamassassin = pytest.mark.skipif(
    shutil.which("spamassassin") is None, reason="Debian's spamassassin is not installed"
)


def failing(checks, key):
    return [c for c in checks if c.key == key and not c.ok]


# --- Pure rules --------------------------------------------------------------------------------


def test_a_good_email_passes_every_rule():
    checks = checklist.run(
        subject="Welcome aboard",
        preheader="Everything you need to get started in one place",
        html_source=GOOD_HTML,
        rendered_html=GOOD_HTML,
        spam=SpamResult(available=True, score=0.3, required=5.0),
    )
    assert [c.key for c in checks] == [
        "subject",
        "preheader",
        "links",
        "images",
        "footer",
        "size",
        "spam",
    ]
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def test_subject_and_preheader_must_be_set():
    assert failing(checklist.subject_checks("  "), "subject")[0].severity == "error"
    assert failing(checklist.preheader_checks(""), "preheader")[0].severity == "error"
    assert failing(checklist.preheader_checks("Hi"), "preheader")[0].severity == "warning"
    assert failing(checklist.subject_checks("x" * 150), "subject")[0].severity == "warning"


@pytest.mark.parametrize(
    "href",
    [
        "https://example.com/a?b=c",
        "http://shop.example.co.uk",
        "{{ unsubscribe_url }}",
        "{{ attributes.profile_url }}",
        "https://example.com/{{ contact.id }}",
        "mailto:help@example.com",
        "tel:+15555550100",
    ],
)
def test_absolute_urls_merge_tags_and_mailto_are_links_that_work(href):
    assert checklist.url_problem(href) is None


@pytest.mark.parametrize(
    ("href", "says"),
    [
        ("", "no address"),
        ("#", "absolute"),
        ("/pricing", "absolute"),
        ("example.com", "absolute"),
        ("javascript:alert(1)", "absolute"),
        ("https://exa mple.com", "spaces"),
        ("https://localhost/x", "host"),
        ("https://-bad-.com/", "host"),
        ("ftp://example.com/file", "absolute"),
    ],
)
def test_relative_empty_and_malformed_links_fail_naming_the_problem(href, says):
    problem = checklist.url_problem(href)
    assert problem is not None and says in problem


def test_link_and_image_problems_name_their_block_in_a_document():
    document = {
        "version": 1,
        "blocks": [
            {"id": "h1", "type": "heading", "text": "Hi", "level": 1},
            {"id": "b1", "type": "button", "text": "Shop", "href": "/shop"},
            {
                "id": "c1",
                "type": "columns",
                "columns": [
                    {
                        "blocks": [
                            {"id": "i1", "type": "image", "src": "https://e.com/a.png", "alt": ""}
                        ]
                    },
                    {
                        "blocks": [
                            {"id": "t1", "type": "text", "html": '<p><a href="www.x.com">x</a></p>'}
                        ]
                    },
                ],
            },
            {"id": "s1", "type": "social", "links": [{"network": "x", "href": "https://x.com/a"}]},
            {"id": "f1", "type": "footer"},
        ],
    }
    links, images = checklist.document_parts(document)
    link_failures = failing(checklist.link_checks(links), "links")
    assert {c.block_id for c in link_failures} == {"b1", "t1"}
    assert "“Shop”" in next(c.message for c in link_failures if c.block_id == "b1")
    image_failures = failing(checklist.image_checks(images), "images")
    assert [(c.block_id, "alt text" in c.message) for c in image_failures] == [("i1", True)]


def test_images_in_html_need_alt_text_and_an_absolute_source():
    links, images = checklist.html_parts('<img src="cid:x" alt="A"><img src="https://e.com/b.png">')
    failures = failing(checklist.image_checks(images), "images")
    assert len(failures) == 2
    assert "absolute" in failures[0].message and "alt text" in failures[1].message


def test_the_footer_needs_the_unsubscribe_link_and_the_postal_address():
    assert failing(checklist.footer_checks(GOOD_HTML), "footer") == []
    missing = failing(checklist.footer_checks("<p>Hello</p>"), "footer")[0]
    assert "unsubscribe" in missing.message and "physical_address" in missing.message
    broken = failing(checklist.footer_checks("<p>{{ oops </p>"), "footer")[0]
    assert "cannot be read" in broken.message


def test_size_is_judged_against_gmails_102_kb_clipping():
    assert failing(checklist.size_checks("x" * 50_000), "size") == []
    assert failing(checklist.size_checks("x" * 95_000), "size")[0].severity == "warning"
    clipped = failing(checklist.size_checks("é" * 60_000), "size")[0]  # 120,000 bytes
    assert clipped.severity == "error" and "102 KB" in clipped.message


def test_spam_score_against_the_threshold_and_an_unavailable_checker():
    assert failing(checklist.spam_checks(SpamResult(True, 1.0, 5.0), 5.0), "spam") == []
    assert (
        failing(checklist.spam_checks(SpamResult(True, 3.0, 5.0), 5.0), "spam")[0].severity
        == "warning"
    )
    assert (
        failing(checklist.spam_checks(SpamResult(True, 5.0, 5.0), 5.0), "spam")[0].severity
        == "error"
    )
    gone = checklist.spam_checks(SpamResult(False, problem="spam check unavailable: x"), 5.0)[0]
    assert not gone.ok and gone.severity == "warning" and "unavailable" in gone.message


REPORT = """X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-25) on vm
X-Spam-Level: **
X-Spam-Status: No, score=2.6 required=5.0 tests=HTML_MESSAGE,MIME_HTML_ONLY,
\tMISSING_DATE autolearn=no version=4.0.1
Subject: hi

Content analysis details:   (2.6 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
 1.4 MISSING_DATE           Missing Date: header
 0.0 HTML_MESSAGE           BODY: HTML included in message
 1.1 MIME_HTML_ONLY         BODY: Message only has text/html MIME parts, and
                            continues here
-0.1 DKIM_VALID             Message has at least one valid DKIM or DK signature

The original message follows.
"""


def test_the_report_parser_reads_score_threshold_and_rules_with_descriptions():
    result = parse_report(REPORT)
    assert result.available and result.score == 2.6 and result.required == 5.0
    assert [(r.name, r.points) for r in result.rules] == [
        ("MISSING_DATE", 1.4),
        ("MIME_HTML_ONLY", 1.1),
        ("HTML_MESSAGE", 0.0),
        ("DKIM_VALID", -0.1),
    ]
    assert result.rules[1].description.endswith("and continues here")


def test_a_missing_program_or_garbage_output_is_unavailable_not_an_error():
    missing = spam_score(b"Subject: x\n\nhi\n", command="no-such-spamassassin", timeout=5)
    assert not missing.available and "not installed" in missing.problem
    assert not parse_report("nothing here").available


# --- The endpoint ------------------------------------------------------------------------------


@needs_spamassassin
@pytest.mark.django_db
def test_the_check_endpoint_scores_the_real_message_with_spamassassin(api):
    body = {
        "subject": "Welcome aboard",
        "preheader": "Everything you need to get started today",
        "html": GOOD_HTML,
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 200, response.content
    report = response.json()
    by_key = {c["key"]: c for c in report["checks"]}
    assert set(by_key) == {"subject", "preheader", "links", "images", "footer", "size", "spam"}
    spam = report["spam"]
    assert spam["available"] and spam["threshold"] == 5.0
    assert spam["score"] < 5.0 and by_key["spam"]["severity"] in ("error", "warning")
    assert all({"name", "points", "description"} <= set(rule) for rule in spam["rules"])
    # The message had real headers: no rule about a missing Date, Message-ID or From.
    names = {rule["name"] for rule in spam["rules"]}
    assert not names & {"MISSING_DATE", "MISSING_MID", "MISSING_FROM", "MISSING_HEADERS"}


@needs_spamassassin
@pytest.mark.django_db
def test_a_spammy_email_fails_with_the_rules_that_fired(api):
    shouting = (
        "<p>FREE MONEY!!! 100% GUARANTEED!!! CLICK HERE NOW to claim your CASH PRIZE, "
        "no credit check, act now, limited time, winner winner, viagra, lottery</p>"
        '<p><a href="https://example.com/claim">CLICK HERE</a></p>' + FOOTER
    )
    body = {"subject": "FREE MONEY!!! ACT NOW!!! $$$", "preheader": "", "html": shouting}
    report = api.post(URL, body, format="json").json()
    assert report["spam"]["score"] > 0 and report["spam"]["rules"]
    assert report["ok"] is False  # the preheader is missing


@pytest.mark.django_db
def test_without_spamassassin_the_check_says_so_and_the_rest_still_runs(api, settings):
    settings.MESSAGING_SPAMASSASSIN = "no-such-spamassassin"
    body = {"subject": "Hi", "preheader": "Everything you need to get started", "html": "<p>Hi</p>"}
    report = api.post(URL, body, format="json").json()
    spam = next(c for c in report["checks"] if c["key"] == "spam")
    assert spam["severity"] == "warning" and "unavailable" in spam["message"]
    assert report["spam"]["available"] is False and report["spam"]["score"] is None
    assert not next(c for c in report["checks"] if c["key"] == "footer")["ok"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"preheader": "x", "html": "<p>x</p>"}, "subject"),
        ({"subject": "x"}, "html"),
        ({"subject": "x", "html": "<p>x</p>", "colour": "red"}, "colour"),
        ({"subject": "x", "html": "<p>x</p>", "layout": 999999}, "layout"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_another_workspaces_layout_is_unknown(api, other_ws):
    from messaging.models import Layout

    theirs = Layout.objects.create(workspace=other_ws, name="Theirs", html="{{ content }}")
    body = {"subject": "x", "html": "<p>x</p>", "layout": theirs.pk}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400 and "layout" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_block_document_is_checked_with_its_block_ids(api, settings):
    settings.MESSAGING_SPAMASSASSIN = "no-such-spamassassin"  # fast: the rules only
    document = {
        "version": 1,
        "blocks": [
            {"id": "hello", "type": "heading", "text": "Hi {{ first_name }}", "level": 1},
            {"id": "pic", "type": "image", "src": "/media/media/2026/01/abc.png", "alt": ""},
            {"id": "go", "type": "button", "text": "Go", "href": "shop"},
            {"id": "foot", "type": "footer"},
        ],
    }
    body = {"document": document, "subject": "Hi", "preheader": "A long enough preheader text"}
    response = api.post(URL, body, format="json")
    assert response.status_code == 200, response.content
    failing = {(c["key"], c.get("block_id")) for c in response.json()["checks"] if not c["ok"]}
    assert ("images", "pic") in failing and ("links", "go") in failing
    assert not any(key == "footer" for key, _ in failing)
    # A site-relative upload address is made absolute, as the compiler does: only alt fails.
    assert [c for c in response.json()["checks"] if c.get("block_id") == "pic"][0]["message"]
    assert len([1 for key, block in failing if block == "pic"]) == 1


@pytest.mark.django_db
def test_an_unreadable_document_is_a_400_and_a_half_written_one_a_list_of_checks(api, settings):
    settings.MESSAGING_SPAMASSASSIN = "no-such-spamassassin"
    for document in ("nope", {"version": 1, "blocks": []}, {"version": 7, "blocks": "x"}):
        response = api.post(URL, {"document": document, "subject": "Hi"}, format="json")
        assert response.status_code == 400, (document, response.content)
        fields = response.json()["error"]["fields"]
        assert any(path.startswith(("document", "blocks", "version")) for path in fields)
    no_footer = {
        "version": 1,
        "blocks": [{"id": "x", "type": "image", "src": "https://e.com/a.png"}],
    }
    response = api.post(URL, {"document": no_footer, "subject": "Hi"}, format="json")
    assert response.status_code == 200, response.content
    failing = {c["key"] for c in response.json()["checks"] if not c["ok"]}
    assert {"images", "footer", "preheader"} <= failing


def test_document_problems_become_checks_on_their_block_and_are_not_repeated():
    document = {
        "blocks": [
            {"id": "a", "type": "image", "src": "https://e.com/a.png", "alt": ""},
            {
                "id": "c",
                "type": "columns",
                "columns": [
                    {"blocks": []},
                    {"blocks": [{"id": "b", "type": "button", "href": "x"}]},
                ],
            },
        ]
    }
    errors = {
        "blocks[0].alt": "needs alt text",
        "blocks[1].columns[1].blocks[0].href": "not a link",
    }
    first = checklist.document_problem_checks(document, errors)
    assert [(c.key, c.block_id) for c in first] == [("images", "a"), ("links", "b")]
    links, images = checklist.document_parts(document)
    merged = checklist.merged(first, checklist.image_checks(images) + checklist.link_checks(links))
    assert [(c.key, c.block_id, c.ok) for c in merged] == [
        ("images", "a", False),
        ("links", "b", False),
    ]
    assert checklist.block_at(document, "blocks[9].alt") is None


@needs_spamassassin
@pytest.mark.django_db
def test_spam_checks_past_the_workspaces_rate_run_without_a_score(api, settings):
    settings.MESSAGING_SPAM_CHECK_RATE = "1 per minute"
    body = {"subject": "Hi", "preheader": "Everything you need to get started", "html": GOOD_HTML}
    assert api.post(URL, body, format="json").json()["spam"]["available"]
    second = api.post(URL, body, format="json").json()
    assert not second["spam"]["available"] and "try again" in second["spam"]["message"]
    assert {c["key"] for c in second["checks"]} >= {"links", "footer", "spam"}
