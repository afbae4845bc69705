"""action.webhook — POST the contact (and trigger data) to a URL, signed, retried.

The call is made outside the database transaction (the engine's `external_call`) through
the one outbound client (`workspaces.outbound`): internal addresses are refused when the
socket connects, time and size are bounded, and only the status and a short excerpt of the
answer are kept. The body is signed the Standard Webhooks way with the workflow's
`webhook_secret` (`webhook-id: msg_<run>_<node>` — the same on every retry, so a receiver
can drop a duplicate — `webhook-timestamp`, `webhook-signature`). Every attempt is in the
workspace's delivery log (Settings → Webhooks), one endpoint per workflow node.
"""

from typing import Any

from workspaces.outbound.client import url_problem

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
        source=f"workflow:{step.workflow.pk}:{step.node.id}",
        name=f"{step.workflow.name} · {step.node.id}",
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
    # At save the URL is judged as written; at publish (workspace given) its host is also
    # resolved. The connect-time check in the client is the wall either way.
    problem = url_problem(config["url"], resolve=workspace is not None)
    return [f"url: {problem}."] if problem else []


NODE = NodeType(
    type="action.webhook",
    label="Webhook",
    description="POSTs a signed JSON body (the contact, the trigger's data and `data`) to the "
    "URL, signed the Standard Webhooks way; a non-2xx answer or a network error is retried "
    "with backoff. The response status and a short excerpt are kept in the step log.",
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
