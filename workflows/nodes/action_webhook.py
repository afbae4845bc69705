"""action.webhook — POST the contact (and trigger data) to a URL, signed, retried.

The call is made outside the database transaction (the engine's `external_call`); the
executor then records the response in the step log. The body is signed with HMAC-SHA256
using the workflow's secret (header `Tendril-Signature: sha256=<hex of
"<Tendril-Timestamp>.<body>">`), and carries `Idempotency-Key: <run>:<node>` so a
receiver can drop the duplicate a retry after a crash may produce.
"""

from typing import Any
from urllib.parse import urlparse

from .base import NodeType, Result, Step, StepFailed, schema


def payload(step: Step) -> dict[str, Any]:
    contact = step.contact
    return {
        "event": "workflow.webhook",
        "workflow": {"id": step.workflow.pk, "name": step.workflow.name},
        "run": step.run_id,
        "node": step.node.id,
        "contact": {
            "id": contact.pk,
            "email": contact.email,
            "phone": contact.phone,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "company": contact.company,
            "lifecycle_stage": contact.lifecycle_stage,
            "score": contact.score,
            "tags": list(contact.tags),
            "attributes": contact.attributes,
        },
        "trigger": step.run_context.get("trigger", {}),
        "data": dict(step.config.get("data", {})),
    }


def call(step: Step) -> dict[str, Any]:
    return step.effects.http_post(
        url=step.config["url"],
        payload=payload(step),
        secret=step.workflow.webhook_secret,
        idempotency_key=step.source_id,
        headers=dict(step.config.get("headers", {})),
    )


def execute(step: Step) -> Result:
    response = step.external or {}
    if not response.get("ok"):
        reason = response.get("error") or f"HTTP {response.get('status')}"
        raise StepFailed(
            f"webhook to {step.config['url']} failed: {reason}", detail={"response": response}
        )
    return Result(outcome="passed", detail={"response": response})


def check(config: dict, workspace: Any) -> list[str]:
    url = urlparse(config["url"])
    if url.scheme not in ("http", "https") or not url.netloc:
        return ["url: expected an http(s) URL."]
    return []


NODE = NodeType(
    type="action.webhook",
    label="Webhook",
    description="POSTs a signed JSON body (the contact, the trigger's data and `data`) to the "
    "URL; a non-2xx answer or a network error is retried with backoff. The response status "
    "and body are kept in the step log.",
    schema=schema(
        {
            "url": {"type": "string", "minLength": 8, "maxLength": 2000},
            "data": {"type": "object"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        ["url"],
    ),
    execute=execute,
    external_call=call,
    check=check,
)
