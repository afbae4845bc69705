"""HTML pages of contacts (mounted at the site root)."""

from django.urls import path

from .views import contacts, data_issues, forms, imports

app_name = "contacts"
urlpatterns = [
    path("contacts/", contacts.contact_list, name="list"),
    path("contacts/export.csv", contacts.contact_export, name="export"),
    path("contacts/new/", contacts.contact_create, name="create"),
    path("contacts/<int:contact_id>/", contacts.contact_detail, name="detail"),
    path("contacts/<int:contact_id>/edit/", contacts.contact_edit, name="edit"),
    path("contacts/<int:contact_id>/delete/", contacts.contact_delete, name="delete"),
    path("contacts/<int:contact_id>/timeline/", contacts.contact_timeline, name="timeline"),
    path("contacts/<int:contact_id>/tags/", contacts.contact_tag_add, name="tag_add"),
    path("contacts/<int:contact_id>/tags/remove/", contacts.contact_tag_remove, name="tag_remove"),
    # CSV import: upload, mapping, progress, error report.
    path("contacts/import/", imports.import_list, name="imports"),
    path("contacts/import/<int:import_id>/", imports.import_detail, name="import_detail"),
    path(
        "contacts/import/<int:import_id>/progress/", imports.import_progress, name="import_progress"
    ),
    path("contacts/import/<int:import_id>/errors.csv", imports.import_errors, name="import_errors"),
    # What ingestion rejected or corrected (not under contacts/: its own sidebar entry).
    path("data-issues/", data_issues.data_issues, name="data_issues"),
    path(
        "data-issues/<int:issue_id>/clear/", data_issues.data_issue_clear, name="data_issue_clear"
    ),
    # Hosted forms: marketers' pages, and the public page visitors fill in.
    path("contacts/forms/", forms.form_list, name="forms"),
    path("contacts/forms/new/", forms.form_create, name="form_create"),
    path("contacts/forms/<int:form_id>/", forms.form_detail, name="form_detail"),
    path("contacts/forms/<int:form_id>/edit/", forms.form_edit, name="form_edit"),
    path("f/<uuid:public_id>/", forms.hosted_form, name="hosted_form"),
]
