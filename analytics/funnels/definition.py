"""A funnel's definition — steps, exclusions, breakdown — parsed and checked. Every error
names the part at fault (`steps[2].event`, `exclusions[0].to_step`, `breakdown.field`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

MIN_STEPS, MAX_STEPS = 2, 8
MAX_EXCLUSIONS = 5
MAX_WINDOW_DAYS = 365
NAME_MAX = 200
PAGE_MAX = 500
PROPERTY_MAX = 200
VALUE_MAX = 200  # a breakdown value longer than this is cut (a URL, a JSON object …)
DEFAULT_TOP, MAX_TOP = 8, 20
OTHER_VALUES = "(other)"
NO_VALUE = "(none)"
UTM_PARTS = ("source", "medium", "campaign")
# Contact fields a breakdown cannot group by: a date has as many values as contacts.
_UNGROUPABLE = {"date": "a date", "datetime": "a date and time", "owner": "a workspace member"}


@dataclass(frozen=True)
class FunnelStep:
    kind: str  # "event" or "page"
    value: str  # the event name, or the URL fragment
    where: tuple[Any, ...] = ()  # segments' PropertyCond, for event steps
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        base = self.value if self.kind == "event" else f"Viewed {self.value}"
        return f"{base} (where …)" if self.where else base


@dataclass(frozen=True)
class Exclusion:
    """Contacts who did `step` after their step `from_step` and before their step `to_step`
    (1-based) are left out of the funnel."""

    step: FunnelStep
    from_step: int
    to_step: int

    @property
    def raw(self) -> dict[str, Any]:
        return {**self.step.raw, "from_step": self.from_step, "to_step": self.to_step}

    @property
    def label(self) -> str:
        return f"{self.step.label} between steps {self.from_step} and {self.to_step}"


@dataclass(frozen=True)
class Breakdown:
    """What splits the funnel's rows: `kind` is utm (the entering event's campaign context),
    property (a property of the step-1 event, dotted path) or field (a contact field or
    custom attribute); `column` is the contact column of a field, None for an attribute."""

    kind: str = "utm"
    name: str = "source"
    top: int = DEFAULT_TOP
    column: str | None = None
    label: str = "UTM source of step 1"

    @property
    def raw(self) -> dict[str, Any]:
        if self.kind == "utm" and self.name == "source" and self.top == DEFAULT_TOP:
            return {}  # the default, stored as nothing
        return {self.kind: self.name, "top": self.top}


DEFAULT_BREAKDOWN = Breakdown()


@dataclass(frozen=True)
class FunnelDefinition:
    steps: list[FunnelStep]
    exclusions: list[Exclusion] = field(default_factory=list)
    breakdown: Breakdown = DEFAULT_BREAKDOWN


# --- validation --------------------------------------------------------------------------------


def _bad(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{path}: {message}", fields={path: message})


def steps_parse(*, workspace: Workspace, steps: Any) -> list[FunnelStep]:
    """The steps, checked; raises ValidationFailed naming the first bad path (`steps[2].event`)."""
    if not isinstance(steps, list):
        raise _bad("steps", "must be a list of steps")
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise _bad("steps", f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, not {len(steps)}")
    return [_step_parse(workspace, raw, f"steps[{index}]") for index, raw in enumerate(steps)]


def _step_parse(
    workspace: Workspace, raw: Any, path: str, extra: frozenset[str] = frozenset()
) -> FunnelStep:
    if not isinstance(raw, dict):
        raise _bad(path, 'must look like {"event": "Signed Up"} or {"page": "/pricing"}')
    kinds = [key for key in ("event", "page") if key in raw]
    if len(kinds) != 1:
        raise _bad(path, 'needs exactly one of "event" or "page"')
    kind = kinds[0]
    allowed = ({"event", "where"} if kind == "event" else {"page"}) | extra
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _bad(f"{path}.{unknown[0]}", f"unknown key '{unknown[0]}' in a {kind} step")
    value = raw[kind]
    limit = NAME_MAX if kind == "event" else PAGE_MAX
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        what = "an event name" if kind == "event" else "a part of the page URL"
        raise _bad(f"{path}.{kind}", f"must be {what} (1-{limit} characters)")
    value = value.strip()
    where = _where_parse(workspace, value, raw.get("where", []), path) if kind == "event" else ()
    normalized: dict[str, Any] = {kind: value}
    if raw.get("where"):
        normalized["where"] = raw["where"]
    return FunnelStep(kind, value, where, normalized)


def _where_parse(workspace: Workspace, event: str, where: Any, path: str) -> tuple[Any, ...]:
    """Property conditions in the segment filter language (same operators, same errors)."""
    from segments.selectors import FilterInvalid, event_property_conditions

    if where in ([], None):
        return ()
    if not isinstance(where, list):
        raise _bad(f"{path}.where", "must be a list of property conditions")
    try:
        return event_property_conditions(workspace=workspace, event=event, where=where)
    except FilterInvalid as invalid:
        key, message = next(iter(invalid.errors.items()))
        raise _bad(f"{path}.{key}" if key else f"{path}.where", message) from None


def _step_number(raw: Any, path: str, low: int, high: int, what: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
        raise _bad(path, f"must be a step number, {low} to {high} ({what})")
    number = int(str(raw).strip())
    if not low <= number <= high:
        raise _bad(path, f"must be a step number, {low} to {high} ({what}), not {number}")
    return number


def exclusions_parse(
    *, workspace: Workspace, exclusions: Any, steps: list[FunnelStep]
) -> list[Exclusion]:
    """Exclusions checked against the funnel's steps; errors name `exclusions[0].to_step`.

    `from_step` defaults to 1 and `to_step` to the last step: "between all steps"."""
    if exclusions in (None, []):
        return []
    if not isinstance(exclusions, list):
        raise _bad("exclusions", "must be a list of exclusions")
    if len(exclusions) > MAX_EXCLUSIONS:
        raise _bad(
            "exclusions", f"a funnel has at most {MAX_EXCLUSIONS} exclusions, not {len(exclusions)}"
        )
    last = len(steps)
    parsed = []
    for index, raw in enumerate(exclusions):
        path = f"exclusions[{index}]"
        step = _step_parse(workspace, raw, path, frozenset({"from_step", "to_step"}))
        start = _step_number(
            raw.get("from_step", 1), f"{path}.from_step", 1, last - 1, "the step it starts after"
        )
        stop = _step_number(
            raw.get("to_step", last),
            f"{path}.to_step",
            start + 1,
            last,
            f"a step after step {start}",
        )
        for number in range(start + 1, stop):
            if steps[number - 1] == step:
                raise _bad(
                    f"{path}.{step.kind}",
                    f"is step {number} of the funnel: excluding it between steps {start} and "
                    f"{stop} would leave out everyone who reaches step {number}",
                )
        parsed.append(Exclusion(step, start, stop))
    return parsed


def breakdown_parse(*, workspace: Workspace, breakdown: Any) -> Breakdown:
    """{"property": "plan"} (of the step-1 event; dots reach into objects), {"field":
    "country"} (a contact field or custom attribute), {"utm": "source"|"medium"|"campaign"};
    "top" (1-20) values are kept, the rest summed as "(other)". Nothing: the UTM source."""
    if breakdown in (None, {}):
        return DEFAULT_BREAKDOWN
    if not isinstance(breakdown, dict):
        raise _bad("breakdown", 'must look like {"property": "plan"} or {"field": "country"}')
    kinds = [key for key in ("utm", "property", "field") if key in breakdown]
    if len(kinds) != 1:
        raise _bad("breakdown", 'needs exactly one of "property", "field" or "utm"')
    kind = kinds[0]
    unknown = sorted(set(breakdown) - {kind, "top"})
    if unknown:
        raise _bad(f"breakdown.{unknown[0]}", f"unknown key '{unknown[0]}' in a breakdown")
    top = breakdown.get("top", DEFAULT_TOP)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise _bad("breakdown.top", f"must be a whole number of values from 1 to {MAX_TOP}")
    name = breakdown[kind]
    if not isinstance(name, str) or not name.strip() or len(name) > PROPERTY_MAX:
        raise _bad(f"breakdown.{kind}", f"must be a name (1-{PROPERTY_MAX} characters)")
    name = name.strip()
    if kind == "utm":
        if name not in UTM_PARTS:
            raise _bad("breakdown.utm", f"must be one of {', '.join(UTM_PARTS)}")
        return Breakdown("utm", name, top, None, f"UTM {name} of step 1")
    if kind == "property":
        return Breakdown("property", name, top, None, f"{name} (property of step 1)")
    return _field_breakdown(workspace, name, top)


def _field_breakdown(workspace: Workspace, name: str, top: int) -> Breakdown:
    from segments.selectors import filter_fields

    spec = filter_fields(workspace=workspace).get(name)
    if spec is None:
        raise _bad(
            "breakdown.field",
            f"unknown field '{name}': a contact field (country, lifecycle_stage …) "
            "or a custom attribute",
        )
    if str(spec.type) in _UNGROUPABLE:
        raise _bad(
            "breakdown.field",
            f"'{name}' is {_UNGROUPABLE[str(spec.type)]}: break down by a text, choice, "
            "number or yes/no field",
        )
    return Breakdown("field", name, top, spec.column, spec.label)


def definition_parse(
    *, workspace: Workspace, steps: Any, exclusions: Any = None, breakdown: Any = None
) -> FunnelDefinition:
    parsed = steps_parse(workspace=workspace, steps=steps)
    return FunnelDefinition(
        steps=parsed,
        exclusions=exclusions_parse(workspace=workspace, exclusions=exclusions, steps=parsed),
        breakdown=breakdown_parse(workspace=workspace, breakdown=breakdown),
    )


def window_parse(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise _bad("window_days", "must be a whole number of days") from None
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise _bad("window_days", f"must be from 1 to {MAX_WINDOW_DAYS} days")
    return days
