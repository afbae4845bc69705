"""trigger.form_submitted — a contact submitted a form (any, or the one given)."""

from .. import integrations
from .base import ID, same_id, trigger_node
from .checks import config_filter

NODE = trigger_node(
    "trigger.form_submitted",
    "Form submitted",
    "Enrols a contact when they submit a form (any form, or the one given).",
    {"form": ID},
    keys=lambda config: [integrations.FORM_SUBMITTED],
    match=lambda config, event, changed, contact: (
        event is not None
        and ("form" not in config or same_id(integrations.form_id_of(event), config["form"]))
    ),
    check=config_filter,
)
