from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from workspaces.roles import Capability


class HasWorkspace(BasePermission):
    """The request was authenticated into a workspace, and the key may do what it asks.

    Views name what writes need with `write_capability` (default EDIT_CONTACTS), what
    reads need with `read_capability` (default VIEW), and may ask more of DELETE with
    `delete_capability` (default: the write capability).
    """

    message = "Authentication with a workspace key is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or getattr(request, "workspace", None) is None:
            return False
        write = getattr(view, "write_capability", Capability.EDIT_CONTACTS)
        needed = (
            getattr(view, "read_capability", Capability.VIEW)
            if request.method in SAFE_METHODS
            else getattr(view, "delete_capability", write)
            if request.method == "DELETE"
            else write
        )
        can = getattr(user, "can", None)
        if can is None or not can(needed):
            self.message = f"This key may not do that (needs '{needed}')."
            return False
        return True
