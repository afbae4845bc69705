"""Every API error, whatever raised it, leaves as `{"error": {"code", "message", "fields"}}`."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from workspaces.errors import TendrilError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _first_message(fields: dict[str, Any], path: str = "") -> str:
    for key, value in fields.items():
        where = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict):
            return _first_message(value, where)
        if isinstance(value, list) and value:
            first = value[0]
            if isinstance(first, dict):
                return _first_message(first, where)
            return f"{where}: {first}"
        return f"{where}: {value}"
    return "Invalid input."


def json_error_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, TendrilError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, OperationalError):
        # The database could not finish (its connection broke — a restart, a failover, a
        # terminated backend — or a deadlock, a statement timeout): the transaction was rolled
        # back and a retry is safe (/v1/ deduplicates by messageId, the API honours
        # Idempotency-Key). Segment's libraries retry a 503 after Retry-After; the next
        # request gets a new, checked connection.
        logger.error("database error during %s", context.get("view"), exc_info=exc)
        return Response(
            error_body("unavailable", "The database could not complete the request; retry it."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = _flatten(detail)
            non_field = fields.pop("non_field_errors", None)
            message = str(non_field[0]) if non_field else _first_message(fields)
        else:
            fields = {}
            items = _flatten(detail)
            message = items[0] if isinstance(items, list) and items else str(items)
        response.data = error_body("validation_error", message, fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        response.data = error_body(str(code), str(detail))
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", f"No such endpoint: {request.path}"), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", "Something went wrong on our side; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
