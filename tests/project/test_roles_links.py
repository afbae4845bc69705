"""Hide what a role cannot do: a page never shows a sales rep or a viewer a link that would
answer 403 ("you cannot do this") when they follow it. The test walks the app from the home
page, two links deep, as each role, on a workspace with a little of everything."""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urlparse

import pytest

from contacts.models import Contact
from segments.models import Segment
from tests.conftest import add_member, login_client
from workspaces.roles import Role

pytestmark = pytest.mark.django_db

SKIP = ("/logout", "/static/", "/api/", "/v1/", "/f/", "/u/", "/t/", "/o/", "/accounts/")


def _links(html: str) -> set[str]:
    found = set()
    for href in re.findall(r'<a\b[^>]*\bhref="([^"#][^"]*)"', html):
        url = urldefrag(href.replace("&amp;", "&"))[0]
        parsed = urlparse(url)
        if parsed.scheme or parsed.netloc or not url.startswith("/"):
            continue
        if not url.startswith(SKIP) and not url.endswith((".csv", ".js")):
            found.add(url)
    return found


def _refusals(client, start: str = "/", depth: int = 2) -> dict[str, str]:
    seen: set[str] = set()
    refused: dict[str, str] = {}
    frontier = {start: "(start)"}
    for _ in range(depth + 1):
        following: dict[str, str] = {}
        for url, origin in frontier.items():
            if url in seen:
                continue
            seen.add(url)
            response = client.get(url)
            if response.status_code == 403:
                refused[url] = origin
                continue
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            for link in _links(response.content.decode()):
                following.setdefault(link, url)
        frontier = following
    return refused


@pytest.mark.parametrize("role", [Role.SALES, Role.VIEWER])
def test_no_page_links_a_role_to_what_it_may_not_open(ws, owner, role):
    contact = Contact.objects.create(workspace=ws, email="lead@x.test", first_name="Lee")
    Segment.objects.create(workspace=ws, name="Everyone", filter={"all": []})
    client = login_client(add_member(ws, f"{role}@acme.test", role))
    refused = _refusals(client)
    assert not refused, "\n".join(
        f"{url}  (linked from {origin})" for url, origin in refused.items()
    )
    assert contact
