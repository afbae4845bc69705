"""Demo data for analytics (`make dev`): the rollups of the sample events, built at once
rather than by the first beat passes, and a funnel to look at."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Max, Min

from workspaces.models import Workspace

# In the sample data a sign-up is a contact's first event, so the funnel starts there (the
# old pricing → sign-up → order could never complete: "0 of 1,781").
DEMO_FUNNEL = [{"event": "Signed Up"}, {"page": "/pricing"}, {"event": "Order Completed"}]


def demo_seed(*, workspace: Workspace, contacts: int, stdout: Any) -> None:
    from contacts.models import Event

    from .funnels import funnel_save
    from .models import Funnel
    from .rollups import dirty_hours_mark, rollups_refresh

    span = Event.objects.for_workspace(workspace).aggregate(
        first=Min("timestamp"), last=Max("timestamp")
    )
    if span["first"] is not None:
        hours, at = [], span["first"]
        while at <= span["last"]:
            hours.append(at)
            at += timedelta(hours=1)
        dirty_hours_mark(workspace=workspace, timestamps=[*hours, span["last"]])
        result = rollups_refresh(limit=len(hours) + 1)
        stdout.write(f"  rollups of {result.hours:,} hours")
    if not Funnel.objects.for_workspace(workspace).exists():
        data = {"name": "Sign-up → pricing → order", "steps": DEMO_FUNNEL, "window_days": 30}
        funnel_save(workspace=workspace, user=None, data=data, instance=None)
