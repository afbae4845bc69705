"""Rate limits for every interface: one limiter, the `limits` library, counters in Redis.

Sliding-window counters (two integers per key, one Lua call per hit) rather than moving
windows (one sorted-set entry per hit), so a limit of 100,000 costs what a limit of 10 does.

- `api`: requests per secret key on /api/v1/ — `Workspace.api_rate_limit` per second, or
  settings.API_RATE_LIMIT (DRF throttle `SecretKeyRateThrottle`).
- `ingest`: requests per write key on /v1/ — settings.INGEST_RATE_LIMIT; checked in the
  same Redis round trip as the key lookup (`hit_and_get`).
- `authfail`: failed authentications per client IP on every interface (bad secret key,
  unknown write key, wrong password) — settings.AUTH_FAILURE_RATE_LIMIT. Counted only on
  failure, and checked only before work a valid key does not need (a key lookup that missed
  the cache, a password check), so good traffic pays nothing for it.

Every refusal is a 429 with Retry-After (seconds).

Messaging counts on the same limiter (`hit_up_to`, `hit_fills`, `clear`): the workspace send
rate, the per-sender SMS rate and the failure burst that pauses a workspace. Those are not
failed open: a send waits for Redis (its Celery broker) rather than going out unmetered.

When Redis cannot be reached (restarting, partitioned) the limits are not counted: the
request goes on as if within them, and the failure is logged. Ingestion must keep taking
events while Redis is away (docs/ingestion.md "When Redis is down"); refusing every
request of every workspace for the outage would be worse than a few unmetered seconds.
Short socket timeouts keep a hung Redis from holding requests.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from workspaces.client_ip import client_ip

logger = logging.getLogger(__name__)
T = TypeVar("T")

PREFIX = "tendril-rl"
# Seconds: Redis answers in well under a millisecond; one that does not is treated as down.
REDIS_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def fail_open(default: T) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """When Redis is unreachable, log it and return `default` (within the limits, nothing
    cached) instead of failing the request."""

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            try:
                return func(*args, **kwargs)
            except REDIS_DOWN as error:
                logger.warning("Redis unreachable, %s not counted: %s", func.__name__, error)
                return default

        return wrapper

    return decorate


@lru_cache(maxsize=4)
def _limiter(url: str) -> SlidingWindowCounterRateLimiter:
    return SlidingWindowCounterRateLimiter(RedisStorage(url, key_prefix=PREFIX, **REDIS_TIMEOUTS))


def limiter() -> SlidingWindowCounterRateLimiter:
    return _limiter(settings.RATELIMIT_REDIS_URL)


def _storage() -> RedisStorage:
    return limiter().storage  # type: ignore[return-value]


def client() -> redis.Redis:
    """The limiter's Redis connection (the API key cache lives next to the counters)."""
    return _storage().get_connection()  # type: ignore[return-value]


@lru_cache(maxsize=64)
def rate(text: str) -> RateLimitItem:
    """A rate written as limits writes it: "100 per second", "30/minute"."""
    return parse(text)


def per_second(amount: int, *, seconds: int = 1) -> RateLimitItem:
    """`amount` per `seconds` seconds."""
    return RateLimitItemPerSecond(amount, seconds)


def _retry_after(item: RateLimitItem, *identifiers: str) -> int:
    stats = limiter().get_window_stats(item, *identifiers)
    return max(1, math.ceil(stats.reset_time - time.time()))


@fail_open(None)
def hit(item: RateLimitItem, *identifiers: str, cost: int = 1) -> int | None:
    """Count one hit; None when within the limit, else the seconds to wait."""
    if limiter().hit(item, *identifiers, cost=cost):
        return None
    return _retry_after(item, *identifiers)


@fail_open((None, None))
def hit_and_get(
    item: RateLimitItem, identifiers: tuple[str, ...], key: str
) -> tuple[int | None, Any]:
    """`hit(item, *identifiers)` and Redis GET `key`, in one round trip (pipelined).

    Runs the limits library's own sliding-window script (already loaded by its storage)
    with EVALSHA inside a pipeline; after a Redis restart flushed scripts it falls back to
    a plain `hit` (which reloads them).
    """
    storage = _storage()
    name = item.key_for(*identifiers)
    keys = [
        storage.prefixed_key(storage._previous_window_key(name)),
        storage.prefixed_key(storage._current_window_key(name)),
    ]
    pipe = client().pipeline(transaction=False)
    pipe.get(key)
    pipe.evalsha(
        storage.lua_acquire_sliding_window.sha, 2, *keys, item.amount, item.get_expiry(), 1
    )
    cached, acquired = pipe.execute(raise_on_error=False)
    if isinstance(cached, Exception):
        raise cached
    if isinstance(acquired, redis.exceptions.NoScriptError):
        return hit(item, *identifiers), cached
    if isinstance(acquired, Exception):
        raise acquired
    return (None if acquired else _retry_after(item, *identifiers)), cached


def hit_up_to(item: RateLimitItem, *identifiers: str, requested: int) -> int:
    """Count as many of `requested` hits as the limit still allows; how many it counted.

    A batch takes its permits in one call (two more when the window is nearly full: the
    stats and a smaller hit), not one per item. `requested` shrinks on every pass, so the
    loop ends even when other workers take the rest of the window meanwhile.
    """
    while requested > 0:
        if limiter().hit(item, *identifiers, cost=requested):
            return requested
        remaining = limiter().get_window_stats(item, *identifiers).remaining
        requested = min(requested - 1, remaining)
    return 0


def hit_fills(item: RateLimitItem, *identifiers: str) -> bool:
    """Count one hit; True when it used up the limit (or the limit already was)."""
    if not limiter().hit(item, *identifiers):
        return True
    return limiter().get_window_stats(item, *identifiers).remaining <= 0


def clear(item: RateLimitItem, *identifiers: str) -> None:
    """Forget one counter (e.g. the failure burst, when sending resumes)."""
    limiter().clear(item, *identifiers)


@fail_open(None)
def auth_failures_blocked(ip: str) -> int | None:
    """Seconds to wait when `ip` has used up its failed authentications, else None."""
    item = rate(settings.AUTH_FAILURE_RATE_LIMIT)
    if limiter().test(item, "authfail", ip or "-"):
        return None
    return _retry_after(item, "authfail", ip or "-")


def auth_failure_record(ip: str) -> int | None:
    """Count a failed authentication from `ip`; the seconds to wait once over the limit."""
    return hit(rate(settings.AUTH_FAILURE_RATE_LIMIT), "authfail", ip or "-")


def reset() -> None:
    """Forget every counter and cached key (tests)."""
    _storage().reset()


class SecretKeyRateThrottle(BaseThrottle):
    """Requests per second per secret key on the management API (429 + Retry-After)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        from workspaces.models import ApiKey

        key = request.auth
        if not isinstance(key, ApiKey) or key.kind != ApiKey.Kind.SECRET:
            return True
        if getattr(request._request, "tendril_rate_limited", False):
            return True  # ingestion counted this request against its own limit
        amount = key.workspace.api_rate_limit or settings.API_RATE_LIMIT
        self._wait = hit(per_second(amount), "api", str(key.pk))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


@receiver(user_login_failed)
def _count_failed_login(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    if request is not None:
        auth_failure_record(client_ip(request))
