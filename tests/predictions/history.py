"""Generated histories for the prediction tests: a planted signal, or pure noise.

Every contact browses (Home, Blog) and opens emails at random, and carries a rule-based
lead score (score.changed events) that follows that noise. With `signal`, a third of the
contacts have a moment of intent: in the two weeks before it they visit Pricing a few times, and
within a few days after it most of them complete an order. Others order rarely, at random.
Without `signal`, orders fall at random on everyone and Pricing visits tell nothing.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from contacts.models import Contact
from contacts.services import NewEvent, events_record
from workspaces.models import Workspace

DAYS = 100


def history(
    workspace: Workspace,
    *,
    contacts: int = 2500,
    signal: bool = True,
    now: datetime,
    seed: int = 7,
    goal: str = "Order Completed",
) -> list[Contact]:
    rng = random.Random(seed)
    start = now - timedelta(days=DAYS)
    people = Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                email=f"p{seed}-{i}@example.test",
                country=rng.choice(["DE", "FR", "US"]),
                attributes={"plan": rng.choice(["free", "pro"])},
                created_at=start - timedelta(days=rng.uniform(0, 30)),
            )
            for i in range(contacts)
        ]
    )
    events: list[NewEvent] = []

    def add(contact: Contact, name: str, at: datetime, kind: str = "track", **props: object):
        if at < now:
            events.append(
                NewEvent(contact.pk, name, dict(props), f"h{seed}-{len(events)}", at, kind)
            )

    def some_time() -> datetime:
        return start + timedelta(seconds=rng.uniform(0, DAYS * 86400))

    for contact in people:
        noise = rng.randint(2, 12)
        for _ in range(noise):
            add(contact, rng.choice(["Home", "Blog"]), some_time(), "page")
        for _ in range(rng.randint(0, 4)):
            add(contact, "email.opened", some_time())
        # the rule score follows the browsing noise, not the intent
        score_at = some_time()
        add(contact, "score.changed", score_at, primary=True, to=noise * 5 + rng.randint(0, 10))
        if signal:
            if rng.random() < 0.33:
                moment = some_time()
                for _ in range(rng.randint(2, 5)):
                    add(contact, "Pricing", moment - timedelta(days=rng.uniform(0, 14)), "page")
                if rng.random() < 0.8:
                    add(contact, goal, moment + timedelta(days=rng.uniform(0, 3)), revenue=50)
            elif rng.random() < 0.03:
                add(contact, goal, some_time(), revenue=20)
        else:
            for _ in range(rng.randint(0, 2)):
                add(contact, "Pricing", some_time(), "page")
            if rng.random() < 0.6:
                add(contact, goal, some_time(), revenue=20)
    for i in range(0, len(events), 5000):
        events_record(workspace=workspace, events=events[i : i + 5000], source="import")
    return people


def churn_history(
    workspace: Workspace, *, contacts: int = 1500, now: datetime, seed: int = 9
) -> list[Contact]:
    """Repeat customers: each orders every 5–9 days and browses, until a moment of its own
    (some before the cut-offs, some after, some after now) from which it does nothing."""
    rng = random.Random(seed)
    start = now - timedelta(days=DAYS)
    people = Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                email=f"c{seed}-{i}@example.test",
                created_at=start - timedelta(days=10),
            )
            for i in range(contacts)
        ]
    )
    events: list[NewEvent] = []
    for contact in people:
        stop = start + timedelta(days=rng.uniform(20, DAYS + 60))
        at = start + timedelta(days=rng.uniform(0, 5))
        while at < min(stop, now):
            events.append(
                NewEvent(
                    contact.pk, "Order Completed", {"revenue": 30}, f"c{seed}-{len(events)}", at
                )
            )
            for _ in range(rng.randint(0, 3)):
                seen = at + timedelta(days=rng.uniform(0, 5))
                if seen < min(stop, now):
                    events.append(
                        NewEvent(contact.pk, "Home", {}, f"c{seed}-{len(events)}", seen, "page")
                    )
            at += timedelta(days=rng.uniform(5, 9))
    for i in range(0, len(events), 5000):
        events_record(workspace=workspace, events=events[i : i + 5000], source="import")
    return people
