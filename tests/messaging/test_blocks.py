"""Block templates (#15): the document → HTML compiler (golden files), validation, merge tags,
saving through the API, the preview endpoint and dynamic blocks through a real send.

Golden files: tests/messaging/golden/blocks/<name>.json is a document, <name>.html the HTML a
version of it carries (compiled, CSS inlined, preheader in). After a deliberate change to the
compiler, regenerate them with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/messaging/test_blocks.py`
and review the diff before committing it.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from messaging.blocks import Brand, compile_document, validate
from messaging.models import EmailTemplate, Message, MessageStatus, TemplateVersion
from messaging.services import EmailContent, email_template_save, message_enqueue
from messaging.templating.compile import compile_html, compile_text
from messaging.templating.personalise import build_context, render_email, sample_context
from workspaces.errors import ValidationFailed

from .conftest import make_contact

GOLDEN = Path(__file__).parent / "golden" / "blocks"
CASES = sorted(path.stem for path in GOLDEN.glob("*.json"))
BRAND = Brand(base_url="https://app.tendril.test")
FOOTER = {"id": "foot", "type": "footer"}
VIP = {"all": [{"tag": "vip"}]}


def load(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def version_html(document: dict, brand: Brand = BRAND) -> str:
    compiled = compile_document(document, brand)
    return compile_html(
        html=compiled.html, layout_html=None, preheader="A preheader", keep_styles=True
    )


def doc(*blocks: dict) -> dict:
    return {"version": 1, "blocks": [*blocks, FOOTER]}


# --- Golden files ----------------------------------------------------------------------------


def test_there_is_a_golden_document_for_every_block_type_and_a_dynamic_block():
    from messaging.blocks.document import BLOCK_TYPES

    assert set(BLOCK_TYPES) | {"dynamic"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_a_document_compiles_to_its_golden_html(name):
    document = load(name)
    assert validate(document) == {}
    html = version_html(document)
    assert max(len(line) for line in html.split("\n")) <= 998  # sent as it is, not QP
    golden = GOLDEN / f"{name}.html"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(html)
    assert html == golden.read_text(), (
        f"regenerate with UPDATE_GOLDEN=1 if {name} changed on purpose"
    )


def test_columns_stack_on_mobile_through_a_media_query_and_keep_outlook_ghost_tables():
    html = version_html(load("columns"))
    assert "@media only screen and (min-width:480px)" in html
    assert ".mj-column-per-33" in html  # three columns side by side from 480 px…
    assert 'class="mj-outlook-group-fix mj-column-per-33-333332"' in html  # …stacked below it
    assert "<!--[if mso | IE]>" in html  # Outlook's fixed-width tables
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "background-color:#eef2ff" in html.replace(" ", "")


def test_rich_text_is_sanitised_and_keeps_its_merge_tags():
    html = version_html(load("text"))
    assert "<script" not in html and "alert(1)" not in html and "onclick" not in html
    assert '{{ first_name | default("there") }}' in html
    assert 'href="https://acme.test/?a=1&amp;b=2"' in html


def test_text_outside_merge_tags_is_escaped_and_relative_images_become_absolute():
    assert 'Welcome, {{ first_name | default("there") }} &amp; friends' in version_html(
        load("heading")
    )
    assert 'src="https://app.tendril.test/media/2026/12/hero.png"' in version_html(load("image"))


def test_a_dynamic_block_is_wrapped_in_its_condition_and_the_conditions_are_returned():
    document = load("dynamic")
    compiled = compile_document(document, BRAND)
    assert compiled.conditions == {"vip": VIP}
    html = version_html(document)
    opening = html.index('{% if block_visible("vip") %}')
    assert opening < html.index("Thanks for being a VIP") < html.index("{% endif %}")
    assert html.index("For everyone.") < opening


def test_the_brand_colours_and_font_are_used():
    brand = Brand(primary_color="#ff0000", font="georgia", background_color="#000011")
    html = version_html(load("button"), brand=Brand(primary_color="#ff0000"))
    assert "#111827" in html  # the button's own colour wins over the brand's
    html = version_html(
        doc({"id": "b", "type": "button", "text": "Go", "href": "https://a.test"}), brand
    )
    assert "#ff0000" in html and "Georgia" in html and "#000011" in html


def test_the_text_part_is_generated_with_the_dynamic_block_condition_kept():
    text = compile_text(text="", compiled_html=version_html(load("dynamic")))
    assert '{% if block_visible("vip") %}' in text and "Thanks for being a VIP" in text
    assert "Unsubscribe ({{ unsubscribe_url }})" in text
    assert "A preheader" not in text


# --- Merge tags ------------------------------------------------------------------------------


def render(document: dict, *, first_name: str, visible: frozenset[str] = frozenset()) -> str:
    base = sample_context()
    contact = {**base["contact"], "first_name": first_name}
    context = build_context(
        contact=contact,
        workspace=base["workspace"],
        unsubscribe_url="https://u.test/x",
        segment_ids=visible,
    )
    html = version_html(document)
    return render_email(
        subject="Hi",
        compiled_html=html,
        compiled_text=compile_text(text="", compiled_html=html),
        context=context,
    ).html


def test_a_merge_tag_falls_back_to_its_default_when_the_contact_has_no_value():
    document = load("heading")
    assert "Welcome, there &amp; friends" in render(document, first_name="")
    assert "Welcome, Grace &amp; friends" in render(document, first_name="Grace")
    assert "Welcome, &lt;b&gt; &amp; friends" in render(document, first_name="<b>")  # escaped


def test_a_dynamic_block_shows_only_when_the_recipient_sees_it():
    document = load("dynamic")
    assert "Thanks for being a VIP" not in render(document, first_name="Ada")
    assert "Thanks for being a VIP, Ada" in render(
        document, first_name="Ada", visible=frozenset({"block:vip"})
    )


# --- Validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "path", "words"),
    [
        (
            doc({"id": "i", "type": "image", "src": "https://a.test/x.png"}),
            "blocks[0].alt",
            "alt text",
        ),
        (
            doc({"id": "i", "type": "image", "src": "https://a.test/x.png", "alt": " "}),
            "blocks[0].alt",
            "alt text",
        ),
        (
            {"version": 1, "blocks": [{"id": "h", "type": "heading", "text": "Hi"}]},
            "blocks",
            "footer",
        ),
        (
            doc({"id": "b", "type": "button", "text": "Go", "href": "javascript:alert(1)"}),
            "blocks[0].href",
            "https://",
        ),
        (doc({"id": "x", "type": "video"}), "blocks[0].type", "unknown block type"),
        (doc({"id": "s", "type": "spacer", "height": 500}), "blocks[0].height", "4 to 120"),
        (
            doc({"id": "h", "type": "heading", "text": "A"}, {"id": "h", "type": "divider"}),
            "blocks[1].id",
            "already used",
        ),
        (
            doc({"id": "c", "type": "columns", "columns": [{"blocks": []}]}),
            "blocks[0].columns",
            "2 or 3",
        ),
        (
            doc(
                {
                    "id": "c",
                    "type": "columns",
                    "columns": [
                        {
                            "blocks": [
                                {"id": "in", "type": "text", "html": "<p>x</p>", "condition": VIP}
                            ]
                        },
                        {"blocks": []},
                    ],
                }
            ),
            "blocks[0].columns[0].blocks[0].condition",
            "top-level",
        ),
        (
            doc(
                {
                    "id": "c",
                    "type": "columns",
                    "columns": [
                        {"blocks": [{"id": "in", "type": "columns", "columns": []}]},
                        {"blocks": []},
                    ],
                }
            ),
            "blocks[0].columns[0].blocks[0].type",
            "cannot be inside columns",
        ),
        (
            doc({"id": "d", "type": "divider", "style": {"padding": [1, 2, 3]}}),
            "blocks[0].style.padding",
            "padding",
        ),
        (
            doc({"id": "d", "type": "divider", "style": {"background": "red"}}),
            "blocks[0].style.background",
            "#1a2b3c",
        ),
        ({"version": 1, "blocks": []}, "blocks", "no blocks"),
        ("<mjml/>", "document", "JSON object"),
    ],
)
def test_validation_names_the_path_the_block_and_the_problem(document, path, words):
    errors = validate(document)
    assert path in errors, errors
    assert words in errors[path]


def test_an_image_without_alt_text_says_which_block():
    errors = validate(doc({"id": "i", "type": "image", "src": "https://a.test/x.png"}))
    assert errors["blocks[0].alt"].startswith("the image: an image needs alt text")


def test_a_document_too_large_is_refused_before_anything_else():
    big = doc({"id": "t", "type": "text", "html": "<p>" + "x" * 600_000 + "</p>"})
    assert "the limit is" in validate(big)["document"]


# --- Saving ----------------------------------------------------------------------------------


pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_saving_a_document_stores_it_with_generated_html_and_the_dynamic_blocks(ws):
    template = email_template_save(
        workspace=ws, content=EmailContent(name="Welcome", subject="Hi", document=load("dynamic"))
    )
    version = template.current_version
    assert template.document == load("dynamic") and version.document == load("dynamic")
    assert version.block_conditions == {"vip": VIP}
    assert (
        'block_visible("vip")' in template.html and "{{ unsubscribe_url }}" in version.compiled_html
    )
    assert "Thanks for being a VIP" in version.compiled_text
    # unchanged: no new version; a changed document: a new one
    same = email_template_save(
        workspace=ws,
        template=template,
        content=EmailContent(name="Welcome", subject="Hi", document=load("dynamic")),
    )
    assert same.current_version_id == version.pk
    changed = copy.deepcopy(load("dynamic"))
    changed["blocks"][0]["html"] = "<p>Changed.</p>"
    again = email_template_save(
        workspace=ws,
        template=template,
        content=EmailContent(name="Welcome", subject="Hi", document=changed),
    )
    assert again.current_version.number == 2


@pytestmark_db
def test_a_bad_merge_tag_or_condition_in_a_block_is_refused_naming_the_block(ws):
    bad_tag = doc({"id": "t", "type": "text", "html": "<p>{{ frist_name }}</p>"})
    with pytest.raises(ValidationFailed) as caught:
        email_template_save(
            workspace=ws, content=EmailContent(name="X", subject="Hi", document=bad_tag)
        )
    assert "unknown variable 'frist_name'" in caught.value.fields["blocks[0].html"]
    bad_condition = doc(
        {
            "id": "t",
            "type": "text",
            "html": "<p>x</p>",
            "condition": {"all": [{"field": "nope", "op": "eq", "value": 1}]},
        }
    )
    with pytest.raises(ValidationFailed) as caught:
        email_template_save(
            workspace=ws, content=EmailContent(name="X", subject="Hi", document=bad_condition)
        )
    assert any(key.startswith("blocks[0].condition") for key in caught.value.fields)
    assert not EmailTemplate.objects.filter(workspace=ws).exists()


@pytestmark_db
def test_the_api_creates_and_patches_a_block_template(api, ws):
    response = api.post(
        "/api/v1/messaging/email-templates/",
        {"name": "Welcome", "subject": "Hi {{ first_name }}", "document": load("columns")},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["document"] == load("columns") and "mj-column-per-33" in body["html"]
    patched = api.patch(
        f"/api/v1/messaging/email-templates/{body['id']}/",
        {"document": load("heading")},
        format="json",
    )
    assert patched.status_code == 200 and "friends" in patched.json()["html"]
    assert patched.json()["version"] == 2
    bad = api.patch(
        f"/api/v1/messaging/email-templates/{body['id']}/",
        {"document": doc({"id": "i", "type": "image", "src": "https://a.test/x.png"})},
        format="json",
    )
    assert bad.status_code == 400
    assert "alt text" in json.dumps(bad.json()["error"]["fields"]["blocks[0].alt"])
    assert EmailTemplate.objects.get(pk=body["id"]).current_version.number == 2  # nothing changed


@pytestmark_db
def test_the_code_template_path_is_unchanged(api):
    response = api.post(
        "/api/v1/messaging/email-templates/",
        {
            "name": "Code",
            "subject": "Hi",
            "html": "<p>Hi</p><p>{{ workspace.physical_address }} <a href='{{ unsubscribe_url }}'>u</a></p>",
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["document"] is None
    missing = api.post(
        "/api/v1/messaging/email-templates/", {"name": "C", "subject": "Hi"}, format="json"
    )
    assert missing.status_code == 400 and "html" in missing.json()["error"]["fields"]


# --- The preview endpoint ------------------------------------------------------------------

RENDER = "/api/v1/messaging/email-templates/render/"


@pytestmark_db
def test_render_shows_a_dynamic_block_to_a_matching_contact_only_and_writes_nothing(api, ws):
    vip = make_contact(ws, "vip@example.com", first_name="Vera", tags=["vip"])
    plain = make_contact(ws, "plain@example.com", first_name="", tags=[])
    before = (
        EmailTemplate.objects.count(),
        TemplateVersion.objects.count(),
        Message.objects.count(),
    )
    payload = {
        "document": load("dynamic"),
        "subject": "Hi {{ first_name | default('there') }}",
        "preheader": "P",
    }

    as_vip = api.post(RENDER, {**payload, "contact_id": vip.pk}, format="json").json()
    as_plain = api.post(RENDER, {**payload, "contact_id": plain.pk}, format="json").json()
    as_sample = api.post(RENDER, payload, format="json").json()

    assert as_vip["errors"] == {} and as_vip["subject"] == "Hi Vera"
    assert (
        "Thanks for being a VIP, Vera." in as_vip["html"]
        and "Thanks for being a VIP" in as_vip["text"]
    )
    assert "Thanks for being a VIP" not in as_plain["html"] and as_plain["subject"] == "Hi there"
    assert "Thanks for being a VIP, Ada." in as_sample["html"]  # the author sees every block
    assert "P</div>" in as_vip["html"]  # the preheader
    after = (
        EmailTemplate.objects.count(),
        TemplateVersion.objects.count(),
        Message.objects.count(),
    )
    assert after == before


@pytestmark_db
def test_render_reports_problems_by_path_and_still_shows_the_rest(api):
    document = doc(
        {"id": "h", "type": "heading", "text": "Still here"},
        {"id": "i", "type": "image", "src": "https://a.test/x.png"},
        {"id": "t", "type": "text", "html": "<p>{% if %}</p>"},
    )
    body = api.post(RENDER, {"document": document, "subject": "Hi"}, format="json").json()
    assert "alt text" in body["errors"]["blocks[1].alt"]
    assert "syntax error" in body["errors"]["blocks[2].html"]
    assert "Still here" in body["html"] and "a.test/x.png" not in body["html"]


@pytestmark_db
def test_render_takes_code_template_html_too(api):
    body = api.post(
        RENDER, {"html": "<p>Hi {{ first_name }}</p>", "subject": "S"}, format="json"
    ).json()
    assert "Hi Ada" in body["html"] and body["subject"] == "S"


@pytestmark_db
def test_render_refuses_another_workspaces_contact_and_bad_input(api, other_ws):
    stranger = make_contact(other_ws, "x@globex.test")
    response = api.post(
        RENDER, {"document": load("footer"), "contact_id": stranger.pk}, format="json"
    )
    assert response.status_code == 404
    response = api.post(RENDER, {"subject": "Hi"}, format="json")
    assert response.status_code == 400 and "document" in response.json()["error"]["fields"]
    response = api.post(RENDER, {"document": "nope", "subject": "Hi"}, format="json")
    assert response.status_code == 200 and "document" in response.json()["errors"]


@pytestmark_db
def test_render_is_refused_without_credentials(client):
    response = client.post(RENDER, {"document": load("footer")}, content_type="application/json")
    assert response.status_code in (401, 403)


# --- A real send -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_dynamic_block_reaches_one_contact_and_not_the_other_through_the_smtp_sink(
    ws, smtp_settings, django_capture_on_commit_callbacks
):
    template = email_template_save(
        workspace=ws,
        content=EmailContent(
            name="Welcome",
            subject="Welcome {{ first_name | default('there') }}",
            preheader="Glad you are here",
            document=load("dynamic"),
        ),
    )
    vip = make_contact(ws, "vip@example.com", first_name="Vera", tags=["vip"])
    plain = make_contact(ws, "plain@example.com", first_name="", tags=[])
    with django_capture_on_commit_callbacks(execute=True):
        for contact in (vip, plain):
            message_enqueue(
                workspace=ws,
                contact=contact,
                channel="email",
                template=template,
                source_type="workflow",
                source_id=f"run-{contact.pk}:node-1",
            )
    received = {mail["To"]: mail for mail in smtp_settings.wait_for(2)}
    vip_html = received["vip@example.com"].get_body(("html",)).get_content()
    plain_html = received["plain@example.com"].get_body(("html",)).get_content()
    vip_text = received["vip@example.com"].get_body(("plain",)).get_content()
    assert "Thanks for being a VIP, Vera." in vip_html and "Thanks for being a VIP" in vip_text
    assert "Thanks for being a VIP" not in plain_html
    assert (
        "For everyone." in plain_html
        and received["plain@example.com"]["Subject"] == "Welcome there"
    )
    for html in (vip_html, plain_html):
        assert "@media only screen and (min-width:480px)" in html  # columns stack on mobile
        assert 'style="' in html and "Unsubscribe</a>" in html  # inline styles, the footer
        assert "https://app.tendril.test/m/u/" in html or "/m/c/" in html
        assert "{%" not in html and "{{" not in html
    html_part = received["vip@example.com"].get_body(("html",))
    assert html_part["Content-Transfer-Encoding"] in ("7bit", "8bit")  # short lines: no QP
    assert Message.objects.filter(workspace=ws, status=MessageStatus.SENT).count() == 2


@pytest.mark.django_db
def test_a_brand_change_gives_block_templates_a_new_version_in_the_new_colours(ws):
    from messaging.services import block_templates_rebrand, messaging_settings

    template = email_template_save(
        workspace=ws, content=EmailContent(name="B", subject="Hi", document=load("button"))
    )
    code = email_template_save(
        workspace=ws,
        content=EmailContent(
            name="C",
            subject="Hi",
            html="<p>{{ workspace.physical_address }} <a href='{{ unsubscribe_url }}'>u</a></p>",
        ),
    )
    config = messaging_settings(workspace=ws)
    config.brand_background_color = "#123456"
    config.save()
    assert block_templates_rebrand(workspace=ws) == 1
    template.refresh_from_db()
    code.refresh_from_db()
    assert (
        template.current_version.number == 2 and "#123456" in template.current_version.compiled_html
    )
    assert template.current_version.note == "Brand changed"
    assert code.current_version.number == 1  # a code template has no brand
    assert block_templates_rebrand(workspace=ws) == 0  # nothing changed since


@pytest.mark.django_db
def test_saving_the_brand_recompiles_the_block_templates_and_an_unchanged_one_does_not(ws):
    from messaging.services.brand import brand_update

    template = email_template_save(
        workspace=ws, content=EmailContent(name="B", subject="Hi", document=load("button"))
    )
    brand_update(workspace=ws, background_color="#654321")
    template.refresh_from_db()
    assert template.current_version.number == 2
    assert "#654321" in template.current_version.compiled_html
    brand_update(workspace=ws, background_color="#654321")  # the same brand: no new version
    template.refresh_from_db()
    assert template.current_version.number == 2
