"""Every periodic job Tendril runs, in one place.

Each entry says why it exists and carries an expiry so that a backlog of ticks
(beat running while workers are down) does not pile up work that is stale anyway.
Apps add their entries here rather than registering schedules of their own.
"""

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Housekeeping: drop expired, unaccepted invitations so their links stop working
    # and the members page stays short. Daily is plenty.
    "workspaces-invitations-expire": {
        "task": "workspaces.tasks.invitations_expire",
        "schedule": 24 * 60 * 60,
        "options": {"expires": 60 * 60},
    },
    # Scoring: recompute only the scores whose decay step / expiry / inactivity penalty is
    # due (ContactScore.valid_until <= now) — never a nightly rewrite. Every minute keeps
    # Contact.score (what segments read) within a minute of exact; reads correct themselves.
    "scoring-scores-refresh": {
        "task": "scoring.scores_refresh_all",
        "schedule": 60,
        "options": {"expires": 55},
    },
}
