"""The one outbound HTTP client (like healthchecks' hc/lib/curl.py).

Workspace members type the URLs Tendril calls (workflow webhooks, CRM, Slack), so the
server must not become their way into its own network. The wall is at the socket: the
transport resolves the host itself, checks *every* address it resolves to, and connects to
a checked address (TLS keeps the URL's host name for SNI and certificate checks). A name
that resolves to a public address when the URL is saved and to 127.0.0.1 when it is called
(DNS rebinding) is refused then. Every spelling of an address (`2130706433`, `0x7f.1`,
`0177.0.0.1`, `::ffff:127.0.0.1`, `[::1]`, `localhost`) ends up as an address from the
resolver, so there is one check, not one per spelling.

Also: only http and https; no redirects (a 3xx is an answer, not a hop); no proxies from
the environment; connect/read timeouts and a total deadline; the answer is read as a
stream and reading stops at a size cap; only a short printable excerpt of it is kept.

`OUTBOUND_ALLOWED_HOSTS` (operator setting) lists host names and addresses/CIDRs that may
be called even though they are internal.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings
from httpcore._backends.sync import SyncBackend, SyncStream

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

USER_AGENT = "Tendril-Webhooks/2"
EXCERPT_CHARS = 200
MAX_URL_LENGTH = 2000

# Beyond what `ipaddress` calls non-global: ranges that are "global" by its tables but are
# never a webhook receiver, and IPv6 site-local (deprecated, still routed internally).
_EXTRA_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "fc00::/7",
        "fec0::/10",
        "ff00::/8",
        "64:ff9b:1::/48",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(Exception):
    """The URL or the address it leads to may not be called."""


@dataclass(frozen=True)
class Response:
    """What is kept of one call: never headers, never more than a short excerpt."""

    status: int | None
    excerpt: str = ""
    elapsed_ms: int = 0
    error: str = ""
    refused: bool = False

    @property
    def ok(self) -> bool:
        return not self.error and self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Worth trying again later: network trouble, a timeout, 5xx, 408 and 429."""
        if self.refused:
            return False
        if self.status is None:
            return True
        return self.status >= 500 or self.status in (408, 429)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "excerpt": self.excerpt,
            "elapsed_ms": self.elapsed_ms,
            "error": self.error,
        }


# --- the address policy ------------------------------------------------------------------


def _allowed() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in settings.OUTBOUND_ALLOWED_HOSTS:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def address_refusal(address: IPAddress) -> str | None:
    """Why a connection to `address` is refused (a short kind), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%")[0])
        for inner in _embedded_ipv4(address):
            reason = address_refusal(inner)
            if reason:
                return reason
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for kind, hit in checks:
        if hit:
            return kind
    if any(address in net for net in _EXTRA_REFUSED if net.version == address.version):
        return "reserved"
    if not address.is_global:
        return "non-public"
    return None


def _refusal(address: IPAddress, host: str) -> str | None:
    names, networks = _allowed()
    if host.lower().rstrip(".") in names:
        return None
    if any(address in net for net in networks if net.version == address.version):
        return None
    kind = address_refusal(address)
    if kind is None:
        return None
    shown = host if host == str(address) else f"{host} ({address})"
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{shown} is {article} {kind} address"


def _literal_address(host: str) -> IPAddress | None:
    """The address a host written as an address means, in any spelling the C resolver
    accepts (decimal `2130706433`, hex `0x7f.1`, octal `0177.0.0.1`, short `127.1`)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolve(host: str, port: int) -> list[tuple[Any, IPAddress, Any]]:
    """(family, address, sockaddr) for every address `host` resolves to."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found = []
    for family, _type, _proto, _name, sockaddr in infos:
        found.append((family, ipaddress.ip_address(str(sockaddr[0]).split("%")[0]), sockaddr))
    return found


_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbound-dns")


def url_problem(url: str, *, resolve: bool = True) -> str | None:
    """None if `url` may be called, else why not (for a form field or a node's message).

    Refuses what can be judged without the network (scheme, length, address literals in
    any spelling, `localhost`), and with `resolve` also a name that resolves to a refused
    address now. A name that does not resolve (yet) passes: the connect-time check is the
    wall, this is the early, friendly message."""
    if not isinstance(url, str) or not url.strip():
        return "expected an http(s) URL"
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL with a host"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    literal = _literal_address(host)
    if literal is not None:
        reason = _refusal(literal, host)
        return f"may not point into the server's network: {reason}" if reason else None
    names, _ = _allowed()
    if host.rstrip(".") in names:
        return None
    if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        return f"may not point into the server's network: {host} is a loopback address"
    if not resolve:
        return None
    try:
        addresses = _resolver.submit(_resolve, host, port).result(
            timeout=settings.OUTBOUND_CONNECT_TIMEOUT
        )
    except (OSError, FutureTimeout, UnicodeError):
        return None
    for _family, address, _sockaddr in addresses:
        reason = _refusal(address, host)
        if reason:
            return f"may not point into the server's network: {reason}"
    return None


# --- the transport -----------------------------------------------------------------------


class _GuardedBackend(SyncBackend):
    """httpcore's network backend with the address check where the socket connects."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        host = host.strip("[]")
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(f"{host} does not resolve: {error}") from error
        # Every address is checked before any is tried: a name with one public and one
        # internal address is refused, whichever the connection would have used.
        for _family, address, _sockaddr in addresses:
            reason = _refusal(address, host)
            if reason:
                raise OutboundRefused(f"may not point into the server's network: {reason}")
        last: OSError | None = None
        for family, _address, sockaddr in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
            except TimeoutError as error:
                sock.close()
                raise httpcore.ConnectTimeout(str(error)) from error
            except OSError as error:
                sock.close()
                last = error
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return SyncStream(sock)
        raise httpcore.ConnectError(str(last or f"{host}: no address to connect to"))


_ssl_context: ssl.SSLContext | None = None


def _ssl() -> ssl.SSLContext:
    """One verifying TLS context (loading the CA bundle costs tens of milliseconds)."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx.create_ssl_context(trust_env=False)
    return _ssl_context


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        # Not super().__init__(): it would build a pool (and a TLS context) to be replaced.
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl(),
            max_connections=1,
            max_keepalive_connections=0,
            network_backend=_GuardedBackend(),
        )


# --- calling ---------------------------------------------------------------------------------


def excerpt(raw: bytes, limit: int = EXCERPT_CHARS) -> str:
    """The first `limit` printable characters of an answer, whitespace folded."""
    text = raw.decode("utf-8", errors="replace")
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(clean.split())[:limit]


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.OUTBOUND_CONNECT_TIMEOUT,
        read=settings.OUTBOUND_READ_TIMEOUT,
        write=settings.OUTBOUND_READ_TIMEOUT,
        pool=settings.OUTBOUND_CONNECT_TIMEOUT,
    )


def post(url: str, *, body: bytes, headers: dict[str, str] | None = None) -> Response:
    """POST `body` to `url` through the guarded transport. Never raises for what the
    network or the receiver does: the outcome is in the Response."""
    request_headers = {"Content-Type": "application/json", **(headers or {})}
    return _call("POST", url, body=body, headers=request_headers)[0]


def get(url: str, *, headers: dict[str, str] | None = None) -> tuple[Response, bytes]:
    """GET `url` through the guarded transport: the Response and the answer's body (at most
    OUTBOUND_MAX_RESPONSE_BYTES; empty when the answer was larger, refused or failed).
    For callers that need the body itself (a certificate), not only an excerpt."""
    # identity: the body is read raw (undecoded), and must be usable as it comes
    return _call("GET", url, body=None, headers={"Accept-Encoding": "identity", **(headers or {})})


def _call(
    method: str, url: str, *, body: bytes | None, headers: dict[str, str]
) -> tuple[Response, bytes]:
    started = time.monotonic()

    def done(content: bytes = b"", **kwargs: Any) -> tuple[Response, bytes]:
        elapsed = int((time.monotonic() - started) * 1000)
        return Response(elapsed_ms=elapsed, **kwargs), content

    problem = url_problem(url, resolve=False)
    if problem:
        return done(status=None, error=f"refused: the URL {problem}", refused=True)
    deadline = started + settings.OUTBOUND_TOTAL_TIMEOUT
    cap = settings.OUTBOUND_MAX_RESPONSE_BYTES
    request_headers = {"User-Agent": USER_AGENT, **headers}
    try:
        with (
            httpx.Client(
                transport=_GuardedTransport(),
                timeout=_timeout(),
                follow_redirects=False,
                trust_env=False,
            ) as client,
            client.stream(method, url.strip(), content=body, headers=request_headers) as answer,
        ):
            kept = bytearray()
            for chunk in answer.iter_raw():
                kept.extend(chunk)
                if len(kept) > cap:
                    break  # the rest is never read
                if time.monotonic() > deadline:
                    return done(
                        status=answer.status_code,
                        error=f"the answer took longer than {settings.OUTBOUND_TOTAL_TIMEOUT:g} s",
                    )
            whole = bytes(kept) if len(kept) <= cap else b""  # never a cut-off body
            return done(whole, status=answer.status_code, excerpt=excerpt(bytes(kept[:4096])))
    except OutboundRefused as error:
        return done(status=None, error=f"refused: the URL {error}", refused=True)
    except httpx.TimeoutException as error:
        return done(status=None, error=f"timed out ({type(error).__name__})")
    except httpx.HTTPError as error:
        return done(status=None, error=excerpt(f"{type(error).__name__}: {error}".encode(), 300))
    except (ValueError, UnicodeError) as error:  # a URL httpx cannot parse
        return done(status=None, error=excerpt(f"invalid URL: {error}".encode(), 300), refused=True)
