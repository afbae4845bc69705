from django.urls import path

from . import views

urlpatterns = [
    path("settings/webhooks/", views.webhooks, name="webhooks"),
    path(
        "settings/webhooks/deliveries/<int:delivery_id>/replay/",
        views.delivery_replay,
        name="webhook_delivery_replay",
    ),
    path(
        "settings/webhooks/endpoints/<int:endpoint_id>/enable/",
        views.endpoint_enable,
        name="webhook_endpoint_enable",
    ),
]
