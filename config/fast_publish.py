"""A leaner `apply_async` for the ingestion hot path: one LPUSH of a ready message.

Every /v1/ request enqueues one `contacts.process_events` task. Through `apply_async`
that costs ~0.55 ms of CPU per request — a third of a whole single `/v1/track` call —
mostly in kombu creating a Redis client object for every publish and in Celery's
configuration lookups. Here Celery still builds the task message (`app.amqp.as_task_v2`,
its own protocol-2 headers and body); only the transport's envelope is written here, in
the format kombu's virtual Redis transport gives it (`prepare_message` + `basic_publish`),
and pushed with one long-lived client per process. A test publishes the same task both
ways and compares the two envelopes key by key, so a kombu upgrade that changes the
format fails the suite rather than the workers.

The message goes to the task's queue (CELERY_TASK_ROUTES, a plain name per task). Anything
but a plain Redis broker (another transport, eager mode in tests) goes through
`apply_async` unchanged.
"""

from __future__ import annotations

import base64
import json
import socket
import uuid
from typing import Any

import redis

from config.celery_app import app

_clients: dict[str, redis.Redis] = {}
_ORIGIN = f"gen{socket.gethostname()}"


def enabled() -> bool:
    """Whether messages are written here (a plain Redis broker, tasks not run eagerly)."""
    conf = app.conf
    return not conf.task_always_eager and str(conf.broker_url).startswith("redis://")


def publish(task: Any, args: tuple[Any, ...], *, argsrepr: str) -> None:
    """Send `task(*args)` to its queue, as `task.apply_async(args, argsrepr=argsrepr)`."""
    if not enabled():
        task.apply_async(args, argsrepr=argsrepr)
        return
    queue, envelope = envelope_of(task, args, argsrepr=argsrepr)
    client().lpush(queue, envelope)


def queue_of(task: Any) -> str:
    """The queue CELERY_TASK_ROUTES names for this task (the default queue otherwise)."""
    conf = app.conf
    route = (conf.task_routes or {}).get(task.name) or {}
    return str(route.get("queue") or conf.task_default_queue)


def envelope_of(task: Any, args: tuple[Any, ...], *, argsrepr: str) -> tuple[str, str]:
    """(queue, the transport's envelope) of `task(*args)`, ready for an LPUSH."""
    task_id = str(uuid.uuid4())
    message = app.amqp.as_task_v2(
        task_id,
        task.name,
        args,
        {},
        argsrepr=argsrepr,
        kwargsrepr="{}",
        ignore_result=task.ignore_result,
        origin=_ORIGIN,
    )
    queue = queue_of(task)
    body = json.dumps(list(message.body)).encode()
    envelope = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": message.headers,
        "properties": {
            **message.properties,
            "argsrepr": argsrepr,  # apply_async's options land here too
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return queue, json.dumps(envelope)


def client() -> redis.Redis:
    """The long-lived client of this process for the broker."""
    return _client(str(app.conf.broker_url))


def _client(url: str) -> redis.Redis:
    # One client per process and broker URL (redis-py's pool is thread-safe and starts
    # afresh in a forked child).
    client = _clients.get(url)
    if client is None:
        # Short timeouts: a hung broker fails the publish (the work is on record, the
        # recovery sweep publishes it) instead of holding the request.
        client = _clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=2.0
        )
    return client
