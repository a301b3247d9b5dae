"""Live events: what visitors' widgets and agents' inboxes are told when a conversation changes.

Services call these inside their transaction; the event goes out on commit, so nobody is told about
a message that a rollback then takes back. Two kinds of channel groups carry them: one per visitor
(every open widget tab of that visitor) and one per tenant (every agent's open inbox). Presence, the
agents connected to a tenant's inbox, lives in the cache next to them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction

from chatdirect.asyncdb import calling_loop
from conversations.models import Conversation, Message

logger = logging.getLogger(__name__)

# The consumers' handler for every event (channels maps "chat.event" to `chat_event`).
EVENT_TYPE = "chat.event"
# An inbox socket refreshes its presence every 25 s; missing two refreshes means it is gone even
# when its process died without saying goodbye.
PRESENCE_TTL_SECONDS = 60


def visitor_group(visitor_id: int) -> str:
    return f"widget.visitor.{visitor_id}"


def inbox_group(tenant_id: int) -> str:
    return f"inbox.tenant.{tenant_id}"


def agent_display_name(user) -> str:
    if user is None:
        return ""
    return user.first_name or user.get_username()


def message_payload(message: Message) -> dict:
    payload = {
        "id": message.id,
        "text": message.text,
        "author": message.author,
        "created": message.created.isoformat(),
    }
    if message.client_message_id:
        payload["client_message_id"] = message.client_message_id
    if message.author == Message.Author.AGENT:
        payload["agent_name"] = agent_display_name(message.agent)
    return payload


def conversation_payload(conversation: Conversation, *, for_inbox: bool) -> dict:
    payload = {
        "id": str(conversation.public_id),
        "status": conversation.status,
        "handled_by": conversation.handled_by,
        "agent_name": agent_display_name(conversation.assigned_agent),
    }
    if for_inbox:
        visitor = conversation.visitor
        payload.update(
            agent_id=conversation.assigned_agent_id,
            visitor=str(visitor),
            visitor_email=visitor.email,
            mode=conversation.mode,
            last_activity=conversation.last_activity.isoformat(),
            handoff_requested_at=(
                conversation.handoff_requested_at.isoformat()
                if conversation.handoff_requested_at
                else None
            ),
        )
    return payload


def message_created(*, conversation: Conversation, message: Message) -> None:
    """Tell the visitor and the tenant's agents about a stored message, once it is committed."""
    event = {
        "type": "message",
        "conversation_id": str(conversation.public_id),
        "message": message_payload(message),
    }
    _after_commit(
        [
            (visitor_group(conversation.visitor_id), event),
            (inbox_group(conversation.tenant_id), event),
        ]
    )


def conversation_changed(*, conversation: Conversation) -> None:
    """Status, handler or assignee changed (or the conversation is new)."""
    _after_commit(
        [
            (
                visitor_group(conversation.visitor_id),
                {
                    "type": "conversation",
                    "conversation": conversation_payload(conversation, for_inbox=False),
                },
            ),
            (
                inbox_group(conversation.tenant_id),
                {
                    "type": "conversation",
                    "conversation": conversation_payload(conversation, for_inbox=True),
                },
            ),
        ]
    )


def agent_typing(*, conversation: Conversation, agent) -> None:
    group_publish(
        visitor_group(conversation.visitor_id),
        {"type": "typing", "agent_name": agent_display_name(agent)},
    )


def _after_commit(sends: list[tuple[str, dict]]) -> None:
    transaction.on_commit(lambda: groups_publish(sends))


def group_publish(group: str, event: dict) -> None:
    groups_publish([(group, event)])


def groups_publish(sends: list[tuple[str, dict]]) -> None:
    """Send events to groups from sync code (a service's on-commit hook, a sync view).

    On a server, the sends are handed to the event loop that runs the calling request and this
    thread goes on at once: a database thread must not wait on channel layer round trips (under
    load, that wait starved the database pool; bench/bench_widget.py). Sends to one group keep
    their order. Elsewhere (a management command, a test without a loop) it simply blocks.
    """
    messages = [(group, {"type": EVENT_TYPE, "event": event}) for group, event in sends]
    loop = _server_loop()
    if loop is not None:
        loop.call_soon_threadsafe(_enqueue, messages)
        return
    if get_channel_layer() is None:
        return
    try:
        async_to_sync(_send)(messages)
    except Exception:
        logger.exception("Could not publish live events to %s", [g for g, _ in messages])


# The latest pending send per group, so that the next one for that group waits for it.
_pending_sends: dict[str, asyncio.Future] = {}


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop this thread was called from (in_db_thread or sync_to_async), if it runs."""
    loop = calling_loop()
    if loop is None:
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
        pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
        if pid != os.getpid():
            return None
    if loop is None or not loop.is_running():
        return None
    return loop


def _enqueue(messages: list[tuple[str, dict]]) -> None:
    groups = {group for group, _ in messages}
    previous = [_pending_sends[g] for g in groups if g in _pending_sends]
    send = asyncio.ensure_future(_send_after(previous, messages))
    for group in groups:
        _pending_sends[group] = send

    def forget(done: asyncio.Future) -> None:
        for group in groups:
            if _pending_sends.get(group) is done:
                del _pending_sends[group]

    send.add_done_callback(forget)


async def _send_after(previous: list[asyncio.Future], messages: list[tuple[str, dict]]) -> None:
    if previous:
        await asyncio.wait(previous)
    try:
        await _send(messages)
    except Exception:
        # A live event is a courtesy on top of what is stored: whoever misses it catches up
        # from the database (`messages?after=`, the inbox), so a layer outage is not an error.
        logger.exception("Could not publish live events to %s", [g for g, _ in messages])


async def _send(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # The Redis layer (chatdirect.channel_layer) sends to several groups in one round trip.
    send_many = getattr(layer, "group_send_many", None)
    if send_many is not None:
        await send_many(messages)
        return
    for group, message in messages:
        await layer.group_send(group, message)


# --- presence -----------------------------------------------------------------------------------


def _presence_key(tenant_id: int) -> str:
    return f"presence:inbox:{tenant_id}"


def presence_touch(*, tenant_id: int, socket_id: str) -> int:
    """Mark one inbox socket as present; return how many agents' sockets are present.

    One cache entry per tenant holding {socket: expiry}. Two agents connecting in the same instant
    can overwrite each other's entry; the next heartbeat (25 s) puts it back, which is cheaper and
    good enough for "is someone online" compared with a lock.
    """
    now = time.time()
    sockets = _presence_live(tenant_id=tenant_id, now=now)
    sockets[socket_id] = now + PRESENCE_TTL_SECONDS
    cache.set(_presence_key(tenant_id), sockets, timeout=PRESENCE_TTL_SECONDS)
    return len(sockets)


def presence_leave(*, tenant_id: int, socket_id: str) -> int:
    sockets = _presence_live(tenant_id=tenant_id, now=time.time())
    sockets.pop(socket_id, None)
    cache.set(_presence_key(tenant_id), sockets, timeout=PRESENCE_TTL_SECONDS)
    return len(sockets)


def agents_online(*, tenant_id: int) -> bool:
    return bool(_presence_live(tenant_id=tenant_id, now=time.time()))


def _presence_live(*, tenant_id: int, now: float) -> dict[str, float]:
    sockets = cache.get(_presence_key(tenant_id)) or {}
    return {socket: expiry for socket, expiry in sockets.items() if expiry > now}
