"""Writes for contacts and events (HackSoft style: plain functions, keyword-only arguments).

- `events`: record one event, enqueue and run the events_ingested pipeline.
- `identity`: contact_upsert / contact_merge / contact_set_consent — who a call is about.
- `ingest`: the Segment-compatible bulk ingestion used by /v1/.

Importers use `from contacts.services import …`; every public name is re-exported here.
"""

from contacts.services.events import event_record, events_enqueue_processing, events_process
from contacts.services.identity import contact_set_consent, contact_upsert
from contacts.services.merge import contact_merge
from contacts.services.traits import (
    attribute_limit_message,
    attributes_admit,
    attributes_over_limit,
    attributes_register,
    email_normalize,
    phone_normalize,
)

__all__ = [
    "attribute_limit_message",
    "attributes_admit",
    "attributes_over_limit",
    "attributes_register",
    "contact_merge",
    "contact_set_consent",
    "contact_upsert",
    "email_normalize",
    "event_record",
    "events_enqueue_processing",
    "events_process",
    "phone_normalize",
]
