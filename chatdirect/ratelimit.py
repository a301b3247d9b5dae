"""Rate limits in the cache (Redis in production, shared by every process).

A window opens with an identity's first request and lasts `window` seconds; requests past the limit
inside it are refused. Anchoring the window on the first request (rather than on clock minutes)
means a burst can never straddle two windows and get twice the limit.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


async def rate_limit_hit(*, scope: str, identity: str) -> int | None:
    """Count one request; return seconds until retry when the scope's limit is exceeded."""
    limit, window = settings.CHATDIRECT_RATE_LIMITS[scope]
    key = f"rl:{scope}:{identity}"
    if await cache.aadd(key, 1, timeout=window):
        await cache.aset(f"{key}:start", time.time(), timeout=window)
        return None
    try:
        count = await cache.aincr(key)
    except ValueError:  # the window closed between add and incr: this request opens the next
        await cache.aadd(key, 1, timeout=window)
        return None
    if count <= limit:
        return None
    started = await cache.aget(f"{key}:start") or time.time()
    return max(1, int(started + window - time.time()) + 1)
