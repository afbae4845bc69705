"""action.sms — send an SMS from a template (messaging), once per run and node."""

from .messages import message_node

NODE = message_node(
    "sms",
    "Send SMS",
    "Queues the template's SMS to the contact's phone. Honours the send window, the daily "
    "cap and the contact's SMS consent.",
)
