"""Broker leases: a live worker keeps the messages it holds from being re-delivered.

With the Redis broker, a message a worker has received but not acknowledged (running,
prefetched, or held for its ETA — tasks are acknowledged late) sits in the `unacked` hash,
stamped with its delivery time in the `unacked_index` sorted set. Any worker returns
messages older than the visibility timeout to their queue: that is how the work of a worker
killed with kill -9 is picked up by another. The timeout is short (a minute at most, see
the "Celery" block of config/settings/base.py), so this consumer step re-stamps every
message the worker still holds every CELERY_BROKER_LEASE_RENEW seconds: a lease that a
live worker renews and a dead one cannot. Only stamps that still exist are renewed
(ZADD XX), so a message already returned to its queue is not resurrected here.

The renewal runs on the worker's event loop: with the prefork pool (production) it runs
while tasks execute in the child processes; the solo pool cannot renew during a task, so a
task longer than the timeout may be delivered twice there — which tasks tolerate
(idempotent), at the cost of duplicate work.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps
from django.conf import settings

logger = logging.getLogger(__name__)


def held_delivery_tags(channel: Any) -> list[str]:
    """Delivery tags this channel received and has not acknowledged yet."""
    qos = getattr(channel, "qos", None)
    delivered = getattr(qos, "_delivered", None)
    if not delivered:
        return []
    dirty = getattr(qos, "_dirty", set())
    return [tag for tag in list(delivered) if tag not in dirty]


def leases_renew(channel: Any) -> int:
    """Re-stamp the unacknowledged messages this channel holds with the current time."""
    tags = held_delivery_tags(channel)
    if not tags or not hasattr(channel, "unacked_index_key"):
        return 0
    now = time.time()
    with channel.conn_or_acquire() as client:
        client.zadd(channel.unacked_index_key, {tag: now for tag in tags}, xx=True)
    return len(tags)


class BrokerLeases(bootsteps.StartStopStep):
    """Consumer step: renew the leases of held messages on a timer."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, consumer: Any) -> None:
        interval = float(settings.CELERY_BROKER_LEASE_RENEW)
        if interval > 0:
            self.tref = consumer.timer.call_repeatedly(interval, self.renew, (consumer,))

    def renew(self, consumer: Any) -> None:
        task_consumer = getattr(consumer, "task_consumer", None)
        if task_consumer is None:
            return
        try:
            leases_renew(task_consumer.channel)
        except Exception:  # a broker hiccup: the next renewal tries again
            logger.warning("renewing broker leases failed", exc_info=True)

    def stop(self, consumer: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop
