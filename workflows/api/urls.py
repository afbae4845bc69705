"""Management API routes of workflows, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from .views import WorkflowRunViewSet, WorkflowViewSet

router = SimpleRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("workflow-runs", WorkflowRunViewSet, basename="workflow-run")

urlpatterns = router.urls
