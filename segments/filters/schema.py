"""What a filter may say: field types, the operators each type accepts, the field catalogue.

A *field* is a Contact column (fixed list below) or a custom attribute declared in
contacts.models.AttributeDefinition. Its *type* decides which operators are valid and how
values are read. Builders (the htmx UI, the API docs) read this module too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contacts.models import AttributeDefinition, ConsentStatus, LifecycleStage
from predictions import selectors as prediction_selectors
from workspaces.models import Workspace


class FieldType(StrEnum):
    TEXT = "text"
    CHOICE = "choice"  # a column with fixed choices (lifecycle stage, consent)
    OWNER = "owner"  # a workspace member (user id)
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    LIST = "list"


class Op(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    IN = "in"
    NOT_IN = "not_in"
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    BEFORE = "before"
    AFTER = "after"
    WITHIN_LAST_DAYS = "within_last_days"
    MORE_THAN_DAYS_AGO = "more_than_days_ago"
    WITHIN_NEXT_DAYS = "within_next_days"
    ANNIVERSARY_WITHIN_DAYS = "anniversary_within_days"
    ANNIVERSARY_THIS_MONTH = "anniversary_this_month"  # extension: "birthday this month"


# Negative operators are the exact complement of a positive one: a contact matches
# exactly one of `X` and `not X` (a missing value is "not equal", "does not contain" …).
NEGATIONS: dict[Op, Op] = {
    Op.NEQ: Op.EQ,
    Op.NOT_CONTAINS: Op.CONTAINS,
    Op.NOT_IN: Op.IN,
    Op.NOT_EXISTS: Op.EXISTS,
}

_TEXT_OPS = (
    Op.EQ,
    Op.NEQ,
    Op.CONTAINS,
    Op.NOT_CONTAINS,
    Op.STARTS_WITH,
    Op.ENDS_WITH,
    Op.IN,
    Op.NOT_IN,
    Op.EXISTS,
    Op.NOT_EXISTS,
)
_NUMBER_OPS = (Op.EQ, Op.NEQ, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN, Op.IN, Op.NOT_IN)
_TIME_OPS = (
    Op.BEFORE,
    Op.AFTER,
    Op.BETWEEN,
    Op.WITHIN_LAST_DAYS,
    Op.MORE_THAN_DAYS_AGO,
    Op.WITHIN_NEXT_DAYS,
    Op.ANNIVERSARY_WITHIN_DAYS,
    Op.ANNIVERSARY_THIS_MONTH,
)
_PRESENCE = (Op.EXISTS, Op.NOT_EXISTS)

# Operators per type, for columns (`column=True`) and for custom attributes (JSON values,
# which may be missing, hence exists/not_exists everywhere).
OPERATORS: dict[FieldType, tuple[Op, ...]] = {
    FieldType.TEXT: _TEXT_OPS,
    FieldType.CHOICE: (Op.EQ, Op.NEQ, Op.IN, Op.NOT_IN),
    FieldType.OWNER: (Op.EQ, Op.NEQ, Op.IN, Op.NOT_IN, Op.EXISTS, Op.NOT_EXISTS),
    FieldType.NUMBER: _NUMBER_OPS + _PRESENCE,
    FieldType.BOOLEAN: (Op.EQ, Op.NEQ) + _PRESENCE,
    FieldType.DATE: (Op.EQ, Op.NEQ) + _TIME_OPS + _PRESENCE,
    FieldType.DATETIME: _TIME_OPS + _PRESENCE,
    FieldType.LIST: (Op.CONTAINS, Op.NOT_CONTAINS, Op.IN, Op.NOT_IN) + _PRESENCE,
}

# Event property conditions: properties are untyped JSON; the operator and the value's JSON
# type say how to compare (a number compares numerically, a string case-insensitively).
PROPERTY_OPERATORS: tuple[Op, ...] = _TEXT_OPS + (Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN)

# Event counts: "at least" (gte), "at most" (lte), "exactly" (eq), and strict variants.
COUNT_OPERATORS: tuple[Op, ...] = (Op.GTE, Op.LTE, Op.EQ, Op.GT, Op.LT)

OP_LABELS: dict[Op, str] = {
    Op.EQ: "is",
    Op.NEQ: "is not",
    Op.CONTAINS: "contains",
    Op.NOT_CONTAINS: "does not contain",
    Op.STARTS_WITH: "starts with",
    Op.ENDS_WITH: "ends with",
    Op.IN: "is any of",
    Op.NOT_IN: "is none of",
    Op.EXISTS: "is set",
    Op.NOT_EXISTS: "is not set",
    Op.GT: ">",
    Op.GTE: "≥",
    Op.LT: "<",
    Op.LTE: "≤",
    Op.BETWEEN: "is between",
    Op.BEFORE: "is before",
    Op.AFTER: "is after",
    Op.WITHIN_LAST_DAYS: "in the last N days",
    Op.MORE_THAN_DAYS_AGO: "more than N days ago",
    Op.WITHIN_NEXT_DAYS: "in the next N days",
    Op.ANNIVERSARY_WITHIN_DAYS: "anniversary in the next N days",
    Op.ANNIVERSARY_THIS_MONTH: "anniversary this month",
}

# Operators whose value is a whole number of days.
DAY_OPS = frozenset(
    {Op.WITHIN_LAST_DAYS, Op.MORE_THAN_DAYS_AGO, Op.WITHIN_NEXT_DAYS, Op.ANNIVERSARY_WITHIN_DAYS}
)
# Operators that make a filter change with the clock alone ("drift").
RELATIVE_OPS = DAY_OPS | {Op.ANNIVERSARY_THIS_MONTH}
NO_VALUE_OPS = frozenset({Op.EXISTS, Op.NOT_EXISTS, Op.ANNIVERSARY_THIS_MONTH})
LIST_VALUE_OPS = frozenset({Op.IN, Op.NOT_IN})
MAX_DAYS = 36_500
MAX_LIST_VALUES = 1_000
MAX_NODES = 200
MAX_DEPTH = 12


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    label: str
    column: str | None = None  # a Contact column; None means a custom attribute (JSON key)
    choices: tuple[str, ...] = ()
    # A prediction model's id: the field is its stored likelihood (NUMBER, 0–100) or tier
    # (CHOICE), read from predictions' table (docs/predictions.md), missing when unscored.
    prediction: int | None = None

    @property
    def is_attribute(self) -> bool:
        return self.column is None and self.prediction is None

    @property
    def operators(self) -> tuple[Op, ...]:
        ops = OPERATORS[self.type]
        if self.column and self.type in (FieldType.NUMBER, FieldType.TEXT):
            # Columns are never NULL: "is set" means non-empty text; numbers always are.
            return ops if self.type == FieldType.TEXT else _NUMBER_OPS
        return ops


def _text(name: str, label: str) -> FieldSpec:
    return FieldSpec(name, FieldType.TEXT, label, column=name)


CONTACT_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        _text("email", "Email"),
        _text("phone", "Phone"),
        _text("first_name", "First name"),
        _text("last_name", "Last name"),
        _text("company", "Company"),
        _text("job_title", "Job title"),
        _text("country", "Country"),
        _text("city", "City"),
        _text("timezone", "Time zone"),
        _text("external_id", "External id"),
        FieldSpec(
            "lifecycle_stage",
            FieldType.CHOICE,
            "Lifecycle stage",
            column="lifecycle_stage",
            choices=tuple(LifecycleStage.values),
        ),
        FieldSpec(
            "email_consent",
            FieldType.CHOICE,
            "Email consent",
            column="email_consent",
            choices=tuple(ConsentStatus.values),
        ),
        FieldSpec(
            "sms_consent",
            FieldType.CHOICE,
            "SMS consent",
            column="sms_consent",
            choices=tuple(ConsentStatus.values),
        ),
        FieldSpec("owner", FieldType.OWNER, "Owner", column="owner_id"),
        FieldSpec("score", FieldType.NUMBER, "Lead score", column="score"),
        FieldSpec("created_at", FieldType.DATETIME, "Created", column="created_at"),
        FieldSpec("updated_at", FieldType.DATETIME, "Updated", column="updated_at"),
        FieldSpec("last_seen_at", FieldType.DATETIME, "Last seen", column="last_seen_at"),
    )
}

_ATTRIBUTE_TYPES: dict[str, FieldType] = {
    AttributeDefinition.Type.STRING: FieldType.TEXT,
    AttributeDefinition.Type.NUMBER: FieldType.NUMBER,
    AttributeDefinition.Type.BOOLEAN: FieldType.BOOLEAN,
    AttributeDefinition.Type.DATE: FieldType.DATE,
    AttributeDefinition.Type.DATETIME: FieldType.DATETIME,
    AttributeDefinition.Type.LIST: FieldType.LIST,
}


def field_catalog(*, workspace: Workspace) -> dict[str, FieldSpec]:
    """Every field a filter in this workspace may name: columns, the prediction models'
    likelihood and tier, then custom attributes."""
    catalog = dict(CONTACT_FIELDS)
    for field in prediction_selectors.prediction_fields(workspace=workspace):
        if field.part == "tier":
            spec = FieldSpec(
                field.name,
                FieldType.CHOICE,
                field.label,
                choices=prediction_selectors.TIERS,
                prediction=field.model_id,
            )
        else:
            spec = FieldSpec(field.name, FieldType.NUMBER, field.label, prediction=field.model_id)
        catalog[field.name] = spec
    for key, label, type_ in AttributeDefinition.objects.for_workspace(workspace).values_list(
        "key", "label", "type"
    ):
        if key not in catalog:  # a column of the same name wins
            catalog[key] = FieldSpec(key, _ATTRIBUTE_TYPES.get(type_, FieldType.TEXT), label or key)
    return catalog


def describe_operators() -> dict[str, Any]:
    """Operators per type, with labels: for builders and the API documentation."""
    return {
        str(type_): [{"op": str(op), "label": OP_LABELS[op]} for op in ops]
        for type_, ops in OPERATORS.items()
    }
