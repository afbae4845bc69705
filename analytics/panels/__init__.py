"""The dashboard's panels: issue #17's reads (cohort retention, active contacts, segment sizes;
the lead-score distribution is scoring's selector) and every panel as one table, the same
numbers for the page, its CSV download and `/api/v1/analytics/panels/<name>/`."""

from scoring.selectors import score_distribution

from .reads import (
    COHORT_WEEKS,
    MAX_DAYS,
    SEGMENTS_MAX,
    SEGMENTS_SHOWN,
    ActiveContacts,
    Cohort,
    Retention,
    SegmentSeries,
    active_contacts,
    cohort_retention,
    segment_sizes,
)
from .tables import (
    PANELS,
    Column,
    Panel,
    Params,
    Table,
    UnknownSegment,
    kpis,
    panel_table,
    params_parse,
    segments_check,
)

__all__ = [
    "COHORT_WEEKS",
    "MAX_DAYS",
    "PANELS",
    "SEGMENTS_MAX",
    "SEGMENTS_SHOWN",
    "ActiveContacts",
    "Cohort",
    "Column",
    "Panel",
    "Params",
    "Retention",
    "SegmentSeries",
    "Table",
    "UnknownSegment",
    "active_contacts",
    "cohort_retention",
    "kpis",
    "panel_table",
    "params_parse",
    "score_distribution",
    "segment_sizes",
    "segments_check",
]
