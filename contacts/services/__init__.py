"""Writes for contacts and events (HackSoft style: plain functions, keyword-only arguments).

- `events`: the one writer of the event table — `event_record` (one), `events_record`
  (many, idempotent on the message id) — and enqueueing/running the events_ingested pipeline.
- `identity`: contact_upsert / contact_merge / contact_set_consent — who a call is about.
- `ingest`: the Segment-compatible bulk ingestion used by /v1/.

Importers use `from contacts.services import …`; every public name is re-exported here.
"""

from contacts.services.events import (
    NewEvent,
    event_record,
    events_enqueue_processing,
    events_insert_ctes,
    events_process,
    events_record,
    events_statement_execute,
)
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
    "NewEvent",
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
    "events_insert_ctes",
    "events_process",
    "events_record",
    "events_statement_execute",
    "phone_normalize",
]
