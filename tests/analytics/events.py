"""Events written straight into the stream for analytics tests (ingestion is tested in
tests/contacts); each call marks the hours it touched, as the pipeline would."""

from datetime import datetime

from analytics.rollups import dirty_hours_mark
from contacts.models import Event

_serial = iter(range(10**9))


def events_add(ws, contact, name, at: datetime, *, count=1, type="track", mark=True, **properties):
    events = Event.objects.bulk_create(
        Event(
            workspace=ws,
            contact=contact,
            type=type,
            name=name,
            properties=properties,
            timestamp=at,
            message_id=f"test-{next(_serial)}",
        )
        for _ in range(count)
    )
    if mark:  # what the pipeline does (tests of the pipeline itself pass mark=False)
        dirty_hours_mark(workspace=ws, timestamps=[at])
    return events
