"""Funnel reports: how many contacts take a list of steps, in order, within a window.

    steps_parse(workspace=ws, steps=[{"event": "Signed Up"}, {"page": "/pricing"}])
    exclusions_parse(workspace=ws, exclusions=[{"event": "Demo Booked", "from_step": 1,
                     "to_step": 3}], steps=parsed_steps)
    breakdown_parse(workspace=ws, breakdown={"property": "plan", "top": 10})
    funnel_compute(workspace=ws, steps=..., window_days=30, start=..., end=...,
                   exclusions=..., breakdown=...)
    funnel_save(workspace=ws, user=u, data={...}, instance=None) / funnel_delete(...)

Semantics (docs/funnels.md): a contact enters on their first step-1 event in [start, end);
each later step is the earliest matching event strictly after the previous step's event and
no later than `window_days` after the step-1 event. Taking the earliest match at every step
never loses a contact who could complete the funnel some other way, so the counts equal
"did the steps in this order within the window".

An exclusion removes from the whole funnel (every step, the first included) a contact who did
the excluded event after their step `from_step` and before their step `to_step` — or, when
they never reached `to_step`, before their window closed (PostHog's and Mixpanel's meaning).
A breakdown splits each step's contacts by one value of the entering contact: a property of
their step-1 event, a contact field or custom attribute, or (by default) the UTM source.
"""

from .compute import (
    ALL_VALUES,
    TABLE_HEADER,
    BreakdownRow,
    FunnelResult,
    FunnelTooSlow,
    StepResult,
    duration_text,
    funnel_compute,
    funnel_table,
)
from .definition import (
    DEFAULT_TOP,
    MAX_EXCLUSIONS,
    MAX_STEPS,
    MAX_TOP,
    MAX_WINDOW_DAYS,
    MIN_STEPS,
    NAME_MAX,
    NO_VALUE,
    OTHER_VALUES,
    PAGE_MAX,
    PROPERTY_MAX,
    UTM_PARTS,
    Breakdown,
    Exclusion,
    FunnelDefinition,
    FunnelStep,
    breakdown_parse,
    definition_parse,
    exclusions_parse,
    steps_parse,
    window_parse,
)
from .saved import (
    funnel_definition,
    funnel_delete,
    funnel_first,
    funnel_get,
    funnel_list,
    funnel_save,
)

__all__ = [
    "ALL_VALUES",
    "DEFAULT_TOP",
    "MAX_EXCLUSIONS",
    "MAX_STEPS",
    "MAX_TOP",
    "MAX_WINDOW_DAYS",
    "MIN_STEPS",
    "NAME_MAX",
    "NO_VALUE",
    "OTHER_VALUES",
    "PAGE_MAX",
    "PROPERTY_MAX",
    "TABLE_HEADER",
    "UTM_PARTS",
    "Breakdown",
    "BreakdownRow",
    "Exclusion",
    "FunnelDefinition",
    "FunnelResult",
    "FunnelStep",
    "FunnelTooSlow",
    "StepResult",
    "breakdown_parse",
    "definition_parse",
    "duration_text",
    "exclusions_parse",
    "funnel_compute",
    "funnel_definition",
    "funnel_delete",
    "funnel_first",
    "funnel_get",
    "funnel_list",
    "funnel_save",
    "funnel_table",
    "steps_parse",
    "window_parse",
]
