"""Features and labels as of a cut-off, set-based: a few SQL scans, parsed by numpy.

A *dataset* is one row per contact of the model's population at a cut-off `T`:

- behaviour before `T` (never after): for each tracked event name, its count in the last 7
  and 30 days and in the whole look-back (90 days), and the days since the last one; page
  views in the last 7 and 30 days (every page name seen); email opens and clicks are always
  tracked;
- profile: days since the contact was created, and one-hot columns for low-cardinality
  fields (country and custom attributes with a handful of values);
- the rule-based lead score as it stood at `T` — the last primary `score.changed` before
  `T`, read from the event stream, so training, validation and scoring use one definition
  and the validation never sees a score raised by the conversion it predicts;
- the label (when asked): the goal reached in [T, T + horizon) — conversion — or not
  reached again in it — churn.

Profile columns are today's values (contacts keep no history of them); everything else is as
of `T`. Population: conversion — contacts created before `T` that had not reached the goal
yet; churn — contacts created before `T` that did the goal event in the year before it.

Speed: each aggregate query renders one text line per contact (`_line`), read through a
server-side cursor in chunks and parsed by `numpy.fromstring` — no Python object per value.
The per-contact scan reads the event index `(workspace, name, timestamp) INCLUDE (contact)`
for the tracked names only.
"""

# ruff: noqa: S608  # identifiers are model metadata; every value is a parameter

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection

from contacts.models import Contact, Event

from .models import GoalType, Kind, PredictionModel

CONTACTS = Contact._meta.db_table
EVENTS = Event._meta.db_table

LOOKBACK_DAYS = 90
WINDOWS = (7, 30)
TOP_NAMES = 12
MAX_PAGE_NAMES = 200
ALWAYS = ("email.opened", "email.clicked")
# The platform's own bookkeeping says nothing about the contact's intent (or restates the
# label): left out of the tracked names. email.opened / email.clicked are added back above.
PLATFORM_PREFIXES = ("score.", "lifecycle.", "segment.", "workflow.", "email.", "sms.")
ONE_HOT_FIELDS = 4  # low-cardinality profile fields one-hot encoded
ONE_HOT_VALUES = 6  # values per field (the most common); others are all zeros
ONE_HOT_MAX_DISTINCT = 12  # a field with more distinct values is not "low-cardinality"
CHURN_ACTIVE_DAYS = 365
SCORE_HISTORY_DAYS = 365
FETCH_ROWS = 50_000


@dataclass
class FeatureSpec:
    """Which columns a model reads; chosen at training, stored with its parameters."""

    names: list[str]
    pages: list[str]  # which of `names` are page names (for the reasons' wording)
    page_names: list[str]  # every page name counted in the page-view totals
    one_hot: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, key, value)
    lookback_days: int = LOOKBACK_DAYS

    @property
    def columns(self) -> list[str]:
        cols = []
        for name in self.names:
            cols += [f"event:{name}:{w}d" for w in (*WINDOWS, self.lookback_days)]
            cols.append(f"event:{name}:since")
        cols += [f"pages:{w}d" for w in WINDOWS]
        cols += ["signup_age", "rule_score"]
        cols += [f"{kind}:{key}={value}" for kind, key, value in self.one_hot]
        return cols

    @property
    def event_width(self) -> int:
        return len(self.names) * (len(WINDOWS) + 2) + len(WINDOWS)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "one_hot": [list(item) for item in self.one_hot]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            names=list(data["names"]),
            pages=list(data["pages"]),
            page_names=list(data["page_names"]),
            one_hot=[(str(k), str(key), str(v)) for k, key, v in data.get("one_hot", [])],
            lookback_days=int(data.get("lookback_days", LOOKBACK_DAYS)),
        )


@dataclass
class Dataset:
    contact_ids: np.ndarray  # int64, sorted
    raw: np.ndarray  # float32 (contacts × spec.columns): values as counted
    labels: np.ndarray | None  # int8 0/1, None when not asked
    rule_scores: np.ndarray  # float32: the rule-based score at the cut-off

    def __len__(self) -> int:
        return len(self.contact_ids)


# --- choosing the features ---------------------------------------------------------------


def spec_choose(*, model: PredictionModel, cutoff: datetime) -> FeatureSpec:
    """The most frequent event names in the look-back before `cutoff` (plus email opens and
    clicks), every page name for the page totals, and the low-cardinality profile fields."""
    start = cutoff - timedelta(days=LOOKBACK_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.name, bool_or(e.type = 'page'), count(*) FROM {EVENTS} e "
            "WHERE e.workspace_id = %s AND e.timestamp >= %s AND e.timestamp < %s "
            "AND e.name <> '' GROUP BY e.name ORDER BY count(*) DESC, e.name LIMIT 1000",
            [model.workspace_id, start, cutoff],
        )
        seen = cursor.fetchall()
    names = [
        name for name, _, _ in seen if not name.startswith(PLATFORM_PREFIXES) and name not in ALWAYS
    ][:TOP_NAMES]
    names += list(ALWAYS)
    is_page = {name for name, page, _ in seen if page}
    return FeatureSpec(
        names=names,
        pages=[name for name in names if name in is_page],
        page_names=sorted(name for name, page, _ in seen if page)[:MAX_PAGE_NAMES],
        one_hot=_one_hot_choose(model.workspace_id),
    )


def _one_hot_choose(workspace_id: int) -> list[tuple[str, str, str]]:
    """Country and the custom attributes with few distinct values (from a sample of 20,000
    contacts): their most common values."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH sample AS (
                SELECT country, attributes FROM {CONTACTS} WHERE workspace_id = %s
                ORDER BY id DESC LIMIT 20000
            ), pairs AS (
                SELECT 'column' AS kind, 'country' AS key, country AS value FROM sample
                WHERE country <> ''
                UNION ALL
                SELECT 'attribute', a.key, a.value #>> '{{}}' FROM sample,
                    jsonb_each(sample.attributes) a
                WHERE jsonb_typeof(a.value) IN ('string', 'boolean')
            )
            SELECT kind, key, value, count(*) FROM pairs
            GROUP BY kind, key, value ORDER BY kind, key, count(*) DESC, value
            """,
            [workspace_id],
        )
        rows = cursor.fetchall()
    by_field: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for kind, key, value, count in rows:
        by_field.setdefault((kind, key), []).append((value, count))
    fields = [
        (sum(c for _, c in values), kind, key, values)
        for (kind, key), values in by_field.items()
        if 2 <= len(values) <= ONE_HOT_MAX_DISTINCT and len(key) <= 100
    ]
    fields.sort(key=lambda item: (-item[0], item[1], item[2]))
    chosen = []
    for _, kind, key, values in fields[:ONE_HOT_FIELDS]:
        chosen += [(kind, key, value) for value, _ in values[:ONE_HOT_VALUES]]
    return chosen


# --- building a dataset ------------------------------------------------------------------


def dataset_build(
    *,
    model: PredictionModel,
    spec: FeatureSpec,
    cutoff: datetime,
    with_labels: bool,
    progress: Any = None,
) -> Dataset:
    """The model's population at `cutoff` with its features (and labels): see the module."""
    with _work_mem():
        static = _population(model, spec, cutoff)
        ids = static[:, 0].astype(np.int64)
        order = np.argsort(ids, kind="stable")
        ids, static = ids[order], static[order]
        if progress:
            progress(0.3)
        behaviour = _behaviour(model.workspace_id, spec, cutoff, ids)
        if progress:
            progress(0.7)
        scores = _rule_scores(model.workspace_id, cutoff, ids)
        labels = _labels(model, cutoff, ids) if with_labels else None
    raw = np.empty((len(ids), len(spec.columns)), dtype=np.float32)
    width = spec.event_width
    raw[:, :width] = behaviour
    raw[:, width] = static[:, 1]  # signup_age
    raw[:, width + 1] = scores
    raw[:, width + 2 :] = static[:, 2:]
    return Dataset(contact_ids=ids, raw=raw, labels=labels, rule_scores=scores)


@contextmanager
def _work_mem() -> Iterator[None]:
    """The per-contact aggregate hashes every contact of the workspace: room for it in memory
    instead of spilling to disk, for these statements only. (A session setting, reset after:
    not SET LOCAL, which would need one transaction around the whole build and hide the
    run's progress from the page until it ended.)"""
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")


def _population(model: PredictionModel, spec: FeatureSpec, cutoff: datetime) -> np.ndarray:
    """id, days since created, one-hot columns — for the model's population at `cutoff`."""
    parts = ["c.id", "round((extract(epoch FROM %s - c.created_at) / 86400)::numeric, 2)"]
    params: list[Any] = [cutoff]
    for kind, key, value in spec.one_hot:
        if kind == "column":
            parts.append("(c.country = %s)::int")
            params.append(value)
        else:
            parts.append("COALESCE((c.attributes ->> %s = %s)::int, 0)")
            params += [key, value]
    where, where_params = _population_where(model, cutoff)
    sql = (
        f"SELECT {_line(parts)} FROM {CONTACTS} c "
        f"WHERE c.workspace_id = %s AND c.created_at < %s AND {where}"
    )
    return _matrix(sql, [*params, model.workspace_id, cutoff, *where_params], 2 + len(spec.one_hot))


def _population_where(model: PredictionModel, cutoff: datetime) -> tuple[str, list[Any]]:
    ws = model.workspace_id
    if model.kind == Kind.CHURN:
        return (
            f"EXISTS (SELECT 1 FROM {EVENTS} e WHERE e.workspace_id = %s AND e.name = %s "
            "AND e.contact_id = c.id AND e.timestamp >= %s AND e.timestamp < %s)",
            [ws, model.goal, cutoff - timedelta(days=CHURN_ACTIVE_DAYS), cutoff],
        )
    if model.goal_type == GoalType.EVENT:
        return (
            f"NOT EXISTS (SELECT 1 FROM {EVENTS} e WHERE e.workspace_id = %s AND e.name = %s "
            "AND e.contact_id = c.id AND e.timestamp < %s)",
            [ws, model.goal, cutoff],
        )
    # A lifecycle stage: not reached before the cut-off, by the stream's record of changes —
    # and a contact at the stage today with no recorded change to it after the cut-off was
    # there already (imported, or set before the stream recorded stages).
    reached = (
        f"SELECT 1 FROM {EVENTS} e WHERE e.workspace_id = %s AND e.name = 'lifecycle.changed' "
        "AND e.contact_id = c.id AND e.properties ->> 'to' = %s"
    )
    return (
        f"NOT EXISTS ({reached} AND e.timestamp < %s) AND NOT (c.lifecycle_stage = %s "
        f"AND NOT EXISTS ({reached} AND e.timestamp >= %s))",
        [ws, model.goal, cutoff, model.goal, ws, model.goal, cutoff],
    )


def _behaviour(
    workspace_id: int, spec: FeatureSpec, cutoff: datetime, ids: np.ndarray
) -> np.ndarray:
    """Per contact: (7d, 30d, look-back, days since last) per tracked name, then page views
    in 7 and 30 days. Contacts without such events keep zeros (and 'since' = look-back + 1).

    One row per (contact, name) with four aggregates, pivoted here by numpy — not one row per
    contact with a FILTER per name and window, which tested every event against ~60 filters
    (bench predict: the aggregate took most of a scoring run)."""
    lookback = spec.lookback_days
    never = float(lookback + 1)
    scanned = sorted(set(spec.names) | set(spec.page_names))
    parts = [
        "e.contact_id",
        "array_position(%s::text[], e.name::text)",
        *["count(*) FILTER (WHERE e.timestamp >= %s)" for _ in WINDOWS],
        "count(*)",
        "round((extract(epoch FROM %s - max(e.timestamp)) / 86400)::numeric, 2)",
    ]
    params: list[Any] = [
        scanned,
        *[cutoff - timedelta(days=days) for days in WINDOWS],
        cutoff,
    ]
    sql = (
        f"SELECT {_line(parts)} FROM {EVENTS} e "
        "WHERE e.workspace_id = %s AND e.name = ANY(%s) AND e.timestamp >= %s "
        "AND e.timestamp < %s GROUP BY e.contact_id, e.name"
    )
    params += [workspace_id, scanned, cutoff - timedelta(days=lookback), cutoff]
    per_name = len(WINDOWS) + 2
    out = np.zeros((len(ids), spec.event_width), dtype=np.float32)
    out[:, [i * per_name + per_name - 1 for i in range(len(spec.names))]] = never
    rows = _matrix(sql, params, 2 + per_name)
    if not len(rows) or not len(ids):
        return out
    positions, found = _positions(ids, rows[:, 0])
    rows, positions = rows[found], positions[found]
    name_index = rows[:, 1].astype(np.int64) - 1  # array_position is 1-based
    tracked = {name: i for i, name in enumerate(spec.names)}
    to_tracked = np.array([tracked.get(name, -1) for name in scanned], dtype=np.int64)
    is_page = np.isin(np.array(scanned, dtype=object), np.array(spec.page_names, dtype=object))
    values = rows[:, 2:]  # 7d, 30d, look-back, days since
    which = to_tracked[name_index]
    mine = which >= 0
    for k in range(per_name):
        out[positions[mine], which[mine] * per_name + k] = values[mine, k]
    pages = is_page[name_index]
    base = len(spec.names) * per_name
    for k in range(len(WINDOWS)):
        np.add.at(out[:, base + k], positions[pages], values[pages, k])
    return out


def _rule_scores(workspace_id: int, cutoff: datetime, ids: np.ndarray) -> np.ndarray:
    """The primary scoring model's score at `cutoff`: the last score.changed before it."""
    sql = (
        f"SELECT {_line(['contact_id', 'score'])} FROM ("
        f"SELECT DISTINCT ON (e.contact_id) e.contact_id, "
        "CASE WHEN jsonb_typeof(e.properties -> 'to') = 'number' "
        "THEN (e.properties ->> 'to')::numeric ELSE 0 END AS score "
        f"FROM {EVENTS} e WHERE e.workspace_id = %s AND e.name = 'score.changed' "
        "AND e.timestamp >= %s AND e.timestamp < %s "
        "AND e.properties -> 'primary' = 'true'::jsonb "
        "ORDER BY e.contact_id, e.timestamp DESC, e.id DESC) s"
    )
    rows = _matrix(sql, [workspace_id, cutoff - timedelta(days=SCORE_HISTORY_DAYS), cutoff], 2)
    out = np.zeros(len(ids), dtype=np.float32)
    if len(rows) and len(ids):
        positions, found = _positions(ids, rows[:, 0])
        out[positions[found]] = rows[found, 1]
    return out


def _labels(model: PredictionModel, cutoff: datetime, ids: np.ndarray) -> np.ndarray:
    """1 = the goal reached in [cutoff, cutoff + horizon) (conversion) / not done again in
    it (churn)."""
    end = cutoff + timedelta(days=model.horizon_days)
    if model.goal_type == GoalType.LIFECYCLE and model.kind == Kind.CONVERSION:
        sql = (
            f"SELECT DISTINCT e.contact_id::text FROM {EVENTS} e WHERE e.workspace_id = %s "
            "AND e.name = 'lifecycle.changed' AND e.properties ->> 'to' = %s "
            "AND e.timestamp >= %s AND e.timestamp < %s"
        )
    else:
        sql = (
            f"SELECT DISTINCT e.contact_id::text FROM {EVENTS} e WHERE e.workspace_id = %s "
            "AND e.name = %s AND e.timestamp >= %s AND e.timestamp < %s"
        )
    reached = _matrix(sql, [model.workspace_id, model.goal, cutoff, end], 1)
    hit = np.zeros(len(ids), dtype=np.int8)
    if len(reached) and len(ids):
        positions, found = _positions(ids, reached[:, 0])
        hit[positions[found]] = 1
    return (1 - hit).astype(np.int8) if model.kind == Kind.CHURN else hit


# --- plumbing ----------------------------------------------------------------------------


def _line(parts: list[str]) -> str:
    """One text line of numbers per row (an array, not concat_ws: no 100-argument limit, and a
    NULL is written as 0 instead of being skipped, which would shift the columns)."""
    return f"array_to_string(ARRAY[{', '.join(parts)}]::numeric[], ',', '0')"


def _positions(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `wanted` sits in the sorted `ids`, and which of them are there at all."""
    wanted = wanted.astype(np.int64)
    positions = np.searchsorted(ids, wanted)
    positions[positions >= len(ids)] = 0
    return positions, ids[positions] == wanted


def _matrix(sql: str, params: list[Any], width: int) -> np.ndarray:
    """Run `sql` (one text column: numbers joined by commas) through a server-side cursor
    and parse each chunk with numpy: a (rows × width) float64 array."""
    chunks: list[np.ndarray] = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(FETCH_ROWS)
            if not rows:
                break
            text = ",".join(row[0] for row in rows)
            values = np.fromstring(text, sep=",")  # noqa: NPY201  (text mode is not deprecated)
            chunks.append(values.reshape(len(rows), width))
    if not chunks:
        return np.empty((0, width))
    return np.concatenate(chunks)


def describe_value(spec: FeatureSpec, column: int, value: float) -> str:
    """A column's raw value in words, for a contact's reasons."""
    name = spec.columns[column]
    number = f"{value:g}"
    if name.startswith("event:"):
        event, _, window = name[len("event:") :].rpartition(":")
        page = event in spec.pages
        if window == "since":
            if value > spec.lookback_days:
                return f"no {event} in {spec.lookback_days} days"
            return f"last {'visited ' if page else ''}{event} {value:.0f} days ago"
        days = window[:-1]
        verb = "visited " if page else ""
        return f"{verb}{event} {number}× in the last {days} days"
    if name.startswith("pages:"):
        return f"{number} page views in the last {name[6:-1]} days"
    if name == "signup_age":
        return f"created {value:.0f} days ago"
    if name == "rule_score":
        return f"lead score {number}"
    kind_key, _, wanted = name.partition("=")
    key = kind_key.split(":", 1)[1]
    return f"{key} is {wanted}" if value >= 0.5 else f"{key} is not {wanted}"


def columns_in_words(spec: FeatureSpec) -> Iterable[tuple[str, str]]:
    """(column, what it measures) for the report's weights table."""
    for name in spec.columns:
        if name.startswith("event:"):
            rest = name[len("event:") :]
            event, _, window = rest.rpartition(":")
            if window == "since":
                yield name, f"days since the last {event}"
            else:
                yield name, f"{event} in the last {window[:-1]} days"
        elif name.startswith("pages:"):
            yield name, f"page views in the last {name[6:-1]} days"
        elif name == "signup_age":
            yield name, "days since created"
        elif name == "rule_score":
            yield name, "rule-based lead score"
        else:
            kind_key, _, value = name.partition("=")
            yield name, f"{kind_key.split(':', 1)[1]} is {value}"
