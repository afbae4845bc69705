"""The one outbound client refuses internal addresses when the socket connects, in every
spelling and after DNS (rebinding included), follows no redirects, speaks only http(s),
and bounds time and size. Receivers are local servers; the resolver is patched where a
test needs a name to resolve somewhere in particular."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from workspaces.outbound import client

from .servers import reply, serving

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.0.0.2",
    "localhost",
    "LOCALHOST.",
    "app.localhost",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "0177.0.0.1",
    "017700000001",
    "127.1",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "0.0.0.0",
    "0",
    "[::]",
]


@pytest.fixture
def internal():
    """An internal service on loopback that must never be reached."""
    with serving(reply(200, b"internal secret")) as server:
        yield server


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_and_nothing_is_sent(internal, host):
    url = f"http://{host}:{internal.port}/admin"
    assert "server's network" in (client.url_problem(url) or "")
    response = client.post(url, body=b"{}")
    assert response.refused and not response.ok and response.status is None
    assert "internal secret" not in response.excerpt + response.error
    assert internal.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.7",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.1.2.3",
        "192.0.0.8",
        "198.18.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "fd00::1",  # unique local
        "fe80::1",  # link-local
        "fec0::1",  # site-local
        "ff02::1",  # multicast
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "::ffff:10.0.0.1",
        "2001:db8::1",  # documentation
    ],
)
def test_private_link_local_multicast_and_reserved_ranges_are_refused(address):
    assert client.address_refusal(ipaddress.ip_address(address)) is not None
    host = f"[{address}]" if ":" in address else address
    assert "server's network" in client.url_problem(f"https://{host}/x")
    assert client.post(f"https://{host}/x", body=b"{}").refused


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700::1111"])
def test_public_addresses_pass(address):
    assert client.address_refusal(ipaddress.ip_address(address)) is None


def _resolving(monkeypatch, *answers: list[str]):
    """Make the client's resolver answer `answers` in turn (the last one from then on)."""
    calls: list[str] = []

    def fake(host, port, *args, **kwargs):
        calls.append(host)
        addresses = answers[min(len(calls), len(answers)) - 1]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(client.socket, "getaddrinfo", fake)
    return calls


def test_a_name_that_resolves_to_loopback_is_refused_at_connect(internal, monkeypatch):
    calls = _resolving(monkeypatch, ["127.0.0.1"])
    response = client.post(f"http://hooks.example.com:{internal.port}/x", body=b"{}")
    assert response.refused and "127.0.0.1" in response.error
    assert calls == ["hooks.example.com"]  # refused by the connect-time resolution
    assert internal.requests == []


def test_dns_rebinding_is_refused_when_the_socket_connects(internal, monkeypatch):
    # First answer public (the check at save/publish passes), second loopback (the call).
    calls = _resolving(monkeypatch, ["93.184.216.34"], ["127.0.0.1"])
    url = f"http://rebind.example.com:{internal.port}/x"
    assert client.url_problem(url) is None
    response = client.post(url, body=b"{}")
    assert response.refused and "loopback" in response.error
    assert len(calls) == 2 and internal.requests == []


def test_a_name_with_one_internal_address_among_public_ones_is_refused(internal, monkeypatch):
    _resolving(monkeypatch, ["93.184.216.34", "10.1.2.3"])
    url = f"http://mixed.example.com:{internal.port}/x"
    assert "10.1.2.3" in client.url_problem(url)
    assert client.post(url, body=b"{}").refused


def test_the_operator_may_allow_internal_hosts(internal, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.0/8"]
    response = client.post(internal.url, body=b'{"a":1}')
    assert response.ok and response.excerpt == "internal secret"
    assert internal.requests[0]["body"] == b'{"a":1}'
    settings.OUTBOUND_ALLOWED_HOSTS = ["hooks.internal"]
    assert client.url_problem(f"http://hooks.internal:{internal.port}/") is None
    assert client.post(internal.url, body=b"{}").refused  # 127.0.0.1 itself is not listed


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "javascript:alert(1)",
        "dict://localhost:11211/stat",
        "http:///nohost",
        "https://user:pass@example.com/x",
        "",
    ],
)
def test_only_http_and_https_urls_with_a_host_are_called(url):
    assert client.url_problem(url)
    response = client.post(url, body=b"{}")
    assert response.refused and response.status is None


def test_redirects_are_not_followed(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with serving(reply(200, b"internal")) as target:
        location = f"http://localhost:{target.port}/admin"
        with serving(reply(302, b"", {"Location": location})) as public:
            response = client.post(public.url, body=b"{}")
    assert response.status == 302 and not response.ok
    assert len(public.requests) == 1 and target.requests == []


def test_an_endless_answer_is_cut_at_the_size_cap(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 64 * 1024

    def endless(handler, server):
        handler.send_response(200)
        handler.end_headers()  # no length: read until the connection closes
        chunk = b"A\x00<script>" * 10_000
        while not server.release.is_set():
            handler.wfile.write(chunk)
            server.written += len(chunk)

    with serving(endless) as server:
        response = client.post(server.url, body=b"{}")
        assert response.status == 200
        assert len(response.excerpt) <= client.EXCERPT_CHARS
        assert "\x00" not in response.excerpt


def test_a_server_that_does_not_answer_times_out(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OUTBOUND_READ_TIMEOUT = 0.5

    def silent(handler, server):
        server.release.wait(timeout=60)

    with serving(silent) as server:
        response = client.post(server.url, body=b"{}")
    assert response.status is None and "timed out" in response.error
    assert response.retryable


def test_a_trickling_answer_stops_at_the_total_deadline(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OUTBOUND_READ_TIMEOUT = 5
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.5

    def trickle(handler, server):
        handler.send_response(200)
        handler.end_headers()
        while not server.release.is_set():
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.05)  # the server's pace, not a wait in the test

    with serving(trickle) as server:
        response = client.post(server.url, body=b"{}")
    assert not response.ok and "longer than" in response.error


def test_only_a_short_printable_excerpt_of_the_answer_is_kept(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    body = b"\x1b[31mline one\r\nline\ttwo\x00" + b"z" * 500 + b"SECRET-TAIL"
    with serving(reply(500, body, {"X-Internal-Token": "tok-123"})) as server:
        response = client.post(server.url, body=b"{}")
    assert response.status == 500 and not response.ok and response.retryable
    assert response.excerpt.startswith("[31mline one line two")
    assert len(response.excerpt) == client.EXCERPT_CHARS
    kept = str(response.as_dict())
    assert "SECRET-TAIL" not in kept and "tok-123" not in kept


def test_proxies_from_the_environment_are_not_used(settings, monkeypatch, internal):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with serving(reply(200, b"proxy")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        response = client.post(internal.url, body=b"{}")
    assert response.excerpt == "internal secret" and proxy.requests == []


def test_get_returns_the_whole_body_of_an_allowed_host(internal, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.0/8"]
    response, body = client.get(internal.url)
    assert response.ok and body == b"internal secret"
    assert internal.requests[0]["headers"]["Accept-Encoding"] == "identity"


def test_get_refuses_loopback_and_reaches_nothing(internal):
    response, body = client.get(internal.url)
    assert response.refused and body == b"" and internal.requests == []


def test_get_gives_no_body_when_the_answer_is_larger_than_the_cap(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.0/8"]
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 1000
    with serving(reply(200, b"x" * 5000)) as server:
        response, body = client.get(server.url)
    assert response.status == 200 and body == b""
