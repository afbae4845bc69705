"""Filter tree → one parameterised SQL predicate over `contacts_contact c`.

Every value travels as a query parameter; the only identifiers written into the SQL are
column names from the fixed catalogue in schema.py. Every compiled predicate is two-valued
(never NULL), so NOT and the negative operators are exact complements.

Event conditions become subqueries on contacts_event:
- "did X (at least once)" / "never did X": a correlated [NOT] EXISTS, which Postgres
  turns into a semi/anti join when it stands at the top of the filter;
- counts ("at least 3 times"): in `set` mode (a whole workspace: recomputes, counts) an
  EXISTS over `GROUP BY contact_id HAVING count(*) …` that Postgres hashes once; in
  `probe` mode (a handful of contacts: real time) a correlated count capped by LIMIT,
  which reads at most N+1 index entries per contact.
"""

# ruff: noqa: S608, S611  # identifiers come from model metadata; every value is a parameter

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from contacts.models import Contact, Event
from predictions import selectors as prediction_selectors

from .clock import time_test
from .nodes import Clock, EventCond, FieldCond, Group, Node, Not, PropertyCond, SegmentCond, TagCond
from .schema import NEGATIONS, FieldType, Op
from .values import fold

Mode = Literal["set", "probe"]
SQL = tuple[str, list[Any]]

CONTACTS = Contact._meta.db_table
EVENTS = Event._meta.db_table
_CMP = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "=", "neq": "<>"}
_COUNT_CMP = {Op.GTE: ">=", Op.GT: ">", Op.LTE: "<=", Op.LT: "<", Op.EQ: "="}
_COUNT_NEGATED = {Op.GTE: "<", Op.GT: "<=", Op.LTE: ">", Op.LT: ">=", Op.EQ: "<>"}


def _memberships_table() -> str:
    from segments.models import SegmentMembership

    return SegmentMembership._meta.db_table


def coalesce(sql: str) -> str:
    return f"COALESCE({sql}, false)"


@dataclass
class CompiledFilter:
    """A predicate on alias `c` (contacts_contact) with its parameters."""

    workspace_id: int
    where: str
    params: list[Any] = field(default_factory=list)

    def select_ids(self, *, extra_where: str = "", extra_params: list[Any] | None = None) -> SQL:
        sql = f"SELECT c.id FROM {CONTACTS} c WHERE c.workspace_id = %s AND ({self.where})"
        if extra_where:
            sql += f" AND {extra_where}"
        return sql, [self.workspace_id, *self.params, *(extra_params or [])]


class SqlCompiler:
    def __init__(
        self,
        *,
        workspace_id: int,
        clock: Clock,
        mode: Mode = "set",
        id_range: tuple[int, int] | None = None,
    ):
        self.workspace_id = workspace_id
        self.clock = clock
        self.mode = mode
        self.id_range = id_range  # recompute chunks: bounds event aggregates to the chunk

    def compile(self, node: Node) -> CompiledFilter:
        sql, params = self.node(node)
        return CompiledFilter(self.workspace_id, sql, params)

    def node(self, node: Node) -> SQL:
        if isinstance(node, Group):
            return self.group(node)
        if isinstance(node, Not):
            sql, params = self.node(node.child)
            return f"NOT ({sql})", params
        if isinstance(node, FieldCond):
            return self.field(node)
        if isinstance(node, TagCond):
            sql = "c.tags @> ARRAY[%s::varchar]"
            return (sql if node.present else f"NOT ({sql})"), [node.tag]
        if isinstance(node, SegmentCond):
            sql = (
                f"EXISTS (SELECT 1 FROM {_memberships_table()} m WHERE m.workspace_id = %s "
                "AND m.segment_id = %s AND m.contact_id = c.id)"
            )
            return (sql if node.present else f"NOT {sql}"), [self.workspace_id, node.segment_id]
        return self.event(node)

    def group(self, node: Group) -> SQL:
        if not node.children:
            return ("true" if node.kind == "all" else "false"), []
        parts = [self.node(child) for child in node.children]
        joiner = " AND " if node.kind == "all" else " OR "
        return (
            "(" + joiner.join(f"({sql})" for sql, _ in parts) + ")",
            [param for _, params in parts for param in params],
        )

    # --- contact fields -------------------------------------------------------------------

    def field(self, cond: FieldCond) -> SQL:
        positive = NEGATIONS.get(cond.op)
        if positive is not None:
            sql, params = self.field_positive(cond, positive)
            return f"NOT ({sql})", params
        return self.field_positive(cond, cond.op)

    def field_positive(self, cond: FieldCond, op: Op) -> SQL:
        spec = cond.spec
        if spec.prediction is not None:
            return self.prediction(cond, op)
        if spec.is_attribute:
            return json_predicate("c.attributes -> %s", [spec.name], spec.type, op, cond, self)
        column = f"c.{spec.column}"
        if spec.type == FieldType.TEXT:
            return text_predicate(column, [], op, cond.value, nullable=False)
        if spec.type == FieldType.CHOICE:
            if op == Op.IN:
                return f"{column} = ANY(%s)", [list(cond.value)]
            return f"{column} = %s", [cond.value]
        if spec.type == FieldType.OWNER:
            if op == Op.EXISTS:
                return f"{column} IS NOT NULL", []
            if op == Op.IN:
                return coalesce(f"{column} = ANY(%s)"), [list(cond.value)]
            return coalesce(f"{column} = %s"), [cond.value]
        if spec.type == FieldType.NUMBER:
            return number_predicate(column, [], op, cond.value, nullable=False)
        return self.time_predicate(column, [], spec.type, cond)  # DATETIME column

    def prediction(self, cond: FieldCond, op: Op) -> SQL:
        """A model's stored likelihood (0–100) or tier: a probe of predictions' table; a
        contact without a prediction matches only the negative operators."""
        spec = cond.spec
        part = "tier" if spec.type == FieldType.CHOICE else "likelihood"
        expr, expr_params = prediction_selectors.prediction_value_sql(
            workspace_id=self.workspace_id, model_id=spec.prediction or 0, part=part
        )
        if op == Op.EXISTS:
            return f"{expr} IS NOT NULL", expr_params
        if spec.type == FieldType.CHOICE:
            if op == Op.IN:
                return coalesce(f"{expr} = ANY(%s)"), [*expr_params, list(cond.value)]
            return coalesce(f"{expr} = %s"), [*expr_params, cond.value]
        return number_predicate(expr, expr_params, op, cond.value)

    def time_predicate(
        self, expr: str, expr_params: list[Any], type_: FieldType, cond: FieldCond
    ) -> SQL:
        if cond.op in (Op.EXISTS, Op.NOT_EXISTS):
            return f"{expr} IS NOT NULL", list(expr_params)
        test = time_test(
            FieldCond(cond.spec, NEGATIONS.get(cond.op, cond.op), cond.value), self.clock
        )
        if test.month_days is not None:
            if type_ == FieldType.DATE:
                return coalesce(f"to_char({expr}, 'MM-DD') = ANY(%s)"), [
                    *expr_params,
                    list(test.month_days),
                ]
            return coalesce(f"to_char(({expr}) AT TIME ZONE %s, 'MM-DD') = ANY(%s)"), [
                *expr_params,
                self.clock.tz.key,
                list(test.month_days),
            ]
        parts, params = [], []
        cast = "::date" if type_ == FieldType.DATE else "::timestamptz"
        for op, value in test.comparisons:
            parts.append(f"{expr} {_CMP[op]} %s{cast}")
            params += [*expr_params, _sql_time(value)]
        return coalesce(" AND ".join(parts)), params

    # --- events ---------------------------------------------------------------------------

    def event(self, cond: EventCond) -> SQL:
        filters, params = self.event_filters(cond)
        simple_exists = (cond.count_op, cond.count_value) in ((Op.GTE, 1), (Op.GT, 0))
        never = (cond.count_op, cond.count_value) in ((Op.EQ, 0), (Op.LTE, 0), (Op.LT, 1))
        if simple_exists or never:
            sql = f"EXISTS (SELECT 1 FROM {EVENTS} e WHERE e.contact_id = c.id AND {filters})"
            return (sql if simple_exists else f"NOT {sql}"), params
        if self.mode == "probe":
            limit = cond.count_value if cond.count_op in (Op.GTE, Op.LT) else cond.count_value + 1
            sql = (
                f"(SELECT count(*) FROM (SELECT 1 FROM {EVENTS} e WHERE e.contact_id = c.id "
                f"AND {filters} LIMIT %s) s) {_COUNT_CMP[cond.count_op]} %s"
            )
            return sql, [*params, limit, cond.count_value]
        # set mode: one aggregate over the window, probed (or hash-joined) per contact
        zero = cond.zero_matches()
        cmp = (_COUNT_NEGATED if zero else _COUNT_CMP)[cond.count_op]
        if self.id_range:
            filters += " AND e.contact_id BETWEEN %s AND %s"
            params += list(self.id_range)
        sql = (
            f"EXISTS (SELECT 1 FROM (SELECT e.contact_id FROM {EVENTS} e WHERE {filters} "
            f"GROUP BY e.contact_id HAVING count(*) {cmp} %s) g WHERE g.contact_id = c.id)"
        )
        return (f"NOT {sql}" if zero else sql), [*params, cond.count_value]

    def event_filters(self, cond: EventCond) -> SQL:
        parts = ["e.workspace_id = %s", "e.name = %s"]
        params: list[Any] = [self.workspace_id, cond.name]
        if cond.within_days is not None:
            parts.append("e.timestamp >= %s")
            params.append(self.clock.days_ago(cond.within_days))
        if cond.between is not None:
            parts.append("e.timestamp >= %s AND e.timestamp < %s")
            params += list(cond.between)
        for prop in cond.where:
            sql, prop_params = property_predicate(prop)
            parts.append(f"({sql})")
            params += prop_params
        return " AND ".join(parts), params


# --- predicates over one value (shared by columns, attributes and event properties) ----------


def text_predicate(
    expr: str, expr_params: list[Any], op: Op, value: Any, *, nullable: bool = True
) -> SQL:
    """`expr` is text (may be NULL when `nullable`). Case-insensitive."""
    wrap = coalesce if nullable else (lambda sql: sql)
    lowered = f"lower({expr})"
    if op == Op.EXISTS:
        return wrap(f"{expr} <> ''"), list(expr_params)
    if op == Op.EQ:
        return wrap(f"{lowered} = %s"), [*expr_params, fold(value)]
    if op == Op.IN:
        return wrap(f"{lowered} = ANY(%s)"), [*expr_params, [fold(v) for v in value]]
    if op == Op.CONTAINS:
        return wrap(f"strpos({lowered}, %s) > 0"), [*expr_params, fold(value)]
    if op == Op.STARTS_WITH:
        return wrap(f"starts_with({lowered}, %s)"), [*expr_params, fold(value)]
    if op == Op.ENDS_WITH:
        folded = fold(value)
        return wrap(f"right({lowered}, %s) = %s"), [*expr_params, len(folded), folded]
    raise AssertionError(f"text operator {op}")


def number_predicate(
    expr: str, expr_params: list[Any], op: Op, value: Any, *, nullable: bool = True
) -> SQL:
    wrap = coalesce if nullable else (lambda sql: sql)
    if op == Op.BETWEEN:
        return wrap(f"{expr} BETWEEN %s AND %s"), [*expr_params, value[0], value[1]]
    if op == Op.IN:
        return wrap(f"{expr} = ANY(%s::numeric[])"), [*expr_params, list(value)]
    return wrap(f"{expr} {_CMP[op]} %s"), [*expr_params, value]


def json_predicate(
    expr: str,
    expr_params: list[Any],
    type_: FieldType,
    op: Op,
    cond: FieldCond,
    compiler: SqlCompiler,
) -> SQL:
    """A typed custom attribute: `expr` is a jsonb expression (NULL when missing)."""
    if op == Op.EXISTS:
        return json_exists(expr, expr_params)
    if type_ == FieldType.TEXT:
        return text_predicate(f"segments_json_text({expr})", expr_params, op, cond.value)
    if type_ == FieldType.NUMBER:
        return number_predicate(f"segments_json_number({expr})", expr_params, op, cond.value)
    if type_ == FieldType.BOOLEAN:
        literal = "'true'::jsonb" if cond.value else "'false'::jsonb"
        return coalesce(f"{expr} = {literal}"), list(expr_params)
    if type_ == FieldType.LIST:
        array = f"jsonb_typeof({expr}) = 'array'"
        if op == Op.IN:
            return coalesce(f"{array} AND {expr} ?| %s"), [
                *expr_params,
                *expr_params,
                list(cond.value),
            ]
        return coalesce(f"{array} AND {expr} @> jsonb_build_array(%s::text)"), [
            *expr_params,
            *expr_params,
            cond.value,
        ]
    function = "segments_json_date" if type_ == FieldType.DATE else "segments_json_timestamptz"
    return compiler.time_predicate(f"{function}({expr})", expr_params, type_, cond)


def json_exists(expr: str, expr_params: list[Any]) -> SQL:
    return coalesce(f"{expr} NOT IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb)"), list(expr_params)


def property_predicate(prop: PropertyCond) -> SQL:
    positive = NEGATIONS.get(prop.op)
    op = positive or prop.op
    expr, expr_params = "e.properties #> %s", [list(prop.path)]
    sql, params = _property_positive(expr, expr_params, op, prop.value)
    return (f"NOT ({sql})" if positive else sql), params


def _property_positive(expr: str, expr_params: list[Any], op: Op, value: Any) -> SQL:
    if op == Op.EXISTS:
        return json_exists(expr, expr_params)
    sample = value[0] if isinstance(value, tuple) else value
    if isinstance(sample, bool):
        literal = "'true'::jsonb" if sample else "'false'::jsonb"
        return coalesce(f"{expr} = {literal}"), list(expr_params)
    if isinstance(sample, str):
        return text_predicate(f"segments_json_text({expr})", expr_params, op, value)
    return number_predicate(f"segments_json_number({expr})", expr_params, op, value)


def _sql_time(value: date | datetime) -> date | datetime:
    return value
