from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import CurrentWorkspaceView, InvitationViewSet, MembershipViewSet

router = SimpleRouter()
router.register("members", MembershipViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")

urlpatterns = [
    path("workspace/", CurrentWorkspaceView.as_view(), name="api_workspace"),
    *router.urls,
]
