"""The request of a view that reads htmx's headers, typed once.

django-htmx's middleware sets `request.htmx` (an `HtmxDetails`: falsy unless htmx sent the
request; `.target`, `.trigger` … name what asked). A view that reads it annotates its request
`HtmxHttpRequest` — no `# type: ignore` at each read (django-htmx's documented recipe).
"""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
