"""GET /v1/tendril.js serves the tracking snippet to any site, cacheably."""


def test_the_snippet_is_served_as_cacheable_javascript(client):
    response = client.get("/v1/tendril.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"data-write-key" in response.content
    assert "max-age" in response["Cache-Control"]
    again = client.get("/v1/tendril.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_the_snippet_cannot_be_posted_to(client):
    assert client.post("/v1/tendril.js").status_code == 405
