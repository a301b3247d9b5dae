"""Rate limits: windows anchored on the first request, several limits in one call, Redis or memory."""

import pytest

from chatdirect import ratelimit
from chatdirect.ratelimit import rate_limit_hit, rate_limits_hit


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, settings):
    if request.param == "memory":
        settings.REDIS_URL = ""
    ratelimit.rate_limits_reset()
    yield request.param
    ratelimit.rate_limits_reset()


async def test_the_limit_is_exact_and_the_refusal_says_when_to_retry(backend, settings):
    settings.CHATDIRECT_RATE_LIMITS = {**settings.CHATDIRECT_RATE_LIMITS, "visitor": (3, 60)}

    allowed = [await rate_limit_hit(scope="visitor", identity="v1") for _ in range(3)]
    refused = await rate_limit_hit(scope="visitor", identity="v1")

    assert allowed == [None, None, None]
    assert 58 <= refused <= 60
    assert await rate_limit_hit(scope="visitor", identity="v2") is None  # another identity


async def test_several_limits_count_in_one_call_and_the_longest_wait_wins(backend, settings):
    settings.CHATDIRECT_RATE_LIMITS = {
        **settings.CHATDIRECT_RATE_LIMITS,
        "visitor": (1, 10),
        "tenant": (1, 100),
    }
    hits = [("visitor", "v1"), ("tenant", "t1")]

    assert await rate_limits_hit(hits) is None
    retry_after = await rate_limits_hit(hits)

    assert 90 < retry_after <= 100


async def test_a_window_closes_after_its_seconds(backend, settings):
    import asyncio

    settings.CHATDIRECT_RATE_LIMITS = {**settings.CHATDIRECT_RATE_LIMITS, "ip": (1, 1)}
    assert await rate_limit_hit(scope="ip", identity="10.0.0.1") is None
    assert await rate_limit_hit(scope="ip", identity="10.0.0.1") == 1

    await asyncio.sleep(1.1)

    assert await rate_limit_hit(scope="ip", identity="10.0.0.1") is None


async def test_an_unreachable_redis_lets_the_request_through_and_warns(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CHATDIRECT_RATE_LIMITS = {**settings.CHATDIRECT_RATE_LIMITS, "visitor": (0, 60)}

    assert await rate_limit_hit(scope="visitor", identity="v1") is None
    assert "Rate limits skipped: Redis unavailable" in caplog.text
