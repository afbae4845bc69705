"""HTML pages of scoring (mounted at the site root)."""

from django.urls import path

from .views import leads, notifications, report, setup

app_name = "scoring"
urlpatterns = [
    # The sales rep's view
    path("leads/", leads.lead_list, name="leads"),
    path("leads/hot/", leads.hot_feed, name="hot"),
    path("leads/<int:contact_id>/", leads.lead_detail, name="lead"),
    path("leads/<int:contact_id>/accept/", leads.lead_accept, name="accept"),
    path("leads/<int:contact_id>/disqualify/", leads.lead_disqualify, name="disqualify"),
    path("leads/<int:contact_id>/log/", leads.lead_log, name="log"),
    path("leads/<int:contact_id>/won/", leads.lead_won, name="won"),
    path("leads/<int:contact_id>/assign/", leads.lead_assign, name="assign"),
    path("leads/<int:contact_id>/tasks/", leads.lead_task_create, name="task_create"),
    path(
        "leads/<int:contact_id>/tasks/<int:task_id>/done/", leads.lead_task_done, name="task_done"
    ),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/bell/", notifications.notification_bell, name="bell"),
    path("notifications/read/", notifications.notification_read, name="notifications_read"),
    # Setting scoring up
    path("scoring/models/", setup.model_list, name="models"),
    path("scoring/models/new/", setup.model_edit, name="model_create"),
    path("scoring/models/<int:model_id>/", setup.model_edit, name="model"),
    path("scoring/models/<int:model_id>/delete/", setup.model_delete, name="model_delete"),
    path("scoring/models/<int:model_id>/report/", report.validation_report_view, name="report"),
    path("scoring/models/<int:model_id>/rules/new/", setup.rule_edit, name="rule_create"),
    path("scoring/models/<int:model_id>/rules/<int:rule_id>/", setup.rule_edit, name="rule"),
    path(
        "scoring/models/<int:model_id>/rules/<int:rule_id>/history/",
        setup.rule_history,
        name="rule_history",
    ),
    path(
        "scoring/models/<int:model_id>/rules/<int:rule_id>/delete/",
        setup.rule_delete,
        name="rule_delete",
    ),
    path("scoring/routing/", setup.routing, name="routing"),
    path("scoring/routing/<int:rule_id>/delete/", setup.routing_rule_delete, name="routing_delete"),
    path("scoring/integrations/", setup.integrations, name="integrations"),
]
