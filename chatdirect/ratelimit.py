"""Fixed-window rate limits in the cache (Redis in production, shared by every process)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


async def rate_limit_hit(*, scope: str, identity: str) -> int | None:
    """Count one request; return seconds until retry when the scope's limit is exceeded."""
    limit, window = settings.CHATDIRECT_RATE_LIMITS[scope]
    window_index = int(time.time() // window)
    key = f"rl:{scope}:{identity}:{window_index}"
    if await cache.aadd(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = await cache.aincr(key)
        except ValueError:
            await cache.aadd(key, 1, timeout=window + 1)
            count = 1
    if count > limit:
        return int(window - time.time() % window) + 1
    return None
