"""Is this open or click a person, or a machine acting for the mailbox?

Two kinds of machine read mail before (or instead of) its reader:

- **Apple Mail Privacy Protection** fetches every remote image — the open pixel included —
  through Apple's proxies when a message arrives, whether or not it is ever read. Its
  requests come from Apple's network (17.0.0.0/8; `MESSAGING_MACHINE_OPEN_NETWORKS` adds or
  replaces ranges) and carry the bare user agent "Mozilla/5.0".
- **Link scanners** (Microsoft Defender Safe Links, Proofpoint, Mimecast, Barracuda …)
  follow links — and load the pixel — within seconds of delivery, often with a HEAD request,
  a scanner's or an HTTP library's user agent, and every link of the message at once.

Pure functions of what the request and the message tell; the tracking service records the
answer on the message (`machine_opened_at`, meta["machine_clicks"]) instead of an
`email.opened` / `email.clicked` event, so segments, scores, workflow branches, attribution
and every rate count people.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings

logger = logging.getLogger(__name__)

# Parts of user agents that only machines send. Gmail's and Yahoo's image proxies
# (GoogleImageProxy, YahooMailProxy) fetch when the reader opens the message: people.
SCANNER_AGENTS = re.compile(
    r"barracuda|proofpoint|mimecast|messagelabs|symantec|trendmicro|trend micro|forcepoint"
    r"|fortiguard|fortinet|sophos|ironport|cisco|zscaler|safelinks|safe links|bitdefender"
    r"|spamtitan|mailscanner|libwww|python-requests|python-urllib|aiohttp|httpx|curl/"
    r"|wget/|go-http-client|java/|okhttp|apache-httpclient|headlesschrome|phantomjs"
    r"|bot\b|bot/|crawler|spider|slurp|linkexpanding|preview",
    re.IGNORECASE,
)
# Apple's prefetch sends nothing but this.
MPP_AGENT = "Mozilla/5.0"


@dataclass(frozen=True)
class Hit:
    """One request to the pixel or a tracked link."""

    user_agent: str = ""
    ip: str = ""
    method: str = "GET"
    at: datetime | None = None


@lru_cache(maxsize=8)
def _networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for cidr in spec:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:  # a typo in the setting must not break the pixel
            logger.warning("MESSAGING_MACHINE_OPEN_NETWORKS: %r is not a network", cidr)
    return tuple(networks)


def _in_networks(ip: str) -> bool:
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in _networks(tuple(settings.MESSAGING_MACHINE_OPEN_NETWORKS)))


def _too_soon(hit: Hit, sent_at: datetime | None, delivered_at: datetime | None) -> bool:
    seconds = settings.MESSAGING_MACHINE_OPEN_SECONDS
    start = delivered_at or sent_at
    if not seconds or start is None or hit.at is None:
        return False
    return 0 <= (hit.at - start).total_seconds() < seconds


def machine_reason(
    hit: Hit, *, sent_at: datetime | None = None, delivered_at: datetime | None = None
) -> str:
    """Why this open or click is a machine's ("" when it looks like a person): `apple_mpp`,
    `scanner_agent`, `head_request` or `too_soon` (within MESSAGING_MACHINE_OPEN_SECONDS
    of the message being delivered, or sent when no delivery was reported)."""
    agent = hit.user_agent.strip()
    if hit.method == "HEAD":
        return "head_request"
    if agent == MPP_AGENT or _in_networks(hit.ip):
        return "apple_mpp"
    if agent and SCANNER_AGENTS.search(agent):
        return "scanner_agent"
    if _too_soon(hit, sent_at, delivered_at):
        return "too_soon"
    return ""


def click_burst(previous: list[tuple[str, float]], url_key: str, at: float) -> bool:
    """A scanner follows every link of a message at once: this click is on another link
    than one clicked less than MESSAGING_MACHINE_CLICK_BURST_SECONDS before.
    `previous`: (link key, unix time) of the message's earlier clicks."""
    window = settings.MESSAGING_MACHINE_CLICK_BURST_SECONDS
    return bool(window) and any(
        key != url_key and 0 <= at - when < window for key, when in previous
    )
