"""Management API routes of scoring, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .integrations import IntegrationSettingsView
from .views import ContactScoreView, LeadViewSet, ScoringModelViewSet, ScoringRuleViewSet

router = SimpleRouter()
router.register("scoring/models", ScoringModelViewSet, basename="scoring-model")
router.register("leads", LeadViewSet, basename="lead")

rules = ScoringRuleViewSet.as_view({"get": "list", "post": "create"})
rule = ScoringRuleViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("scoring/integrations/", IntegrationSettingsView.as_view(), name="scoring-integrations"),
    path("scoring/models/<int:model_id>/rules/", rules, name="scoring-rule-list"),
    path("scoring/models/<int:model_id>/rules/<int:pk>/", rule, name="scoring-rule-detail"),
    path("scoring/contacts/<int:contact_id>/", ContactScoreView.as_view(), name="scoring-contact"),
    *router.urls,
]
