"""HTML pages of messaging (mounted at the site root).

- /messages/…          the Messages section (workspace members);
- /messaging/privacy/  privacy requests (export / erase a contact);
- /media/…             email images on the file system (public, unguessable names);
- /m/…                 public endpoints reached from emails and providers (signed tokens,
                       Twilio signatures, ESP webhooks through anymail).
"""

import re

from django.conf import settings
from django.urls import path, re_path

from . import esp
from .views import audience, broadcasts, deliverability, media, privacy, public, templates, twilio

app_name = "messaging"

urlpatterns = [
    # Templates
    path("messages/", templates.template_list, name="list"),
    path("messages/templates/create/", templates.template_choose, name="template_choose"),
    path("messages/templates/new/", templates.template_edit, name="template_new"),
    path(
        "messages/templates/new/blocks/", templates.template_new_blocks, name="template_new_blocks"
    ),
    path("messages/templates/preview/", templates.template_preview, name="template_preview"),
    path("messages/templates/<int:pk>/", templates.template_edit, name="template_edit"),
    path(
        "messages/templates/<int:pk>/test/", templates.template_test_send, name="template_test_send"
    ),
    path(
        "messages/templates/<int:pk>/archive/", templates.template_archive, name="template_archive"
    ),
    path(
        "messages/templates/<int:pk>/duplicate/",
        templates.template_duplicate,
        name="template_duplicate",
    ),
    path(
        "messages/templates/<int:pk>/versions/<int:version_pk>/",
        templates.template_version,
        name="template_version",
    ),
    path(
        "messages/templates/<int:pk>/versions/<int:version_pk>/restore/",
        templates.template_restore,
        name="template_restore",
    ),
    path("messages/layouts/new/", templates.layout_edit, name="layout_new"),
    path("messages/layouts/<int:pk>/", templates.layout_edit, name="layout_edit"),
    path("messages/sms/new/", templates.sms_template_edit, name="sms_template_new"),
    path("messages/sms/preview/", templates.sms_preview, name="sms_preview"),
    path("messages/sms/<int:pk>/", templates.sms_template_edit, name="sms_template_edit"),
    # Broadcasts
    path("messages/broadcasts/", broadcasts.broadcast_list, name="broadcast_list"),
    path("messages/broadcasts/new/", broadcasts.broadcast_edit, name="broadcast_new"),
    path("messages/broadcasts/sto/", broadcasts.sto_report_view, name="sto_report"),
    path("messages/broadcasts/audience/", broadcasts.broadcast_audience, name="broadcast_audience"),
    path("messages/broadcasts/<int:pk>/", broadcasts.broadcast_detail, name="broadcast_detail"),
    path("messages/broadcasts/<int:pk>/edit/", broadcasts.broadcast_edit, name="broadcast_edit"),
    path(
        "messages/broadcasts/<int:pk>/send/", broadcasts.broadcast_send_view, name="broadcast_send"
    ),
    path(
        "messages/broadcasts/<int:pk>/cancel/",
        broadcasts.broadcast_cancel_view,
        name="broadcast_cancel",
    ),
    # Audience and settings
    path("messages/suppressions/", audience.suppression_list, name="suppression_list"),
    path(
        "messages/suppressions/<int:pk>/delete/",
        audience.suppression_delete,
        name="suppression_delete",
    ),
    path("messages/topics/", audience.topic_list, name="topic_list"),
    path("messages/topics/<int:pk>/", audience.topic_edit, name="topic_edit"),
    path("messages/settings/", audience.settings_view, name="settings"),
    path("messages/settings/brand/", audience.brand_view, name="brand"),
    path(
        "messages/settings/esp-webhook/rotate/",
        audience.esp_webhook_rotate_view,
        name="esp_webhook_rotate",
    ),
    path("messages/deliverability/", deliverability.deliverability, name="deliverability"),
    path(
        "messages/deliverability/csv/",
        deliverability.deliverability_csv,
        name="deliverability_csv",
    ),
    path(
        "messages/deliverability/holds/<int:pk>/resume/",
        deliverability.sending_hold_resume,
        name="sending_hold_resume",
    ),
    path("messages/settings/resume/", audience.sending_resume_view, name="sending_resume"),
    # Privacy
    path("messaging/privacy/", privacy.privacy, name="privacy"),
    path("messaging/privacy/<int:pk>/", privacy.privacy_contact, name="privacy_contact"),
    path("messaging/privacy/<int:pk>/export/", privacy.privacy_export, name="privacy_export"),
    path("messaging/privacy/<int:pk>/erase/", privacy.privacy_erase, name="privacy_erase"),
    # Public: tracking, unsubscribe, preferences, confirmation.
    path("m/o/<str:token>.gif", public.open_pixel, name="open"),
    path("m/c/<str:token>", public.click, name="click"),
    path("m/s/<str:token>", public.short_link, name="short_link"),
    path("m/u/<str:token>", public.unsubscribe, name="unsubscribe"),
    path("m/p/<str:token>", public.preferences, name="preferences"),
    path("m/confirm/<str:token>", public.confirm, name="confirm"),
    # Providers
    path("m/twilio/inbound/", twilio.twilio_inbound, name="twilio_inbound"),
    path(
        "m/twilio/status/<int:workspace_id>/<int:message_id>/",
        twilio.twilio_status,
        name="twilio_status",
    ),
    *esp.webhook_urls(),
]
if settings.MEDIA_URL.startswith("/"):  # email images on the file system (else the bucket's URLs)
    urlpatterns.append(
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<name>.+)$",
            media.media_file,
            name="media_file",
        )
    )
