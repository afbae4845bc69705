"""Workspaces take turns inside a Celery queue: round-robin over per-workspace Redis lists.

A Celery queue is one FIFO list. When one workspace posts events at full speed (or fans a
broadcast out to a million contacts), its tasks pile up in that list faster than workers
drain it, and a quiet workspace's task waits behind the whole pile: its event → segment
membership latency becomes the flood's backlog. Separate queues per concern (the routes in
config/settings/base.py) keep one concern from delaying another; this module keeps one
workspace from delaying another inside a concern.

How: a task that opts in does not carry its work in its Celery message. `fair_push` appends
the work (an *item*: the task's arguments, with a weight — its number of events) to the
workspace's own list `tendril:{<task>}:ws:<workspace id>`, and puts the workspace on the
task's *ring* (`tendril:{<task>}:ring`) when its list was empty — one Lua script, so the
ring holds exactly the workspaces with work. The Celery messages are only *doorbells*
(the task with no arguments): a worker woken by one calls `fair_take`, which goes round the
ring taking one item per workspace per turn until it holds `max_items` items or
`max_weight` of weight. So a quiet workspace's item waits for at most one turn round the
ring — the flooding workspace's backlog stays in its own list — and one flush is bounded
in work, whoever floods.

Doorbells are bounded too: a push rings (LPUSH of a ready doorbell message to the Celery
queue) only while fewer than DOORBELLS wait there, and a worker that leaves work on the
ring rings again, so an idle worker always has a reason to look and a flood does not grow
the Celery queue.

Faults: `fair_take` pops what it takes; if the worker dies before the work is done, the
item is gone from Redis. That is why only work that is *on record elsewhere* may use this:
the ingest pipeline's PendingProcessing rows (contacts.processing_recover publishes what is
not done after EVENTS_PROCESSING_RESCUE seconds), and the same recovery covers a Redis
restart. Doing an item twice must be harmless (the pipeline skips pending rows already
gone). A task's keys share a hash tag (`{<task>}`), so on Redis Cluster they sit in one slot.

Eager mode (tests) or a broker that is not plain Redis: the task is published as usual
with its arguments (config/fast_publish.py), and runs them.
"""

from __future__ import annotations

import json
from typing import Any

from config import fast_publish

# Doorbells waiting in a Celery queue at most (a worker also holds up to its prefetch).
DOORBELLS = 64

_PUSH = """
if redis.call('RPUSH', KEYS[2], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[1], ARGV[1])
end
if redis.call('LLEN', KEYS[3]) < tonumber(ARGV[4]) then
  redis.call('LPUSH', KEYS[3], ARGV[3])
end
return 1
"""

# Round the ring: RPOPLPUSH moves the last workspace to the front (a workspace that just
# joined, pushed at the back, is served first); a workspace whose list ran empty leaves.
_TAKE = """
local out = {}
local items, weight = 0, 0
local max_items, max_weight = tonumber(ARGV[2]), tonumber(ARGV[3])
while items < max_items and weight < max_weight do
  local ws = redis.call('RPOPLPUSH', KEYS[1], KEYS[1])
  if not ws then break end
  local key = ARGV[1] .. ws
  local item = redis.call('LPOP', key)
  if redis.call('LLEN', key) == 0 then
    redis.call('LREM', KEYS[1], 1, ws)
  end
  if item then
    out[#out + 1] = ws
    out[#out + 1] = item
    items = items + 1
    weight = weight + (tonumber(string.match(item, '^(%d+):')) or 1)
  end
end
return out
"""

_RING = """
if redis.call('LLEN', KEYS[1]) > 0 and redis.call('LLEN', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

_scripts: dict[tuple[int, str], Any] = {}


def _script(source: str) -> Any:
    client = fast_publish.client()
    key = (id(client), source)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = client.register_script(source)
    return script


def ring_key(task: Any) -> str:
    return f"tendril:{{{task.name}}}:ring"


def list_prefix(task: Any) -> str:
    return f"tendril:{{{task.name}}}:ws:"


def fair_push(
    task: Any, workspace_id: int, args: tuple[Any, ...], *, weight: int, argsrepr: str
) -> None:
    """Queue `task(*args)` as an item of this workspace, and ring a doorbell."""
    if not fast_publish.enabled():
        fast_publish.publish(task, args, argsrepr=argsrepr)
        return
    queue, doorbell = fast_publish.envelope_of(task, (), argsrepr="(doorbell)")
    item = f"{max(int(weight), 1)}:{json.dumps(args)}"
    _script(_PUSH)(
        keys=[ring_key(task), f"{list_prefix(task)}{workspace_id}", queue],
        args=[workspace_id, item, doorbell, DOORBELLS],
    )


def fair_take(task: Any, *, max_items: int, max_weight: int) -> list[list[Any]]:
    """Items (the arguments they were pushed with) round the ring, at most `max_items` and
    about `max_weight` (the item that crosses it is taken whole); [] without a broker."""
    if not fast_publish.enabled():
        return []
    flat = _script(_TAKE)(keys=[ring_key(task)], args=[list_prefix(task), max_items, max_weight])
    items = flat[1::2]
    return [json.loads(item.split(b":", 1)[1]) for item in items]


def fair_ring(task: Any) -> bool:
    """Ring a doorbell if workspaces still wait on the ring (a worker leaving work behind,
    the recovery sweep); True if it rang."""
    if not fast_publish.enabled():
        return False
    queue, doorbell = fast_publish.envelope_of(task, (), argsrepr="(doorbell)")
    return bool(_script(_RING)(keys=[ring_key(task), queue], args=[doorbell, DOORBELLS]))


def fair_waiting(task: Any) -> dict[int, int]:
    """Items waiting per workspace (benches, monitoring)."""
    if not fast_publish.enabled():
        return {}
    client = fast_publish.client()
    ring = [int(ws) for ws in client.lrange(ring_key(task), 0, -1)]
    return {ws: int(client.llen(f"{list_prefix(task)}{ws}")) for ws in ring}


def fair_purge(task: Any, *, broker_url: str | None = None) -> int:
    """Drop every waiting item of this task's queue — with a purge of the broker, in tests
    and benches (items name pending rows of the database they were pushed for)."""
    client = fast_publish._client(broker_url or str(fast_publish.app.conf.broker_url))
    keys = [ring_key(task), *client.scan_iter(match=f"{list_prefix(task)}*", count=1000)]
    return int(client.delete(*keys))
