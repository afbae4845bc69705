"""Every page reachable from the sidebar, and the main pages under them, on a phone (375 px)
in a real browser: the page itself never scrolls sideways. Side-by-side columns stack, and
what is wider than the screen (a table, the 600 px email preview, the workflow canvas)
scrolls inside its own box. On a desktop the columns stay side by side."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from contacts.models import Contact
from contacts.services import attributes_register, event_record
from contacts.services import forms as form_services
from contacts.services import imports as import_services
from messaging.models import EmailTemplate
from messaging.services import layout_save, sms_template_save, suppression_add, topic_save
from messaging.services.broadcasts import BroadcastInput, broadcast_save
from scoring.services import lead_activity_log, sales_task_create, score_adjust
from scoring.services.config import assignment_rule_save, model_save, rule_save
from segments.services import segment_create
from tests.conftest import add_member, browser_login
from workflows.library import library_import
from workflows.models import WorkflowRun
from workflows.runs.enrolment import enrol_contact
from workflows.services import workflow_publish
from workspaces.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG_COMPANY = "Analytical Engines and Difference Machines Incorporated Ltd"
LAYOUT = """<!doctype html><html><head><style>h1 { color: #0f766e; }</style></head>
<body>{{ content }}<p>{{ workspace.physical_address }} ·
<a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>"""


@dataclass
class Demo:
    contact: Contact
    segment_id: int
    workflow_id: int
    run_id: int
    template_id: int
    version_id: int
    layout_id: int
    sms_id: int
    broadcast_id: int
    form_id: int
    import_id: int
    model_id: int


@pytest.fixture
def demo(ws, owner) -> Demo:
    """A small workspace that looks like a demo one: people with long names and companies,
    their activity, a segment, a published ready-made workflow with a run, templates, a
    broadcast, a form, an import, a scoring model with rules and scored leads."""
    rep = add_member(ws, "rep.with.a.long.name@acme-sales-team.test", Role.SALES)
    people = [
        Contact.objects.create(
            workspace=ws,
            email=f"person{i}.featherstonehaugh@a-rather-long-company-domain.test",
            first_name=f"Person{i}",
            last_name="Featherstonehaugh-Cholmondeley",
            company=LONG_COMPANY,
            job_title="Head of Marketing Operations and Demand Generation",
            city="Llanfairpwllgwyngyll",
            country="GB",
            lifecycle_stage="lead",
            tags=["vip", "webinar-2024", "pricing-page-visitor"],
            attributes={"plan": "enterprise", "seats": 250, "signup_source": "partner-referral"},
            email_consent="subscribed",
        )
        for i in range(6)
    ]
    attributes_register(workspace=ws, values=people[0].attributes)
    contact = people[0]
    for name, props in [
        ("Viewed Pricing", {"url": "https://www.example.com/pricing?utm_source=newsletter"}),
        ("Requested Demo", {"product": "Tendril Enterprise", "seats": 250}),
        ("Order Completed", {"order_id": "ORD-2024-000001-XYZ", "revenue": 1299.0}),
    ]:
        event_record(workspace=ws, contact=contact, name=name, properties=props)

    segment = segment_create(
        workspace=ws,
        name="Enterprise prospects who visited pricing",
        filter={
            "all": [
                {"field": "plan", "op": "eq", "value": "enterprise"},
                {"event": "Viewed Pricing", "count": {"op": "gte", "value": 1}, "within_days": 30},
            ]
        },
    )

    workflow = library_import(workspace=ws, slug="abandoned-cart", user=owner)
    workflow_publish(workspace=ws, workflow=workflow)
    enrol_contact(workspace=ws, workflow_id=workflow.pk, contact=contact, key="demo")
    run = WorkflowRun.objects.filter(workflow=workflow).latest("id")

    topic = topic_save(workspace=ws, name="Product news and announcements")
    layout = layout_save(workspace=ws, name="Branded", html=LAYOUT)
    template = EmailTemplate.objects.filter(workspace=ws).first()
    sms = sms_template_save(workspace=ws, name="Cart reminder", body="Hi {{ first_name }}!")
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="Spring launch", segment_id=segment.pk, email_template=template, topic=topic
        ),
    )
    suppression_add(
        workspace=ws,
        channel="email",
        address="bounced.address.with.a.long.local.part@a-rather-long-company-domain.test",
        reason="hard_bounce",
        detail="550 5.1.1 The email account that you tried to reach does not exist",
    )

    form = form_services.form_create(
        workspace=ws,
        data={
            "name": "Newsletter sign-up",
            "fields": [{"key": "email", "label": "Work email", "type": "email", "required": True}],
        },
    )
    csv = "email,first_name,company\n" + "".join(
        f"import{i}@a-rather-long-company-domain.test,Imported{i},{LONG_COMPANY}\n"
        for i in range(3)
    )
    contact_import = import_services.import_create(
        workspace=ws, upload=io.BytesIO(csv.encode()), filename="trade-show-leads-2024.csv"
    )

    model = model_save(workspace=ws, data={"name": "Main", "mql_threshold": 50})
    rule_save(
        workspace=ws,
        model=model,
        data={
            "kind": "behavioural",
            "name": "Demo request",
            "event": "Requested Demo",
            "points": 40,
        },
    )
    for index, person in enumerate(people):
        score_adjust(workspace=ws, contact=person, points=70 - 10 * index, reason="Webinar")
    assignment_rule_save(
        workspace=ws,
        data={
            "name": "Enterprise accounts in the United Kingdom and Ireland",
            "filter": {"all": [{"field": "country", "op": "in", "value": ["GB", "IE"]}]},
            "reps": [rep.pk],
        },
    )
    sales_task_create(
        workspace=ws, contact=contact, title="Call back about the 250-seat quote", assignee=rep
    )
    lead_activity_log(
        workspace=ws,
        contact=contact,
        kind="note",
        body="Asked for a security questionnaire and a reference customer in manufacturing.",
        actor=rep,
    )

    return Demo(
        contact=contact,
        segment_id=segment.pk,
        workflow_id=workflow.pk,
        run_id=run.pk,
        template_id=template.pk,
        version_id=template.current_version_id,
        layout_id=layout.pk,
        sms_id=sms.pk,
        broadcast_id=broadcast.pk,
        form_id=form.pk,
        import_id=contact_import.pk,
        model_id=model.pk,
    )


def sidebar_pages(demo: Demo) -> list[str]:
    c = demo.contact.pk
    return [
        "/",
        "/contacts/",
        "/contacts/new/",
        f"/contacts/{c}/",
        f"/contacts/{c}/edit/",
        "/contacts/import/",
        f"/contacts/import/{demo.import_id}/",
        "/contacts/forms/",
        "/contacts/forms/new/",
        f"/contacts/forms/{demo.form_id}/",
        f"/contacts/forms/{demo.form_id}/edit/",
        "/segments/",
        "/segments/new/",
        f"/segments/{demo.segment_id}/",
        f"/segments/{demo.segment_id}/edit/",
        "/workflows/",
        f"/workflows/{demo.workflow_id}/",
        f"/workflows/runs/{demo.run_id}/",
        f"/workflows/contact/{c}/activity/",
        "/messages/",
        "/messages/templates/new/",
        f"/messages/templates/{demo.template_id}/",
        f"/messages/templates/{demo.template_id}/versions/{demo.version_id}/",
        "/messages/layouts/new/",
        f"/messages/layouts/{demo.layout_id}/",
        "/messages/sms/new/",
        f"/messages/sms/{demo.sms_id}/",
        "/messages/broadcasts/",
        "/messages/broadcasts/new/",
        f"/messages/broadcasts/{demo.broadcast_id}/",
        f"/messages/broadcasts/{demo.broadcast_id}/edit/",
        "/messages/broadcasts/sto/",
        "/messages/suppressions/",
        "/messages/topics/",
        "/messages/settings/",
        "/messaging/privacy/",
        f"/messaging/privacy/{c}/",
        "/leads/",
        f"/leads/{c}/",
        "/notifications/",
        "/scoring/models/",
        "/scoring/models/new/",
        f"/scoring/models/{demo.model_id}/",
        f"/scoring/models/{demo.model_id}/rules/new/",
        f"/scoring/models/{demo.model_id}/report/",
        "/scoring/routing/",
        "/scoring/integrations/",
        "/settings/",
        "/settings/members/",
        "/settings/api-keys/",
        "/workspaces/new/",
    ]


# How far the page reaches past the right edge of the window (0: no sideways scroll).
PAGE_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"

# What sticks out past the window without a scrolling box around it: the culprits, for the
# failure message.
STICKING_OUT = """() => {
  const out = [];
  for (const el of document.querySelectorAll('main *')) {
    const box = el.getBoundingClientRect();
    if (!box.width || box.right <= window.innerWidth + 0.5) continue;
    let up = el.parentElement, clipped = false;
    for (; up && up !== document.body; up = up.parentElement)
      if (getComputedStyle(up).overflowX !== 'visible') { clipped = true; break; }
    if (!clipped) out.push(`${[el.localName, ...el.classList].join('.')} ` +
      `${Math.round(box.width)}px wide, right edge at ${Math.round(box.right)}`);
  }
  return out.slice(0, 3);
}"""

# What reaches past the inside edge of its card (into the padding or beyond) without a
# scrolling box between them: on a phone that looks broken even when the page does not scroll.
OUT_OF_ITS_CARD = """() => {
  const out = [];
  for (const el of document.querySelectorAll('main .card *')) {
    const box = el.getBoundingClientRect();
    if (!box.width) continue;
    let up = el.parentElement;
    while (!up.classList.contains('card') && getComputedStyle(up).overflowX === 'visible')
      up = up.parentElement;
    const style = getComputedStyle(up);
    if (style.overflowX !== 'visible') continue;  // inside a scrolling box (maybe the card)
    const inner = up.getBoundingClientRect().right - parseFloat(style.paddingRight)
      - parseFloat(style.borderRightWidth);
    if (box.right > inner + 0.5) out.push(`${[el.localName, ...el.classList].join('.')} ` +
      `reaches ${Math.round(box.right - inner)}px past its card`);
  }
  return out.slice(0, 3);
}"""

OPEN_ALL_DETAILS = """() => {
  const closed = [...document.querySelectorAll('main details:not([open])')];
  closed.forEach(d => { d.open = true; });
  return closed.length;
}"""


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.ok, f"{url} answered {response.status}"
    page.wait_for_load_state("networkidle")  # htmx parts (previews, timelines) are in


def overflow(page, url: str) -> str | None:
    past = page.evaluate(PAGE_OVERFLOW)
    if past <= 0:
        return None
    return f"{url} scrolls {past}px sideways: {page.evaluate(STICKING_OUT)}"


def layout_problems(page, url: str) -> list[str]:
    found = [overflow(page, url)]
    if stray := page.evaluate(OUT_OF_ITS_CARD):
        found.append(f"{url}: {stray}")
    return [problem for problem in found if problem]


NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def test_on_a_phone_no_page_scrolls_sideways_and_nothing_hangs_out_of_its_card(page, owner, demo):
    page.set_viewport_size({"width": 375, "height": 800})
    browser_login(page, owner)
    problems = []
    for url in sidebar_pages(demo):
        visit(page, url)
        problems += layout_problems(page, url)
        # Opened, the lead's popovers, a segment's filter and the text part must fit too.
        if page.evaluate(OPEN_ALL_DETAILS):
            page.evaluate(NEXT_FRAME)  # laid out with the details open
            problems += layout_problems(page, f"{url} (details open)")
    assert not problems, "\n".join(problems)


def columns(page, selector: str) -> list[dict]:
    return [
        child.bounding_box()
        for child in page.locator(f"{selector} > *").all()
        if child.is_visible()
    ]


def scrolls_inside(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "el => el.scrollWidth > el.clientWidth")


@pytest.mark.parametrize("width", [375, 700])
def test_side_by_side_layouts_stack_on_narrow_screens(page, owner, demo, width):
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, owner)
    for url, layout in [
        (f"/messages/templates/{demo.template_id}/", ".editor"),
        ("/messages/templates/new/", ".editor"),
        ("/leads/", ".sc-layout"),
        (f"/leads/{demo.contact.pk}/", ".sc-lead-layout"),
        ("/scoring/routing/", ".sc-lead-layout"),
        ("/scoring/models/new/", ".sc-lead-layout"),
        (f"/scoring/models/{demo.model_id}/", ".sc-lead-layout"),
    ]:
        visit(page, url)
        assert page.evaluate(PAGE_OVERFLOW) <= 0, overflow(page, url)
        first, *rest = columns(page, layout)
        for box in rest:  # one under the other, each as wide as the layout
            assert box["y"] >= first["y"] + first["height"] and box["x"] == first["x"], url
            assert box["width"] == first["width"], url

    # What is wider than a phone scrolls inside its own box instead.
    if width == 375:
        visit(page, f"/messages/templates/{demo.template_id}/")
        page.locator("iframe.iframe-desktop").wait_for()
        assert page.locator("iframe.iframe-desktop").evaluate("e => e.offsetWidth") == 600
        assert scrolls_inside(page, ".previews")
        visit(page, "/leads/")
        assert scrolls_inside(page, "#lead-results .table-wrap")


def test_on_a_desktop_the_columns_stay_side_by_side(page, owner, demo):
    # (The email editor is one column up to 1280px already, and stays so.)
    browser_login(page, owner)
    for url, layout in [
        ("/leads/", ".sc-layout"),
        (f"/leads/{demo.contact.pk}/", ".sc-lead-layout"),
        ("/scoring/routing/", ".sc-lead-layout"),
        (f"/scoring/models/{demo.model_id}/", ".sc-lead-layout"),
    ]:
        visit(page, url)
        left, right = columns(page, layout)
        assert right["x"] >= left["x"] + left["width"], url  # beside, not under
        assert right["y"] < left["y"] + left["height"], url
        # No long name or wide table pushes the page past the window.
        assert page.evaluate(PAGE_OVERFLOW) <= 0, overflow(page, url)
    # The list's side column keeps its full width beside a wide table.
    visit(page, "/leads/")
    assert columns(page, ".sc-layout")[1]["width"] == 320
