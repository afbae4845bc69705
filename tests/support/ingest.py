"""Send events the way a website or backend does: a batch to the ingestion endpoint /v1/."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.test import Client


def post_batch(write_key: str, messages: list[dict[str, Any]]) -> None:
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    response = Client().post(
        "/v1/batch",
        json.dumps({"batch": messages}),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 200, response.content
