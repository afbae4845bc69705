"""action.email — send an email from a template (messaging), once per run and node."""

from .messages import message_node

NODE = message_node(
    "email",
    "Send email",
    "Queues the template's email to the contact. Honours the workflow's send window and "
    "daily cap (the contact waits for the window), and the contact's consent.",
)
