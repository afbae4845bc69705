"""CSV downloads: the one streaming response every export uses (contacts, an import's errors,
every analytics panel).

    return csv_response(rows, filename="retention-2026-12-03", header=["Cohort", "Week 0", …])

`rows` is any iterable of sequences — a generator over a queryset's `.iterator()` streams
without holding the file in memory. Each cell goes through `csv_cell`: numbers are written as
numbers, dates in ISO 8601, None as an empty cell, and text that a spreadsheet would run as a
formula (`=…`, `+…`, `-…`, `@…`, a leading tab or carriage return — OWASP's "CSV injection")
gets a leading apostrophe, so it shows as the text it is. Text that is just a number with a
sign ("-12.5", a phone number "+49 30 1234") stays as it is.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def csv_safe(value: Any) -> str:
    """Text a spreadsheet will not run as a formula (a signed number or phone number stays)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _SIGNED_NUMBER.fullmatch(text.replace(" ", "")):
        return "'" + text
    return text


def csv_cell(value: Any) -> str:
    """One cell: numbers as numbers, dates as ISO 8601, booleans as true/false, text made safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return csv_safe(value)


class _Echo:
    """A file-like object whose write returns the line: csv.writer then yields strings."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Sequence[Any]], *, header: Sequence[str]) -> Iterator[str]:
    """The header line, then one line per row, each cell through `csv_cell`."""
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_safe(name) for name in header])
    for row in rows:
        yield writer.writerow([csv_cell(cell) for cell in row])


def csv_filename(name: str) -> str:
    """A download name safe in a Content-Disposition header: letters, digits, . _ - only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.removesuffix(".csv")).strip("._") or "export"
    return f"{stem[:120]}.csv"


def csv_response(
    rows: Iterable[Sequence[Any]], *, filename: str, header: Sequence[str]
) -> StreamingHttpResponse:
    """A streamed `text/csv` attachment named `filename` (".csv" added), header row first."""
    response = StreamingHttpResponse(
        csv_lines(rows, header=header), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(filename)}"'
    return response
