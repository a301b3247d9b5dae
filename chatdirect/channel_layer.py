"""channels_redis's layer with a cheaper group_send: every chat message sends four live events.

Upstream's group_send takes four Redis round trips (trim the group, list it, trim each member's
queue, then a script that queues the message), and two even when nobody listens. This one takes
two: the group's trim and listing in one pipeline, then one script that trims, checks capacity and
queues for every member; one when the group is empty. `group_send_many` does the same for several
groups at once. What is stored, and where, is unchanged, so receivers are upstream's own code.
"""

from __future__ import annotations

import collections
import logging
import time

from channels_redis import core

logger = logging.getLogger(__name__)

# KEYS: the members' queues; ARGV: one message per queue, one capacity per queue, now, expiry.
_GROUP_SEND = """
local over_capacity = 0
local now = tonumber(ARGV[#ARGV - 1])
local expiry = tonumber(ARGV[#ARGV])
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, math.floor(now) - expiry)
  if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
    redis.call('ZADD', KEYS[i], now, ARGV[i])
    redis.call('EXPIRE', KEYS[i], expiry)
  else
    over_capacity = over_capacity + 1
  end
end
return over_capacity
"""


class RedisChannelLayer(core.RedisChannelLayer):
    async def group_send(self, group, message):
        await self.group_send_many([(group, message)])

    async def group_send_many(self, sends: list[tuple[str, dict]]) -> None:
        """group_send for several (group, message) pairs at once: one pipeline lists every group,
        one script per Redis host queues every member's message. An event goes to the visitor's
        group and the tenant's inbox group together, so this halves the trips again."""
        pairs_by_host = collections.defaultdict(list)
        for group, message in sends:
            assert self.require_valid_group_name(group), "Group name not valid"
            pairs_by_host[self.consistent_hash(group)].append((group, message))

        # host index -> (queue keys, one message per key, one capacity per key, groups)
        queued = collections.defaultdict(lambda: ([], [], [], set()))
        for index, pairs in pairs_by_host.items():
            async with self.connection(index).pipeline(transaction=False) as pipe:
                for group, _ in pairs:
                    key = self._group_key(group)
                    pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
                    pipe.zrange(key, 0, -1)
                listed = (await pipe.execute())[1::2]
            for (group, message), members in zip(pairs, listed, strict=True):
                if not members:
                    continue
                by_host, message_for, capacity_for = self._map_channel_keys_to_connection(
                    [member.decode("utf8") for member in members], message
                )
                for host, queue_keys in by_host.items():
                    keys, messages, capacities, groups = queued[host]
                    keys.extend(queue_keys)
                    messages.extend(message_for[q] for q in queue_keys)
                    capacities.extend(capacity_for[q] for q in queue_keys)
                    groups.add(group)

        for host, (keys, messages, capacities, groups) in queued.items():
            over_capacity = await self.connection(host).eval(
                _GROUP_SEND, len(keys), *keys, *messages, *capacities, time.time(), int(self.expiry)
            )
            if over_capacity > 0:
                logger.info(
                    "%s of %s channels over capacity in group %s",
                    over_capacity,
                    len(keys),
                    ", ".join(sorted(groups)),
                )
