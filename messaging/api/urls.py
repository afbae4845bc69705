"""Management API routes of messaging, mounted under /api/v1/ (all under messaging/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import assets, views
from .settings import MessagingSettingsView

router = SimpleRouter()
router.register("messaging/email-templates", views.EmailTemplateViewSet, basename="email-template")
router.register("messaging/sms-templates", views.SmsTemplateViewSet, basename="sms-template")
router.register("messaging/layouts", views.LayoutViewSet, basename="layout")
router.register("messaging/topics", views.TopicViewSet, basename="topic")
router.register("messaging/suppressions", views.SuppressionViewSet, basename="suppression")
router.register("messaging/messages", views.MessageViewSet, basename="message")
router.register("messaging/broadcasts", views.BroadcastViewSet, basename="broadcast")

urlpatterns = [
    # Before the router's email-templates/{id}/ (which would read "check" as an id).
    path(
        "messaging/email-templates/check/",
        assets.EmailCheckView.as_view(),
        name="messaging_email_check",
    ),
    path(
        "messaging/email-templates/<int:pk>/duplicate/",
        assets.EmailTemplateDuplicateView.as_view(),
        name="messaging_email_template_duplicate",
    ),
    path("messaging/media/", assets.MediaView.as_view(), name="messaging_media"),
    path("messaging/brand/", assets.BrandView.as_view(), name="messaging_brand"),
    path(
        "messaging/saved-blocks/", assets.SavedBlocksView.as_view(), name="messaging_saved_blocks"
    ),
    path(
        "messaging/saved-blocks/<int:pk>/",
        assets.SavedBlockDetailView.as_view(),
        name="messaging_saved_block",
    ),
    path(
        "messaging/starter-templates/",
        assets.StarterTemplatesView.as_view(),
        name="messaging_starter_templates",
    ),
    path("messaging/settings/", MessagingSettingsView.as_view(), name="messaging_settings"),
    path(
        "messaging/privacy/contacts/<int:contact_id>/export/",
        views.PrivacyExportView.as_view(),
        name="messaging_privacy_export",
    ),
    path(
        "messaging/privacy/contacts/<int:contact_id>/erase/",
        views.PrivacyEraseView.as_view(),
        name="messaging_privacy_erase",
    ),
    *router.urls,
]
