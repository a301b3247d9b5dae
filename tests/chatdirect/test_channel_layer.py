"""The Redis channel layer's two-trip group_send delivers exactly what upstream's does."""

import asyncio

import pytest
from django.conf import settings

pytestmark = pytest.mark.redis


@pytest.fixture
async def layer():
    from chatdirect.channel_layer import RedisChannelLayer

    layer = RedisChannelLayer(
        hosts=[settings.REDIS_URL], prefix="test-layer", capacity=2, expiry=60
    )
    await layer.flush()
    yield layer
    await layer.flush()
    await layer.close_pools()


async def test_every_member_gets_the_message_once(layer):
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", first)
    await layer.group_add("room", second)

    await layer.group_send("room", {"type": "chat.event", "text": "hello"})

    assert (await layer.receive(first))["text"] == "hello"
    assert (await layer.receive(second))["text"] == "hello"


async def test_a_group_nobody_joined_takes_the_message_quietly(layer):
    await layer.group_send("empty", {"type": "chat.event"})


async def test_a_left_member_gets_nothing_and_a_full_queue_drops_the_overflow(layer, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="chatdirect.channel_layer")
    stays, leaves = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", stays)
    await layer.group_add("room", leaves)
    await layer.group_discard("room", leaves)

    for n in range(3):  # capacity is 2
        await layer.group_send("room", {"type": "chat.event", "n": n})

    assert [(await layer.receive(stays))["n"] for _ in range(2)] == [0, 1]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(leaves), 0.3)
    assert "1 of 1 channels over capacity in group room" in caplog.text


async def test_several_groups_in_one_call_each_get_their_own_message(layer):
    visitor, agent, bystander = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("visitor", visitor)
    await layer.group_add("inbox", agent)

    await layer.group_send_many(
        [
            ("visitor", {"type": "chat.event", "for": "visitor"}),
            ("inbox", {"type": "chat.event", "for": "inbox"}),
            ("nobody", {"type": "chat.event", "for": "nobody"}),
        ]
    )

    assert (await layer.receive(visitor))["for"] == "visitor"
    assert (await layer.receive(agent))["for"] == "inbox"
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(bystander), 0.3)
