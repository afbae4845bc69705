"""HTML pages of predictions (mounted at the site root)."""

from django.urls import path

from . import views

app_name = "predictions"
urlpatterns = [
    path("predictions/", views.prediction_list, name="list"),
    path("predictions/<int:model_id>/", views.prediction_detail, name="detail"),
    path("predictions/<int:model_id>/train/", views.prediction_train, name="train"),
    path("predictions/<int:model_id>/progress/", views.prediction_progress, name="progress"),
    path("predictions/<int:model_id>/delete/", views.prediction_delete, name="delete"),
    path(
        "predictions/contacts/<int:contact_id>/",
        views.contact_predictions,
        name="contact_predictions",
    ),
]
