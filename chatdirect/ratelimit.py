"""Rate limits: Redis when REDIS_URL is set (shared by every process), process memory otherwise.

A window opens with an identity's first request and lasts `window` seconds; requests past the limit
inside it are refused. Anchoring the window on the first request (rather than on clock minutes)
means a burst can never straddle two windows and get twice the limit.

Every chat message passes two or three limits, so this is on the hot path: one Redis round trip
counts all of them, on the event loop (Django's async cache API would hand each step to a thread).
If Redis cannot be reached the request goes through and a warning is logged: a visitor's message
matters more than a limit that protects us from abuse.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections.abc import Iterable

import redis.asyncio as redis_asyncio
from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# KEYS: one counter per limit; ARGV: limit and window (ms) for each. Returns, per counter, the ms
# until its window ends when the limit is exceeded, else -1.
_COUNT_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, ARGV[2 * i]) end
  local wait = -1
  if count > tonumber(ARGV[2 * i - 1]) then
    wait = redis.call('PTTL', key)
    if wait < 0 then redis.call('PEXPIRE', key, ARGV[2 * i]); wait = tonumber(ARGV[2 * i]) end
  end
  out[i] = wait
end
return out
"""


async def rate_limit_hit(*, scope: str, identity: str) -> int | None:
    """Count one request; return seconds until retry when the scope's limit is exceeded."""
    return await rate_limits_hit([(scope, identity)])


async def rate_limits_hit(hits: Iterable[tuple[str, str]]) -> int | None:
    """Count one request against several limits at once; the longest wait if any is exceeded."""
    counters = []
    for scope, identity in hits:
        limit, window = settings.CHATDIRECT_RATE_LIMITS[scope]
        counters.append((f"rl:{scope}:{identity}", limit, window))
    if settings.REDIS_URL:
        waits_ms = await _redis_count(counters)
    else:
        waits_ms = _local_count(counters)
    exceeded = [wait for wait in waits_ms if wait >= 0]
    if not exceeded:
        return None
    return max(1, math.ceil(max(exceeded) / 1000))


# --- Redis --------------------------------------------------------------------------------------

# An asyncio Redis client belongs to the event loop that made its connections. Entries of closed
# loops are dropped on lookup: open sockets keep a loop alive, so a weak key would never expire.
_scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Enough for a burst of hundreds of visitors: each count is one short script, so a few connections
# serve them all, where redis-py's default pool would open one per concurrent request.
REDIS_CONNECTIONS = 32


def _redis_script():
    loop = asyncio.get_running_loop()
    script = _scripts.get(loop)
    if script is None:
        for stale in [known for known in _scripts if known.is_closed()]:
            del _scripts[stale]
        pool = redis_asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=REDIS_CONNECTIONS,
            timeout=2,
            socket_timeout=2,
            socket_connect_timeout=2,
        )
        script = redis_asyncio.Redis(connection_pool=pool).register_script(_COUNT_SCRIPT)
        _scripts[loop] = script
    return script


async def _redis_count(counters: list[tuple[str, int, int]]) -> list[int]:
    args = [value for _, limit, window in counters for value in (limit, window * 1000)]
    try:
        return [
            int(wait) for wait in await _redis_script()(keys=[c[0] for c in counters], args=args)
        ]
    except (RedisError, OSError) as error:
        logger.warning("Rate limits skipped: Redis unavailable (%s)", type(error).__name__)
        return [-1] * len(counters)


# --- one process (the embedded default) ---------------------------------------------------------

_local: dict[str, tuple[int, float]] = {}  # key -> (count, monotonic time its window ends)
_LOCAL_SWEEP_AT = 10_000


def _local_count(counters: list[tuple[str, int, int]]) -> list[int]:
    now = time.monotonic()
    if len(_local) > _LOCAL_SWEEP_AT:
        for key in [k for k, (_, ends) in _local.items() if ends <= now]:
            del _local[key]
    waits = []
    for key, limit, window in counters:
        count, ends = _local.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window
        count += 1
        _local[key] = (count, ends)
        waits.append(int((ends - now) * 1000) if count > limit else -1)
    return waits


def rate_limits_reset() -> None:
    """Forget every open window (tests start each from none)."""
    _local.clear()
    if settings.REDIS_URL:
        import redis

        with redis.Redis.from_url(settings.REDIS_URL) as client:
            keys = list(client.scan_iter("rl:*", count=1000))
            if keys:
                client.delete(*keys)
