"""Demo data for messaging (`make dev`): sending settings with a postal address (no marketing
email goes out without one), so the demo's workflows and broadcasts can send."""

from __future__ import annotations

from typing import Any

from workspaces.models import Workspace


def demo_seed(*, workspace: Workspace, contacts: int, stdout: Any) -> None:
    from .services.config import messaging_settings_update

    messaging_settings_update(
        workspace=workspace,
        physical_address="Demo Shop · 1 Example Street · Springfield 12345",
        from_name="Demo Shop",
        from_email="hello@demo-shop.test",
    )
    stdout.write("  sending settings (postal address, sender)")
