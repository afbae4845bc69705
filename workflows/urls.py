"""HTML pages of workflows (mounted at the site root)."""

from django.urls import path

from . import views

app_name = "workflows"
urlpatterns = [
    path("workflows/", views.workflow_list, name="list"),
    path("workflows/import/", views.workflow_import, name="import"),
    path("workflows/<int:workflow_id>/", views.workflow_detail, name="detail"),
    path("workflows/<int:workflow_id>/builder/", views.workflow_builder, name="builder"),
    path("workflows/<int:workflow_id>/<str:action>/", views.workflow_action, name="action"),
    path("workflows/runs/<int:run_id>/", views.run_detail, name="run"),
    path(
        "workflows/contact/<int:contact_id>/activity/",
        views.contact_activity,
        name="contact_activity",
    ),
]
