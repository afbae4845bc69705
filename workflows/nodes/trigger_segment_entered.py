"""trigger.segment_entered — a contact entered a segment."""

from .. import integrations
from .base import ID, same_id, trigger_node
from .checks import filter_and_segment

NODE = trigger_node(
    "trigger.segment_entered",
    "Entered a segment",
    "Enrols a contact when they enter the segment.",
    {"segment": ID},
    ["segment"],
    keys=lambda config: [integrations.SEGMENT_ENTERED],
    match=lambda config, event, changed, contact: (
        event is not None and same_id(integrations.segment_id_of(event), config["segment"])
    ),
    check=filter_and_segment,
)
