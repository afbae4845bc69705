"""The panels as a marketer and a BI tool reach them: htmx partials of the dashboard, a CSV per
panel, /api/v1/analytics/panels/ with the same numbers — each only for its own workspace."""

import csv
import io

import pytest

from analytics.models import Funnel
from contacts.models import Contact
from scoring.models import ScoringModel
from segments.models import Segment, SegmentSizeSnapshot

pytestmark = pytest.mark.django_db

PARTIALS = {
    "retention": 'id="retention-table"',
    "active-contacts": 'id="active-total"',
    "segment-sizes": 'id="segment-sizes-table"',
    "scores": 'id="scores-summary"',
}


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def scored(ws):
    ScoringModel.objects.create(workspace=ws, name="Leads", is_primary=True, mql_threshold=50)
    for n, score in enumerate([0, 15, 60]):
        Contact.objects.create(workspace=ws, email=f"p{n}@acme.test", score=score)
    segment = Segment.objects.create(
        workspace=ws, name="=cmd|' /C calc'!A0", kind="static", member_count=3
    )
    return segment


@pytest.mark.parametrize("name", list(PARTIALS))
def test_each_panel_loads_as_a_named_partial_of_the_dashboard(member_client, scored, name):
    html = member_client.get("/analytics/").content.decode()
    assert f'hx-get="/analytics/panels/{name}/' in html
    response = member_client.get(
        f"/analytics/panels/{name}/?days=7", headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and PARTIALS[name] in body
    assert "<html" not in body


def test_the_score_panel_says_how_many_are_past_the_threshold(member_client, scored):
    body = member_client.get("/analytics/panels/scores/").content.decode()
    assert "<strong>1</strong> of 3 contacts at or above the MQL threshold of 50" in body


def test_an_unknown_panel_is_a_404(member_client):
    assert member_client.get("/analytics/panels/nothing/").status_code == 404
    assert member_client.get("/analytics/export/nothing.csv").status_code == 404


def test_every_panel_downloads_as_csv_with_its_header_row(member_client, scored):
    from analytics.panels import PANELS

    for name in PANELS:
        response = member_client.get(f"/analytics/export/{name}.csv?days=7")
        assert response.status_code == 200, name
        assert 'attachment; filename="' + name in response["Content-Disposition"]
        rows = _csv(response)
        assert rows and rows[0], name


def test_the_scores_csv_holds_the_buckets(member_client, scored):
    rows = _csv(member_client.get("/analytics/export/scores.csv"))
    assert rows[0] == ["Score", "From", "To", "Contacts"]
    counts = {row[0]: int(row[3]) for row in rows[1:]}
    assert (counts["0"], counts["10–19"], counts["60–69"], counts["100+"]) == (1, 1, 1, 0)
    assert rows[1] == ["below 0", "", "-1", "0"]  # a negative number is not a formula


def test_a_segment_name_that_reads_as_a_formula_is_text_in_the_csv(member_client, ws, scored):
    response = member_client.get(f"/analytics/export/segment-sizes.csv?days=2&segment={scored.pk}")
    header = _csv(response)[0]
    assert header == ["Day", "'=cmd|' /C calc'!A0"]


def test_a_bad_parameter_is_named_and_nothing_is_counted(member_client):
    response = member_client.get("/analytics/export/daily.csv?days=0")
    assert response.status_code == 400 and "days" in response.content.decode()
    response = member_client.get("/analytics/panels/retention/?weeks=13")
    assert response.status_code == 400 and "weeks" in response.content.decode()


def test_another_workspaces_segment_is_a_404(outsider_client, scored):
    url = f"/analytics/export/segment-sizes.csv?segment={scored.pk}"
    assert outsider_client.get(url).status_code == 404
    url = f"/analytics/panels/segment-sizes/?segment={scored.pk}"
    assert outsider_client.get(url).status_code == 404


def test_another_workspace_downloads_only_its_own_numbers(outsider_client, scored):
    rows = _csv(outsider_client.get("/analytics/export/scores.csv"))
    assert sum(int(row[3]) for row in rows[1:]) == 0


def test_the_panel_partials_query_count_does_not_grow_with_segments(
    member_client, ws, scored, django_assert_max_num_queries
):
    url = "/analytics/panels/segment-sizes/?days=30"
    with django_assert_max_num_queries(20) as few:
        member_client.get(url)
    for n in range(5):
        segment = Segment.objects.create(workspace=ws, name=f"More {n}", member_count=n)
        SegmentSizeSnapshot.objects.create(
            workspace=ws, segment=segment, day=segment.created_at.date(), size=n
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        member_client.get(url)


def test_the_retention_partial_reads_in_a_bounded_number_of_queries(
    member_client, scored, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        member_client.get("/analytics/panels/retention/")


# --- the API ------------------------------------------------------------------------------------


def test_the_api_lists_the_panels(api):
    names = [p["name"] for p in api.get("/api/v1/analytics/panels/").json()]
    assert {"retention", "active-contacts", "segment-sizes", "scores", "daily"} <= set(names)


def test_the_api_serves_the_csvs_numbers(api, member_client, scored):
    body = api.get("/api/v1/analytics/panels/scores/?days=7").json()
    assert body["panel"] == "scores" and body["period"]["days"] == 7
    assert [c["label"] for c in body["columns"]] == ["Score", "From", "To", "Contacts"]
    rows = _csv(member_client.get("/analytics/export/scores.csv?days=7"))[1:]
    assert [[r["bucket"], r["contacts"]] for r in body["rows"]] == [
        [row[0], int(row[3])] for row in rows
    ]


def test_the_api_answers_bad_input_with_the_one_error_shape(api, scored):
    response = api.get("/api/v1/analytics/panels/daily/?days=999")
    assert response.status_code == 400
    assert "days" in response.json()["error"]["fields"]
    response = api.get("/api/v1/analytics/panels/nothing/")
    assert response.status_code == 404 and "error" in response.json()


def test_the_api_is_a_404_for_another_workspaces_segment(outsider_api, scored):
    response = outsider_api.get(f"/api/v1/analytics/panels/segment-sizes/?segment={scored.pk}")
    assert response.status_code == 404


def test_the_openapi_schema_documents_the_panels(api, owner_client):
    schema = owner_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/analytics/panels/{name}/"]["get"]
    names = next(p for p in operation["parameters"] if p["name"] == "name")["schema"]["enum"]
    assert "retention" in names and "scores" in names
    assert "`retention`" in operation["description"]


# --- the funnel panel with a saved funnel that no longer validates --------------------------------


def test_a_saved_funnel_that_no_longer_validates_is_said_inline(member_client, ws):
    Funnel.objects.create(
        workspace=ws, name="Broken", steps=[{"event": "Signed Up"}, {"bogus": "x"}]
    )
    response = member_client.get("/analytics/")
    html = response.content.decode()
    assert response.status_code == 200
    problem = html[html.index('id="funnel-problem"') :]
    assert "steps[1]" in problem[: problem.index("</div>")]
    assert "/analytics/funnels/" in problem  # a way to fix it
    assert "partial=result" not in html  # nothing is loaded that cannot be counted
