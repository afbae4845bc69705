"""The workflows pages: list and import, a workflow's graph with its numbers, runs, actions."""

import pytest
from django.urls import reverse

from contacts.models import Contact
from tests.conftest import add_member, login_client
from workflows.models import RunStatus, Workflow, WorkflowRun

from .conftest import chain, drain, make_workflow

pytestmark = pytest.mark.django_db

GRAPH = chain(
    ("start", "trigger.api", {}),
    ("tag", "action.tag_add", {"tags": ["x"]}),
    ("wait", "wait.duration", {"days": 1}),
)


@pytest.fixture
def enrolled(ws, django_capture_on_commit_callbacks):
    from workflows.runs.enrolment import enrol_contact

    workflow = make_workflow(ws, GRAPH, name="Onboarding")
    for index in range(2):
        contact = Contact.objects.create(
            workspace=ws, email=f"p{index}@example.test", first_name=f"Person{index}"
        )
        with django_capture_on_commit_callbacks(execute=True):
            enrol_contact(workspace=ws, workflow_id=workflow.pk, contact=contact, key="ui")
    drain()
    return workflow


def test_the_list_shows_workflows_with_status_and_counts(
    member_client, enrolled, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = member_client.get(reverse("workflows:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Onboarding" in html and "Active" in html
    assert "Abandoned cart" in html  # the ready-made ones are offered


def test_importing_a_ready_made_workflow_creates_a_draft(member_client, ws):
    response = member_client.post(reverse("workflows:import"), {"library": "post-purchase"})
    workflow = Workflow.objects.get(workspace=ws)
    assert response.status_code == 302 and response.url == reverse(
        "workflows:detail", args=[workflow.pk]
    )
    assert workflow.status == "draft" and workflow.name == "Post-purchase"


def test_importing_broken_json_says_why_and_creates_nothing(member_client, ws):
    response = member_client.post(
        reverse("workflows:import"),
        {"document": '{"name": "x", "graph": {"nodes": [{"id": "a", "type": "nope"}]}}'},
    )
    assert response.status_code == 400
    assert "unknown type" in response.content.decode()
    response = member_client.post(reverse("workflows:import"), {"document": "{not json"})
    assert response.status_code == 400 and "not valid JSON" in response.content.decode()
    assert not Workflow.objects.exists()


def test_reloading_the_page_a_failed_import_answered_shows_the_import_form(member_client, ws):
    url = reverse("workflows:import")
    assert member_client.post(url, {"document": "{not json"}).status_code == 400
    response = member_client.get(url, follow=True)  # the browser's reload lands on the address
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("workflows:list") + "#import", 302)]
    assert 'id="import"' in response.content.decode()
    assert "Import from JSON" in response.content.decode()


def test_the_workflow_page_draws_the_graph_with_per_node_numbers(member_client, enrolled):
    response = member_client.get(reverse("workflows:detail", args=[enrolled.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="wf-node') == 3 and 'data-node="wait"' in html
    assert "entered 2 · waiting 2 · exited 0" in html  # the wait node
    assert "Pause" in html


def test_runs_filter_by_status_and_failed_runs_show_their_error(member_client, ws, enrolled):
    run = WorkflowRun.objects.filter(workflow=enrolled).first()
    WorkflowRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED, error="webhook to https://x failed: HTTP 503"
    )
    url = reverse("workflows:detail", args=[enrolled.pk])
    response = member_client.get(url, {"status": "failed"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "HTTP 503" in html and html.count("<tr>") == 2  # header + the failed run
    assert "<html" not in html  # the partial only
    assert "Person" in member_client.get(reverse("workflows:run", args=[run.pk])).content.decode()


def test_pause_and_resume_buttons(member_client, enrolled):
    member_client.post(reverse("workflows:action", args=[enrolled.pk, "pause"]))
    enrolled.refresh_from_db()
    assert enrolled.status == "paused"
    assert WorkflowRun.objects.filter(workflow=enrolled, held=True).count() == 2
    response = member_client.post(reverse("workflows:action", args=[enrolled.pk, "pause"]))
    assert response.status_code == 400 and "Only an active workflow" in response.content.decode()
    member_client.post(reverse("workflows:action", args=[enrolled.pk, "resume"]))
    enrolled.refresh_from_db()
    assert enrolled.status == "active"


def test_a_viewer_sees_but_cannot_publish(ws, enrolled):
    viewer = login_client(add_member(ws, "viewer@acme.test", "viewer"))
    assert viewer.get(reverse("workflows:detail", args=[enrolled.pk])).status_code == 200
    assert viewer.post(reverse("workflows:action", args=[enrolled.pk, "pause"])).status_code == 403
    assert viewer.post(reverse("workflows:import"), {"library": "win-back"}).status_code == 403
    enrolled.refresh_from_db()
    assert enrolled.status == "active"


def test_an_outsider_gets_404(outsider_client, enrolled):
    run = WorkflowRun.objects.filter(workflow=enrolled).first()
    assert outsider_client.get(reverse("workflows:detail", args=[enrolled.pk])).status_code == 404
    assert outsider_client.get(reverse("workflows:run", args=[run.pk])).status_code == 404
    assert (
        outsider_client.post(reverse("workflows:action", args=[enrolled.pk, "pause"])).status_code
        == 404
    )
    enrolled.refresh_from_db()
    assert enrolled.status == "active"


def test_the_contact_page_panel_lists_the_contacts_workflow_steps(
    member_client, outsider_client, enrolled
):
    run = WorkflowRun.objects.filter(workflow=enrolled).select_related("contact").first()
    url = reverse("workflows:contact_activity", args=[run.contact_id])
    html = member_client.get(url).content.decode()
    assert "Onboarding" in html and reverse("workflows:run", args=[run.pk]) in html
    assert '<code class="small">tag</code>' in html and '<code class="small">wait</code>' in html
    other = Contact.objects.exclude(pk=run.contact_id).get(workspace=run.workspace_id)
    assert (
        reverse("workflows:run", args=[run.pk])
        not in member_client.get(
            reverse("workflows:contact_activity", args=[other.pk])
        ).content.decode()
    )
    detail = member_client.get(reverse("contacts:detail", args=[run.contact_id])).content.decode()
    assert url in detail  # the contact page loads the panel
    assert outsider_client.get(url).status_code == 404
