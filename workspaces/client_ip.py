"""The client's IP address, one answer for every interface.

Ingestion (`context.ip`), hosted forms, the login lockout (django-axes) and the rate
limiters all ask here. `X-Forwarded-For` is believed only as far as the operator says:
`TRUSTED_PROXY_COUNT` is the number of reverse proxies in front of Tendril (0: none, the
peer's address is the client; 1: one nginx/load balancer, which appends the client to
X-Forwarded-For). Each trusted proxy appends the address it saw, so the client is the
entry that many places from the right: whatever a client writes into the header itself
stays to the left and is ignored. django-ipware (python-ipware) does the parsing.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip


def client_ip(request: HttpRequest) -> str:
    """The address of whoever sent `request` (empty string when none is known)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        ip, _ = get_client_ip(request, request_header_order=["REMOTE_ADDR"], strict=False)
    else:
        # python-ipware counts the proxies *listed* in the header; the last one (the peer)
        # is not listed, it is REMOTE_ADDR. strict=False: a chain longer than our proxies
        # make (the client's own forged entries) still yields the address they saw.
        ip, _ = get_client_ip(
            request,
            proxy_count=proxies - 1,
            request_header_order=["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
            strict=False,
        )
    return ip or ""
