"""Sliding-window counters in Redis: the workspace send rate, the per-sender SMS rate, and the
failure burst that auto-pauses a workspace.

The window is approximated the standard way (Cloudflare's "sliding window counter"): the
current fixed window's count plus the previous window's count weighted by how much of it
still overlaps the sliding window. One Lua call grants up to `requested` permits atomically,
so a batch of 100 messages costs one round trip, not 100.
"""

from __future__ import annotations

import time
from functools import lru_cache

import redis
from django.conf import settings

_ACQUIRE = """
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local now_ms = tonumber(ARGV[3])
local requested = tonumber(ARGV[4])
local current_window = math.floor(now_ms / window_ms)
local current_key = KEYS[1] .. ':' .. current_window
local previous_key = KEYS[1] .. ':' .. (current_window - 1)
local current = tonumber(redis.call('GET', current_key) or '0')
local previous = tonumber(redis.call('GET', previous_key) or '0')
local elapsed = (now_ms % window_ms) / window_ms
local used = previous * (1 - elapsed) + current
local free = math.floor(limit - used)
if free < 0 then free = 0 end
local granted = requested
if granted > free then granted = free end
if granted > 0 then
  redis.call('INCRBY', current_key, granted)
  redis.call('PEXPIRE', current_key, window_ms * 2)
end
return granted
"""


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


@lru_cache(maxsize=4)
def _script(url: str):  # type: ignore[no-untyped-def]
    return _client(url).register_script(_ACQUIRE)


def acquire(key: str, requested: int, *, limit: int, window_seconds: float) -> int:
    """Take up to `requested` permits from the window; returns how many were granted."""
    if requested <= 0:
        return 0
    if limit <= 0:
        return requested  # no limit configured
    script = _script(settings.REDIS_URL)
    granted = script(
        keys=[f"tendril:rl:{key}"],
        args=[limit, int(window_seconds * 1000), int(time.time() * 1000), requested],
    )
    return int(granted)


def count(key: str, *, window_seconds: float, add: int = 1) -> float:
    """Add `add` events to a sliding window and return the window's (approximate) total."""
    now_ms = int(time.time() * 1000)
    window_ms = int(window_seconds * 1000)
    current_window = now_ms // window_ms
    base = f"tendril:rc:{key}"
    pipe = client().pipeline()
    pipe.incrby(f"{base}:{current_window}", add)
    pipe.pexpire(f"{base}:{current_window}", window_ms * 2)
    pipe.get(f"{base}:{current_window - 1}")
    current, _, previous = pipe.execute()
    elapsed = (now_ms % window_ms) / window_ms
    return int(previous or 0) * (1 - elapsed) + int(current)


def reset(key: str) -> None:
    names = list(client().scan_iter(match=f"tendril:r[lc]:{key}:*"))
    if names:
        client().delete(*names)
