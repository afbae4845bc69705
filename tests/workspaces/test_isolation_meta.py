"""Every routed view must sit behind the scoping layer; the check must catch one that does not."""

import sys
import types

import pytest
from django.core.checks import run_checks
from django.http import HttpResponse
from django.test import override_settings
from django.urls import clear_url_caches, include, path
from rest_framework.views import APIView

from workspaces.checks import unscoped_views


def test_every_routed_view_is_scoped():
    assert unscoped_views() == []


def _urlconf_with(view):
    module = types.ModuleType("tests_unscoped_urls")
    module.urlpatterns = [path("", include("config.urls")), path("leaky/", view)]
    sys.modules[module.__name__] = module
    return module.__name__


@pytest.fixture
def restore_urls():
    yield
    sys.modules.pop("tests_unscoped_urls", None)
    clear_url_caches()


def test_the_check_catches_an_unscoped_html_view(restore_urls):
    def leaky(request):
        return HttpResponse("all the contacts")

    urlconf = _urlconf_with(leaky)
    found = unscoped_views(urlconf)
    assert any("leaky/" in entry for entry in found)
    with override_settings(ROOT_URLCONF=urlconf):
        clear_url_caches()
        errors = [m for m in run_checks() if m.id == "tendril.E001"]
    assert errors and "leaky" in errors[0].msg


def test_the_check_catches_a_plain_drf_view(restore_urls):
    class LeakyAPI(APIView):
        authentication_classes = []
        permission_classes = []

    found = unscoped_views(_urlconf_with(LeakyAPI.as_view()))
    assert any("LeakyAPI" in entry for entry in found)


def test_a_viewset_cannot_override_get_queryset():
    from workspaces.api.base import WorkspaceModelViewSet

    with pytest.raises(TypeError, match="safely_get_queryset"):

        class Sneaky(WorkspaceModelViewSet):
            def get_queryset(self):
                return None
