"""The one CSV download helper (workspaces.export): header first, cells a spreadsheet will not run."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from workspaces.export import csv_cell, csv_filename, csv_response, csv_safe


def _read(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\tleading tab", "'\tleading tab"),
        ("\rleading return", "'\rleading return"),
        ("-12.5", "-12.5"),
        ("+49 30 1234", "+49 30 1234"),
        ("Order Completed", "Order Completed"),
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text, cell):
    assert csv_safe(text) == cell


def test_cells_keep_numbers_dates_and_booleans_readable():
    assert csv_cell(None) == ""
    assert csv_cell(-3) == "-3"
    assert csv_cell(Decimal("-1234.50")) == "-1234.50"
    assert csv_cell(0.25) == "0.25"
    assert csv_cell(True) == "true"
    assert csv_cell(date(2026, 12, 3)) == "2026-12-03"
    assert csv_cell(datetime(2026, 12, 3, 9, 30, tzinfo=UTC)) == "2026-12-03T09:30:00+00:00"


def test_the_response_streams_an_attachment_with_its_header_row_first():
    rows = ((f"=row{i}", i) for i in range(3))  # a generator: nothing is held
    response = csv_response(rows, filename="retention 2026/12", header=["Name", "=Count"])
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="retention_2026_12.csv"'
    assert _read(response) == [
        ["Name", "'=Count"],
        ["'=row0", "0"],
        ["'=row1", "1"],
        ["'=row2", "2"],
    ]


def test_a_filename_is_reduced_to_safe_characters():
    assert csv_filename('a"b\r\nc.csv') == "a_b_c.csv"
    assert csv_filename("../..") == "export.csv"
