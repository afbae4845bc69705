"""HTML pages of commerce (mounted at the site root)."""

from django.urls import path

from . import views

app_name = "commerce"
urlpatterns = [
    path("products/", views.catalogue, name="catalogue"),
    path("products/<int:product_id>/", views.product_detail, name="product"),
    path("products/imports/<int:import_id>/", views.import_detail, name="import_detail"),
    path("products/run/", views.run_start, name="run"),
    path("products/contact/<int:contact_id>/", views.contact_panel, name="contact_panel"),
]
