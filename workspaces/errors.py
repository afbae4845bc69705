"""Tendril's one error hierarchy. Services raise these; every interface renders them the same way.

API: `{"error": {"code", "message", "fields"}}` with the status below.
HTML: the view catches them and shows the message inline next to the field.
"""

from __future__ import annotations

from typing import Any


class TendrilError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, fields: dict[str, Any] | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationFailed(TendrilError):
    status = 400
    code = "validation_error"


class NotFound(TendrilError):
    status = 404
    code = "not_found"


class Conflict(TendrilError):
    status = 409
    code = "conflict"


class Forbidden(TendrilError):
    status = 403
    code = "forbidden"
