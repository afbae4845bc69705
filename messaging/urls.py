"""HTML pages of messaging (mounted at the site root).

- /messages/…  the Messages section (workspace members);
- /m/…         public endpoints reached from emails and providers (signed tokens, signatures).
"""

from django.urls import path

from .views import public

app_name = "messaging"

urlpatterns = [
    # Public: tracking, unsubscribe, preferences, confirmation.
    path("m/o/<str:token>.gif", public.open_pixel, name="open"),
    path("m/c/<str:token>", public.click, name="click"),
    path("m/u/<str:token>", public.unsubscribe, name="unsubscribe"),
    path("m/p/<str:token>", public.preferences, name="preferences"),
    path("m/confirm/<str:token>", public.confirm, name="confirm"),
]
