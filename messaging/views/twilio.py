"""Twilio webhooks: message status callbacks and inbound messages.

Every request must carry a valid X-Twilio-Signature (HMAC of the URL and parameters with the
auth token, checked by twilio's RequestValidator); anything else gets 403.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from workspaces.scoping import public_view

from ..services.sms_inbound import sms_inbound
from ..services.tracking import sms_status_apply
from ..tokens import MessageRef


def signature_valid(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not token or not signature:
        return False
    validator = RequestValidator(token)
    params = request.POST.dict()
    # The URL Twilio was configured with: as this request sees itself, or as SITE_URL says
    # (behind a proxy the two differ).
    urls = {request.build_absolute_uri(), f"{settings.SITE_URL}{request.get_full_path()}"}
    return any(validator.validate(url, params, signature) for url in urls)


def _forbidden() -> HttpResponse:
    return HttpResponse("Invalid Twilio signature.", status=403, content_type="text/plain")


@public_view(
    "Twilio status callback: authenticated by X-Twilio-Signature",
    # The callback URL we gave Twilio names the workspace; the signature covers the URL.
    workspace=lambda request, workspace_id, message_id: workspace_id,
)
@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest, workspace_id: int, message_id: int) -> HttpResponse:
    if not signature_valid(request):
        return _forbidden()
    sms_status_apply(
        ref=MessageRef(workspace_id, message_id),
        sid=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)


@public_view("Twilio inbound messages: authenticated by X-Twilio-Signature")
@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    if not signature_valid(request):
        return _forbidden()
    if not request.POST.get("From") or not request.POST.get("To"):
        return HttpResponse("From and To are required.", status=400, content_type="text/plain")
    result = sms_inbound(
        from_=request.POST.get("From", ""),
        to=request.POST.get("To", ""),
        body=request.POST.get("Body", ""),
    )
    twiml = MessagingResponse()
    if result.reply:
        twiml.message(result.reply)
    return HttpResponse(str(twiml), content_type="application/xml")
