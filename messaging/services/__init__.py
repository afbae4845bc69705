"""Writes for messaging. Other apps import from here:

    from messaging.services import message_enqueue, template_render_preview

- `message_enqueue(...)`: the Message row (unique per source and contact) + send after commit.
- `messages_enqueue_many(...)`: the same for many recipients of one template, set-based.
- `template_render_preview(...)`: render a template for a contact without sending.
- `double_opt_in_request(...)`: ask a contact to confirm their subscription.
"""

from .audience import (
    consent_change,
    contact_resubscribe,
    contact_unsubscribe,
    double_opt_in_confirm,
    double_opt_in_request,
    suppression_add,
    suppression_remove,
    topic_preferences_set,
)
from .config import (
    esp_webhook_secret_matches,
    esp_webhook_secret_rotate,
    messaging_settings,
    messaging_settings_update,
    sending_pause,
    sending_resume,
    topic_default,
    topic_save,
)
from .deliverability import deliverability_sweep, sending_hold_release
from .enqueue import Enqueued, MessageSpec, message_enqueue, messages_enqueue_many
from .preview import template_render_preview
from .sending import messages_send, test_send
from .templates import (
    EmailContent,
    block_templates_rebrand,
    email_template_restore,
    email_template_save,
    layout_save,
    sms_template_save,
)

__all__ = [
    "Enqueued",
    "MessageSpec",
    "EmailContent",
    "block_templates_rebrand",
    "consent_change",
    "deliverability_sweep",
    "contact_resubscribe",
    "contact_unsubscribe",
    "double_opt_in_confirm",
    "double_opt_in_request",
    "email_template_restore",
    "email_template_save",
    "layout_save",
    "message_enqueue",
    "messages_enqueue_many",
    "messages_send",
    "esp_webhook_secret_matches",
    "esp_webhook_secret_rotate",
    "messaging_settings",
    "messaging_settings_update",
    "sending_hold_release",
    "sending_pause",
    "sending_resume",
    "sms_template_save",
    "suppression_add",
    "suppression_remove",
    "template_render_preview",
    "test_send",
    "topic_default",
    "topic_preferences_set",
    "topic_save",
]
