"""trigger.segment_snapshot — everyone in a segment now, once, when the workflow is activated."""

from .base import ID, trigger_node
from .checks import filter_and_segment

NODE = trigger_node(
    "trigger.segment_snapshot",
    "Everyone in a segment now",
    "Enrols every member of the segment once, when the workflow is first activated.",
    {"segment": ID},
    ["segment"],
    check=filter_and_segment,
)
