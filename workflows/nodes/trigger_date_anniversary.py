"""trigger.date_anniversary — every year on a date attribute's anniversary, at a local time.

Not event-driven: the periodic anniversary sweep (workflows.runs.enrolment.anniversaries_enrol)
enrols contacts whose date comes round, at `at` in the contact's own timezone, once a year.
"""

from .base import HHMM, trigger_node
from .checks import config_filter

NODE = trigger_node(
    "trigger.date_anniversary",
    "Date anniversary",
    "Enrols a contact every year on the anniversary of a date attribute (birthday, renewal) "
    "at a time of day in the contact's timezone. `offset_days` moves it earlier (negative) "
    "or later (positive).",
    {
        "attribute": {"type": "string", "minLength": 1},
        "at": {**HHMM, "default": "09:00"},
        "offset_days": {"type": "integer", "minimum": -60, "maximum": 60, "default": 0},
    },
    ["attribute"],
    check=config_filter,
)
