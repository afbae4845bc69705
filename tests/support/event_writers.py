"""The event table has one writer: contacts/services/events.py (docs/architecture.md).

`only_the_events_service_inserts_events()` watches every statement the test's database
connection runs; an INSERT into the event table whose nearest project frame is an app module
other than the events service raises AssertionError naming that module. Tests and bench/
may seed events directly (they are not the application). tests/conftest.py applies it to
every test, so the whole suite's flows — ingestion, sends, scoring, segments, workflows —
are its representative flows.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
OWNER = "contacts/services/events.py"
# Whoever stands nearest to the statement in these may write events: the owner, and code
# that is not the application (tests seed rows, bench/ seeds its databases).
ALLOWED = (OWNER, "tests/", "bench/")
# Frames that only pass a statement on (the database backend's own wrappers, the tenant
# base model and manager): the writer is whoever called them.
PASS_THROUGH = ("workspaces/db/", "workspaces/models.py")
EVENT_INSERT = re.compile(r'INSERT\s+INTO\s+"?contacts_event"?[\s(]', re.IGNORECASE)
_HERE = str(Path(__file__).resolve())
_ROOT = str(ROOT) + "/"
_VENV = str(ROOT / ".venv") + "/"


def nearest_project_module() -> str | None:
    """The repository-relative path of the innermost calling frame that is project code
    (not a PASS_THROUGH module)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_ROOT) and filename != _HERE and not filename.startswith(_VENV):
            name = filename[len(_ROOT) :]
            if not name.startswith(PASS_THROUGH):
                return name
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _guard(execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any) -> Any:
    if isinstance(sql, str) and EVENT_INSERT.search(sql):
        writer = nearest_project_module()
        if writer is not None and not writer.startswith(ALLOWED):
            raise AssertionError(
                f"{writer} inserts into the event table; only {OWNER} may "
                "(call contacts.services.event_record / events_record)"
            )
    return execute(sql, params, many, context)


@contextmanager
def only_the_events_service_inserts_events(alias: str = "default") -> Iterator[None]:
    with connections[alias].execute_wrapper(_guard):
        yield
