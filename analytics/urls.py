"""HTML pages of analytics (mounted at the site root; the app chooses its own prefixes).

Attribution and funnels keep their routes in their own modules, under this namespace."""

from django.urls import include, path

from . import urls_attribution, urls_funnels
from .views import dashboard, messages

app_name = "analytics"
urlpatterns = [
    path("analytics/", dashboard.dashboard, name="dashboard"),
    path("analytics/panels/<slug:name>/", dashboard.dashboard_panel, name="panel"),
    path("analytics/export/<slug:name>.csv", dashboard.panel_export, name="export"),
    path(
        "analytics/workflows/<int:pk>/holdout/",
        dashboard.workflow_holdout,
        name="workflow_holdout",
    ),
    path(
        "analytics/messages/<str:kind>/<int:pk>/",
        messages.message_stats,
        name="message_stats",
    ),
    path(
        "analytics/messages/<str:kind>/<int:pk>/csv/",
        messages.message_stats_csv,
        name="message_stats_csv",
    ),
    path("analytics/control-group/", dashboard.control_group, name="control_group"),
    path("", include(urls_attribution.urlpatterns)),
    path("", include(urls_funnels.urlpatterns)),
]
