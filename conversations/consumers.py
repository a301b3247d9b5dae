"""Websocket interfaces: the widget's live channel (`/ws/widget/`) and the agents' inbox (`/ws/inbox/`).

Thin like the HTTP views: parse, authorize (origin and visitor token; session and membership),
rate-limit, call the engine or a service, and relay the live events of conversations/events.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chatdirect.asyncdb import in_db_thread
from chatdirect.ratelimit import rate_limit_hit, rate_limits_hit
from chatdirect.tenancy import SESSION_TENANT_KEY
from conversations import events, widget_selectors
from conversations.models import Conversation
from conversations.services.engine import (
    ReplyDelta,
    ReplyFinished,
    VisitorMessageStored,
    message_handle,
)
from conversations.visitor_tokens import visitor_token_read
from conversations.widget_api import origin_allowed, origin_normalize
from tenants.selectors import membership_get, tenant_list_for_user

logger = logging.getLogger(__name__)

# Close codes in the 4000 range are ours; the widget reads them to decide whether to retry.
CLOSE_ORIGIN_REFUSED = 4403
CLOSE_UNKNOWN_WIDGET = 4404
CLOSE_BAD_TOKEN = 4401
CLOSE_RATE_LIMITED = 4429
# A socket must say who it is this soon after opening, or it is closed.
HELLO_TIMEOUT_SECONDS = 10
# Replies keep streaming into the database after their socket closes; these hold the tasks.
_running: set[asyncio.Task] = set()


def _origin(scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return origin_normalize(value.decode("latin-1"))
    return ""


def _client_ip(scope) -> str:
    client = scope.get("client") or ("", 0)
    return client[0] or ""


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    """One visitor's tab. `?widget_id=` names the tenant; the visitor token comes in the first
    frame rather than the URL, so it never lands in access logs."""

    tenant = None
    visitor = None

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        widget_id = (query.get("widget_id") or [""])[0]
        await self.accept()
        if await rate_limit_hit(scope="ip", identity=_client_ip(self.scope)):
            await self._refuse(CLOSE_RATE_LIMITED, "rate_limited")
            return
        tenant = await in_db_thread(widget_selectors.tenant_for_widget)(widget_id=widget_id)
        if tenant is None:
            await self._refuse(CLOSE_UNKNOWN_WIDGET, "unknown_widget")
            return
        if not origin_allowed(origin=_origin(self.scope), allowed_origins=tenant.allowed_origins):
            await self._refuse(CLOSE_ORIGIN_REFUSED, "origin_not_allowed")
            return
        self.tenant = tenant
        self._lock = asyncio.Lock()
        self._hello_timer = asyncio.get_running_loop().call_later(
            HELLO_TIMEOUT_SECONDS, lambda: asyncio.ensure_future(self._hello_missing())
        )

    async def _refuse(self, code: int, reason: str) -> None:
        # Accept-then-close: a refusal before the handshake reaches the browser as a bare 403 with
        # no reason, and the widget could not tell "not allowed" from "websockets blocked".
        await self.send_json({"type": "error", "code": reason})
        await self.close(code=code)

    async def _hello_missing(self) -> None:
        if self.visitor is None:
            with contextlib.suppress(Exception):
                await self.close(code=CLOSE_BAD_TOKEN)

    async def receive_json(self, content, **kwargs) -> None:
        if self.tenant is None or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "hello":
            await self._hello(content)
        elif self.visitor is None:
            await self.close(code=CLOSE_BAD_TOKEN)
        elif kind == "message":
            await self._message(content)
        elif kind == "ping":
            await self.send_json({"type": "pong"})

    async def _hello(self, content: dict) -> None:
        token = content.get("visitor_token")
        identity = visitor_token_read(token) if isinstance(token, str) else None
        visitor = None
        if identity is not None and identity[0] == self.tenant.pk:
            visitor = await in_db_thread(widget_selectors.visitor_for_token)(
                tenant_id=identity[0], visitor_public_id=identity[1]
            )
        if visitor is None:
            await self._refuse(CLOSE_BAD_TOKEN, "invalid_visitor_token")
            return
        self._hello_timer.cancel()
        self.visitor = visitor
        await self.channel_layer.group_add(events.visitor_group(visitor.pk), self.channel_name)
        state = await in_db_thread(_visitor_state)(visitor=visitor)
        await self.send_json({"type": "ready", **state})

    async def _message(self, content: dict) -> None:
        text = content.get("text")
        if not isinstance(text, str) or not text.strip():
            await self._error("bad_request", "Type a message first.")
            return
        limit = settings.CHATDIRECT_MESSAGE_MAX_CHARS
        if len(text) > limit:
            await self._error(
                "message_too_long", f"Messages can be at most {limit} characters.", max_chars=limit
            )
            return
        retry_after = await rate_limits_hit(
            [
                ("visitor", str(self.visitor.public_id)),
                ("ip", _client_ip(self.scope)),
                ("tenant", str(self.tenant.pk)),
            ]
        )
        if retry_after:
            await self._error(
                "rate_limited",
                "You're sending messages too quickly. Please wait a moment and try again.",
                retry_after=retry_after,
                client_message_id=str(content.get("client_message_id") or "")[:64],
            )
            return
        # Streaming runs beside the receive loop so that agent messages and other events reach this
        # socket meanwhile; the lock keeps one visitor's messages answered in order.
        task = asyncio.create_task(
            self._answer(text.strip(), str(content.get("client_message_id") or "")[:64])
        )
        _running.add(task)
        task.add_done_callback(_running.discard)

    async def _answer(self, text: str, client_message_id: str) -> None:
        async with self._lock:
            try:
                async for event in message_handle(
                    tenant=self.tenant,
                    visitor=self.visitor,
                    text=text,
                    client_message_id=client_message_id,
                ):
                    await self._relay(event)
            except Exception:
                logger.exception("Answering a widget message failed")
                await self._error("server_error", "Something went wrong. Please try again.")

    async def _relay(self, event) -> None:
        if isinstance(event, ReplyDelta):
            await self._send({"type": "delta", "text": event.text})
        elif isinstance(event, VisitorMessageStored):
            await self._send(
                {
                    "type": "message",
                    "conversation_id": str(event.conversation.public_id),
                    "message": events.message_payload(event.message),
                }
            )
        elif isinstance(event, ReplyFinished):
            await self._send(
                {
                    "type": "done",
                    "status": event.status,
                    "message": events.message_payload(event.visitor_message),
                    "reply": events.message_payload(event.reply) if event.reply else None,
                }
            )

    async def _error(self, code: str, message: str, **extra) -> None:
        await self._send({"type": "error", "code": code, "message": message, **extra})

    async def _send(self, content: dict) -> None:
        # The visitor may have gone while their reply was still streaming into the database.
        with contextlib.suppress(Exception):
            await self.send_json(content)

    async def chat_event(self, message: dict) -> None:
        await self._send(message["event"])

    async def disconnect(self, code) -> None:
        timer = getattr(self, "_hello_timer", None)
        if timer is not None:
            timer.cancel()
        if self.visitor is not None:
            await self.channel_layer.group_discard(
                events.visitor_group(self.visitor.pk), self.channel_name
            )


def _visitor_state(*, visitor) -> dict:
    conversation = (
        Conversation.objects.filter(tenant_id=visitor.tenant_id, visitor=visitor)
        .exclude(status=Conversation.Status.RESOLVED)
        .select_related("assigned_agent")
        .order_by("-last_activity")
        .first()
    )
    return {
        "agents_online": events.agents_online(tenant_id=visitor.tenant_id),
        "conversation": (
            events.conversation_payload(conversation, for_inbox=False) if conversation else None
        ),
    }


def _agent_typing(*, tenant_id: int, conversation_id: str, agent) -> None:
    conversation = (
        Conversation.objects.filter(tenant_id=tenant_id, public_id=conversation_id).first()
        if _is_uuid(conversation_id)
        else None
    )
    if conversation is not None:
        events.agent_typing(conversation=conversation, agent=agent)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _membership(*, user, tenant_id: int | None):
    """The membership the portal session acts for, checked as the portal checks it."""
    if tenant_id:
        return membership_get(user=user, tenant_id=tenant_id)
    tenants = tenant_list_for_user(user=user)
    return membership_get(user=user, tenant_id=tenants[0].pk) if tenants else None


class InboxConsumer(AsyncJsonWebsocketConsumer):
    """An agent's live inbox for the workspace their portal session acts for."""

    tenant_id: int | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        tenant_id = session.get(SESSION_TENANT_KEY) if session is not None else None
        membership = None
        if user is not None and user.is_authenticated:
            membership = await in_db_thread(_membership)(user=user, tenant_id=tenant_id)
        if membership is None:
            await self.close(code=CLOSE_ORIGIN_REFUSED)
            return
        self.tenant_id = membership.tenant_id
        self.socket_id = uuid.uuid4().hex
        await self.channel_layer.group_add(events.inbox_group(self.tenant_id), self.channel_name)
        await self.accept()
        await self._presence(in_db_thread(events.presence_touch))

    async def _presence(self, update) -> None:
        count = await update(tenant_id=self.tenant_id, socket_id=self.socket_id)
        await self.channel_layer.group_send(
            events.inbox_group(self.tenant_id),
            {"type": events.EVENT_TYPE, "event": {"type": "presence", "agents_online": count}},
        )

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "ping":
            await in_db_thread(events.presence_touch)(
                tenant_id=self.tenant_id, socket_id=self.socket_id
            )
            await self.send_json({"type": "pong"})
        elif content.get("type") == "typing":
            await in_db_thread(_agent_typing)(
                tenant_id=self.tenant_id,
                conversation_id=str(content.get("conversation_id", "")),
                agent=self.scope["user"],
            )

    async def chat_event(self, message: dict) -> None:
        await self.send_json(message["event"])

    async def disconnect(self, code) -> None:
        if self.tenant_id is None:
            return
        await self.channel_layer.group_discard(
            events.inbox_group(self.tenant_id), self.channel_name
        )
        await self._presence(in_db_thread(events.presence_leave))
