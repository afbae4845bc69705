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

from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from python_ipware import IpWare


@lru_cache(maxsize=8)
def _engine(proxy_count: int) -> IpWare:
    if proxy_count <= 0:
        return IpWare(precedence=("REMOTE_ADDR",))
    # python-ipware counts the proxies *listed* in the header; the last one (the peer)
    # is not listed, it is REMOTE_ADDR.
    return IpWare(
        precedence=("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
        proxy_count=proxy_count - 1,
        leftmost=True,
    )


def client_ip(request: HttpRequest) -> str:
    """The address of whoever sent `request` (empty string when none is known)."""
    meta = getattr(request, "META", None) or {}
    # strict=False: a chain longer than the proxies make (the client's own forged entries)
    # still yields the address our proxies saw, not a fallback.
    ip, _ = _engine(settings.TRUSTED_PROXY_COUNT).get_client_ip(meta, False)
    return "" if ip is None else str(ip)
