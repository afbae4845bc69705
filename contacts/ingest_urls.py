"""Segment-compatible ingestion endpoints, mounted at /v1/ (see docs/ingestion.md)."""

from django.urls import re_path

from contacts.ingest.snippet import snippet_js
from contacts.ingest.views import BatchView, single_call_view

urlpatterns = [
    re_path(r"^tendril\.js$", snippet_js, name="tracking_snippet"),
    re_path(r"^(?:batch|import)/?$", BatchView.as_view(), name="ingest_batch"),
    *[
        re_path(rf"^{kind}/?$", single_call_view(kind), name=f"ingest_{kind}")
        for kind in ("identify", "track", "page", "screen", "group", "alias")
    ],
]
