"""What a template may refer to: the variable schema checked at save time."""

from __future__ import annotations

CONTACT_FIELDS = frozenset(
    {
        "id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "full_name",
        "company",
        "job_title",
        "country",
        "city",
        "timezone",
        "lifecycle_stage",
        "score",
        "tags",
        "attributes",
        "created_at",
        "last_seen_at",
    }
)
# Contact fields are also available at the top level: {{ first_name|default("there") }}.
CONTACT_SHORTCUTS = frozenset(
    {"email", "phone", "first_name", "last_name", "full_name", "company", "job_title", "city"}
)
WORKSPACE_FIELDS = frozenset({"name", "physical_address"})
EVENT_FIELDS = frozenset({"name", "properties", "timestamp"})
MESSAGE_FIELDS = frozenset({"id", "subject", "channel"})

TOP_LEVEL = (
    frozenset(
        {
            "contact",
            "attributes",
            "event",
            "workspace",
            "message",
            "unsubscribe_url",
            "preferences_url",
            "in_segment",
            "recommendations",  # commerce: the contact's recommended products, best first
        }
    )
    | CONTACT_SHORTCUTS
)
# Objects whose first-level attributes are fixed (attributes.* and event.properties.* are free).
FIXED_ATTRIBUTES = {
    "contact": CONTACT_FIELDS,
    "workspace": WORKSPACE_FIELDS,
    "event": EVENT_FIELDS,
    "message": MESSAGE_FIELDS,
}
LAYOUT_EXTRA = frozenset({"content"})
