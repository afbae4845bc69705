"""HTML pages of segments (mounted at the site root)."""

from django.urls import path

from . import views

app_name = "segments"
urlpatterns = [
    path("segments/", views.segment_list, name="list"),
    path("segments/new/", views.segment_create, name="create"),
    path("segments/<int:segment_id>/", views.segment_detail, name="detail"),
    path("segments/<int:segment_id>/edit/", views.segment_edit, name="edit"),
    path("segments/<int:segment_id>/status/", views.segment_status, name="status"),
    path("segments/<int:segment_id>/recompute/", views.segment_recompute, name="recompute"),
    path("segments/<int:segment_id>/delete/", views.segment_delete, name="delete"),
    path("segments/<int:segment_id>/members/add/", views.members_add, name="members_add"),
    path("segments/<int:segment_id>/members/remove/", views.members_remove, name="members_remove"),
    path("segments/<int:segment_id>/members/import/", views.members_import, name="members_import"),
    path("segments/contact/<int:contact_id>/lists/", views.contact_lists, name="contact_lists"),
]
