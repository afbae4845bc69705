"""trigger.api — enrolled by POST /api/v1/workflows/{id}/enroll (contact id or email)."""

from .base import trigger_node
from .checks import config_filter

NODE = trigger_node(
    "trigger.api",
    "Enrolled by API",
    "Enrols the contacts named by POST /api/v1/workflows/{id}/enroll (contact id or email); "
    "the request's `properties` are available to the run as the trigger's data.",
    {},
    check=config_filter,
)
