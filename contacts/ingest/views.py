"""Segment's HTTP Tracking API: POST /v1/identify|track|page|screen|group|alias|batch.

Unmodified Segment and RudderStack libraries work against these (they post gzip'd or plain
JSON to /v1/batch with the write key as the HTTP Basic username). The browser snippet
posts text/plain JSON with `writeKey` in the body. Every response carries CORS headers
for the calling origin; OPTIONS answers the preflight. See docs/ingestion.md.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.ingest.auth import IngestionKeyAuthentication
from contacts.ingest.parsing import (
    BATCH_LIMIT,
    CALL_LIMIT,
    Correction,
    Message,
    Rejected,
    parse_batch,
    parse_call,
    read_body,
    too_large,
)
from contacts.models import DataIssue
from contacts.services.data_issues import Issue, data_issues_record
from contacts.services.ingest import ingest_messages
from workspaces.api.base import WorkspaceAPIView
from workspaces.client_ip import client_ip
from workspaces.errors import ValidationFailed

SNIPPET_LIBRARY = "tendril.js"
CORS_MAX_AGE = "86400"


class HasIngestionKey(BasePermission):
    message = "Send your write key as the HTTP Basic username (or `writeKey` in the body)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.user is not None and getattr(request, "workspace", None) is not None


def cors_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Let any site post events: the write key, not the origin, is the credential.

    Never `Allow-Credentials`: a browser's cookies for this host must not ride along.
    """
    origin = request.META.get("HTTP_ORIGIN")
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    return response


def cors_preflight(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = request.META.get(
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
        "Authorization, Content-Type, Content-Encoding",
    )
    response["Access-Control-Max-Age"] = CORS_MAX_AGE
    return cors_headers(request, response)


class _IngestView(WorkspaceAPIView):
    authentication_classes = [IngestionKeyAuthentication]
    permission_classes = [HasIngestionKey]
    object_bodies = False  # the body is read (gzip, size limits) by _read_payload
    limit: ClassVar[int] = CALL_LIMIT
    what: ClassVar[str] = "a call"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            # The preflight carries no credentials and touches no data.
            return cors_preflight(request)
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.received_at = timezone.now()
        if request.META.get("HTTP_AUTHORIZATION"):
            super().initial(request, *args, **kwargs)  # a bad key is a 401 before anything
            self.payload = self._read_payload(request)
        else:
            self.payload = self._read_payload(request)  # the key may be in the body
            request._request.tendril_payload = self.payload  # type: ignore[attr-defined]
            super().initial(request, *args, **kwargs)

    def _read_payload(self, request: Request) -> Any:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > self.limit:
            raise too_large(self.what, self.limit)
        return read_body(
            raw=request._request.body,
            encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
            limit=self.limit,
            what=self.what,
        )

    def permission_denied(
        self, request: Request, message: str | None = None, code: Any = None
    ) -> None:
        if request.user is None:
            raise exceptions.NotAuthenticated(HasIngestionKey.message)
        super().permission_denied(request, message, code)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ValidationFailed) and getattr(self.request, "workspace", None):
            self._report_refusal(exc)
        response = super().handle_exception(exc)
        error = response.data.get("error") if isinstance(response.data, dict) else None
        if isinstance(error, dict):
            # Segment's libraries read `code` and `message` at the top level.
            response.data["code"] = error.get("code")
            response.data["message"] = error.get("message")
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        return cors_headers(request._request if isinstance(request, Request) else request, response)

    def _report_refusal(self, exc: ValidationFailed) -> None:
        """A refused request (after authentication) counts on the data issues page."""
        if isinstance(exc, _BatchRejected):
            issues = [_rejected_issue(r) for r in exc.rejected]
        else:
            field = next(iter(exc.fields), "body")
            kind = getattr(exc, "kind", None) or exc.code.replace("validation_error", "invalid")
            issues = [Issue(kind=kind, field=field, message=str(exc.fields.get(field, exc)))]
        self._report(issues)

    def _report(self, issues: list[Issue]) -> None:
        if issues:
            data_issues_record(
                workspace=self.workspace,
                issues=issues,
                source=getattr(self, "source", "api"),
                at=self.received_at,
            )

    def _enrich(self, messages: list[Message]) -> str:
        """Fill context.ip from the connection (as Segment does); tell the snippet apart."""
        ip = client_ip(self.request)
        source = "api"
        for message in messages:
            if "ip" not in message.context and ip:
                message.context["ip"] = ip
            library = message.context.get("library")
            if isinstance(library, dict) and library.get("name") == SNIPPET_LIBRARY:
                source = "snippet"
        self.source = source
        return source


class SingleCallView(_IngestView):
    """POST /v1/<type>: one message; a bad one is a 400 naming the field, nothing stored."""

    type: ClassVar[str] = ""

    def post(self, request: Request) -> Response:
        message = parse_call(self.payload, type=self.type, received_at=self.received_at)
        source = self._enrich([message])
        result = ingest_messages(
            workspace=self.workspace,
            messages=[message],
            source=source,
            received_at=self.received_at,
            all_or_nothing=True,
        )
        body: dict[str, Any] = {"success": True}
        if result.corrections:
            # Segment's libraries read only `success`; the rest is for whoever looks.
            body["warnings"] = [c.as_dict(batch=False) for c in result.corrections]
            self._report([_correction_issue(c) for c in result.corrections])
        return Response(body)


class BatchView(_IngestView):
    """POST /v1/batch: the good messages are stored, the bad ones reported by index."""

    limit = BATCH_LIMIT
    what = "a batch"

    def post(self, request: Request) -> Response:
        messages, rejected = parse_batch(
            self.payload,
            received_at=self.received_at,
            check_sizes=len(request._request.body) > CALL_LIMIT,
        )
        source = self._enrich(messages)
        result = ingest_messages(
            workspace=self.workspace,
            messages=messages,
            source=source,
            received_at=self.received_at,
            field_prefix="batch",
        )
        total = len(messages) + len(rejected)
        rejected = sorted([*rejected, *result.rejected], key=lambda r: r.index)
        if rejected and len(rejected) == total:
            first = rejected[0]
            error = ValidationFailed(
                f"{first.field}: {first.message}",
                fields={r.field: r.message for r in rejected},
            )
            body = error.as_dict()
            body["error"]["rejected"] = [r.as_dict() for r in rejected]
            raise _BatchRejected(body, rejected)
        body = {
            "success": True,
            "stored": result.stored,
            "duplicates": result.duplicates,
            "rejected": [r.as_dict() for r in rejected],
        }
        if result.corrections:
            body["warnings"] = [c.as_dict(batch=True) for c in result.corrections]
        self._report(
            [_rejected_issue(r) for r in rejected]
            + [_correction_issue(c) for c in result.corrections]
        )
        return Response(body)


def _rejected_issue(rejected: Rejected) -> Issue:
    return Issue(kind=rejected.kind, field=rejected.field, message=rejected.message)


def _correction_issue(correction: Correction) -> Issue:
    return Issue(
        kind=correction.kind,
        field=correction.field,
        message=correction.message,
        action=DataIssue.Action.CORRECTED,
        value=correction.value,
    )


class _BatchRejected(ValidationFailed):
    def __init__(self, body: dict[str, Any], rejected: list[Rejected]):
        error = body["error"]
        super().__init__(error["message"], fields=error["fields"])
        self.body = body
        self.rejected = rejected

    def as_dict(self) -> dict[str, Any]:
        return self.body


def single_call_view(kind: str) -> Any:
    view = type(f"{kind.title()}View", (SingleCallView,), {"type": kind})
    return view.as_view()
