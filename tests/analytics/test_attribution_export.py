"""The attributed-revenue report as CSV: the page's rows, then the revenue no message earned;
the same period and model; another workspace's revenue never in it."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from .test_attribution_views import broadcast_sale

pytestmark = pytest.mark.django_db

URL = reverse("analytics:attribution_export")


def rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_has_a_row_per_source_then_the_unattributed(ws, member_client):
    broadcast_sale(ws, "Spring", 30)
    broadcast_sale(ws, "Summer", 12.5)
    page = member_client.get(reverse("analytics:attribution"), {"days": 7}).content.decode()
    assert 'id="attribution-export"' in page
    response = member_client.get(URL, {"days": 7, "model": "linear"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = rows(response)
    assert table[0] == [
        "source_type",
        "source_id",
        "label",
        "conversions",
        "revenue",
        "currency",
        "model",
    ]
    assert [(r[0], r[2], r[4], r[6]) for r in table[1:]] == [
        ("broadcast", "Spring", "30.00", "linear"),
        ("broadcast", "Summer", "12.50", "linear"),
        ("", "(not attributed)", "0.00", "linear"),
    ]


def test_bad_input_is_a_400_naming_it(member_client):
    response = member_client.get(URL, {"model": "u_shaped"})
    assert response.status_code == 400 and b"model: one of" in response.content


def test_another_workspaces_revenue_is_not_exported(ws, outsider_client):
    broadcast_sale(ws, "Spring", 30)
    table = rows(outsider_client.get(URL, {"days": 30}))
    assert [r[2] for r in table[1:]] == ["(not attributed)"]
    assert table[1][4] == "0.00"
