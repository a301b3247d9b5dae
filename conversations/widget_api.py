"""The widget's HTTP API (JSON; server-sent events for streamed replies).

Async views without DRF: DRF's views are sync, and this path must not hold a worker while a provider
thinks. Each view parses, authorizes (tenant by widget id or visitor token, origin against the
tenant's allowed origins), rate-limits, then calls one service or selector.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from chatdirect.asyncdb import in_db_thread
from chatdirect.ratelimit import rate_limit_hit, rate_limits_hit
from conversations import events, widget_selectors
from conversations.models import Message
from conversations.services.engine import (
    ReplyDelta,
    ReplyFinished,
    message_handle,
    message_handle_to_end,
)
from conversations.services.handoff import conversation_handoff_request, visitor_contact_save
from conversations.services.visitors import visitor_session_start
from conversations.visitor_tokens import visitor_token_make, visitor_token_read

CORS_ALLOW_HEADERS = "Authorization, Content-Type, Accept"


def _error(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


def origin_normalize(origin: str) -> str:
    """Origins compare lower-case without a trailing slash; an opaque ("null") origin is none."""
    return "" if origin == "null" else origin.lower().rstrip("/")


def request_origin(request: HttpRequest) -> str:
    """The browser's Origin; Chrome omits it on same-origin GETs, where the Referer serves."""
    origin = origin_normalize(request.headers.get("Origin", ""))
    if origin:
        return origin
    referer = request.headers.get("Referer", "")
    scheme, _, rest = referer.partition("://")
    if scheme in ("http", "https") and rest:
        return f"{scheme}://{rest.split('/', 1)[0]}".lower()
    return ""


def origin_allowed(*, origin: str, allowed_origins: list[str]) -> bool:
    return bool(origin) and origin in {origin_normalize(o) for o in allowed_origins}


def _with_cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    # What SecurityMiddleware would add: these paths are served without middleware (chatdirect.handlers).
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = settings.SECURE_REFERRER_POLICY or "same-origin"
    return response


def widget_endpoint(view=None, *, ip_limit: bool = True):
    """CORS preflight, the per-IP rate limit and CORS headers shared by every widget endpoint.

    The preflight cannot name a tenant, so it is answered for any origin; the real request is then
    refused unless its origin is one of the tenant's allowed origins (the view resolves the tenant
    and calls `origin_allowed`). `ip_limit=False` is for a view that counts the IP itself, together
    with its other limits.
    """
    if view is None:
        return functools.partial(widget_endpoint, ip_limit=ip_limit)

    @csrf_exempt
    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # ALLOWED_HOSTS, which CommonMiddleware checks elsewhere: DisallowedHost is a 400.
        request.get_host()
        origin = request_origin(request)
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response["Access-Control-Max-Age"] = "600"
            return _with_cors(response, origin or "*")
        if ip_limit:
            retry_after = await rate_limit_hit(scope="ip", identity=_client_ip(request))
            if retry_after:
                return _with_cors(_rate_limited(retry_after), origin)
        # CORS headers go on refusals too, so the widget can read the reason and show it.
        return _with_cors(await view(request, origin, *args, **kwargs), origin)

    return wrapper


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _rate_limited(retry_after: int) -> JsonResponse:
    response = _error(
        429,
        "rate_limited",
        "You're sending messages too quickly. Please wait a moment and try again.",
        retry_after=retry_after,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _origin_refused() -> JsonResponse:
    return _error(403, "origin_not_allowed", "This website is not allowed to use this chat.")


def _json_body(request: HttpRequest) -> dict | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _token_identity(request: HttpRequest) -> tuple[int, str] | None:
    """(tenant id, visitor public id) from a validly signed bearer token; no database needed."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    return visitor_token_read(token.strip()) if scheme.lower() == "bearer" else None


async def _visitor_from_request(request: HttpRequest):
    identity = _token_identity(request)
    if identity is None:
        return None
    tenant_id, visitor_public_id = identity
    return await in_db_thread(widget_selectors.visitor_for_token)(
        tenant_id=tenant_id, visitor_public_id=visitor_public_id
    )


_INVALID_TOKEN = (
    401,
    "invalid_visitor_token",
    "Start a session first: the visitor token is missing or invalid.",
)


@widget_endpoint
async def sessions(request: HttpRequest, origin: str) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", "Use POST.")
    body = _json_body(request)
    if body is None or not isinstance(body.get("widget_id"), str):
        return _error(400, "bad_request", 'Send JSON like {"widget_id": "wgt_…"}.')
    tenant = await in_db_thread(widget_selectors.tenant_for_widget)(widget_id=body["widget_id"])
    if tenant is None:
        return _error(404, "unknown_widget", "No chat is configured for this widget id.")
    if not origin_allowed(origin=origin, allowed_origins=tenant.allowed_origins):
        return _origin_refused()
    retry_after = await rate_limit_hit(
        scope="session", identity=request.META.get("REMOTE_ADDR", "")
    )
    if retry_after:
        return _rate_limited(retry_after)
    token = body.get("visitor_token")
    resumed = None
    if isinstance(token, str):
        identity = visitor_token_read(token)
        if identity and identity[0] == tenant.pk:
            resumed = identity[1]
    session = await in_db_thread(visitor_session_start)(
        tenant=tenant, visitor_public_id=resumed, locale=str(body.get("locale", ""))[:8]
    )
    online = await in_db_thread(events.agents_online)(tenant_id=tenant.pk)
    return JsonResponse(
        {
            "visitor_token": visitor_token_make(
                tenant_id=tenant.pk, visitor_public_id=session.visitor.public_id
            ),
            "greeting": session.identity.greeting,
            "mode": tenant.chat_mode,
            "locale": session.locale,
            "agents_online": online,
            "max_chars": settings.CHATDIRECT_MESSAGE_MAX_CHARS,
            "bot": {
                "name": session.identity.name,
                "avatar_url": session.identity.avatar_url,
                "accent_color": session.identity.accent_color,
            },
            "resumed": session.resumed,
        },
        status=201 if not session.resumed else 200,
    )


@widget_endpoint(ip_limit=False)
async def messages(request: HttpRequest, origin: str) -> HttpResponse:
    """Every chat message comes through here, so its checks cost as few round trips as possible:
    the token names the visitor and tenant without the database, so all of the request's rate
    limits are counted in one Redis call while the visitor is loaded."""
    if request.method not in ("GET", "POST"):
        return _error(405, "method_not_allowed", "Use GET or POST.")
    identity = _token_identity(request)
    if identity is None:
        retry_after = await rate_limit_hit(scope="ip", identity=_client_ip(request))
        return _rate_limited(retry_after) if retry_after else _error(*_INVALID_TOKEN)
    tenant_id, visitor_public_id = identity
    message, body_refusal = (
        _message_from_body(request) if request.method == "POST" else (None, None)
    )
    limits = [("ip", _client_ip(request))]
    if message is not None:  # a refused body does not count against the visitor
        limits += [("visitor", visitor_public_id), ("tenant", str(tenant_id))]
    retry_after, visitor = await asyncio.gather(
        rate_limits_hit(limits),
        in_db_thread(widget_selectors.visitor_for_token)(
            tenant_id=tenant_id, visitor_public_id=visitor_public_id
        ),
    )
    if retry_after:
        return _rate_limited(retry_after)
    if visitor is None:
        return _error(*_INVALID_TOKEN)
    if not origin_allowed(origin=origin, allowed_origins=visitor.tenant.allowed_origins):
        return _origin_refused()
    if request.method == "GET":
        return await _messages_list(request, visitor)
    if body_refusal is not None:
        return body_refusal
    return await _message_post(request, visitor, message)


async def _messages_list(request: HttpRequest, visitor) -> HttpResponse:
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        return _error(400, "bad_request", "`after` must be a message id (an integer).")
    rows = await in_db_thread(widget_selectors.visitor_messages_after)(
        visitor=visitor, after_id=after
    )
    return JsonResponse({"messages": [message_json(m) for m in rows]})


def _message_from_body(request: HttpRequest) -> tuple[dict | None, JsonResponse | None]:
    """({"text", "client_message_id"}, None) for a valid message body, else (None, the refusal)."""
    body = _json_body(request)
    text = body.get("text") if body else None
    if not isinstance(text, str) or not text.strip():
        return None, _error(400, "bad_request", 'Send JSON like {"text": "Hello"}.')
    limit = settings.CHATDIRECT_MESSAGE_MAX_CHARS
    if len(text) > limit:
        return None, _error(
            413, "message_too_long", f"Messages can be at most {limit} characters.", max_chars=limit
        )
    return {
        "text": text.strip(),
        "client_message_id": str(body.get("client_message_id") or "")[:64],
    }, None


async def _message_post(request: HttpRequest, visitor, fields: dict) -> HttpResponse:
    message = {"tenant": visitor.tenant, "visitor": visitor, **fields}
    if "text/event-stream" in request.headers.get("Accept", ""):
        response = StreamingHttpResponse(
            _sse(message_handle(**message)), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
    return JsonResponse(outcome_json(await message_handle_to_end(**message)))


async def _sse(events: AsyncIterator) -> AsyncIterator[bytes]:
    async for event in events:
        if isinstance(event, ReplyDelta):
            yield _sse_frame("delta", {"text": event.text})
        elif isinstance(event, ReplyFinished):
            yield _sse_frame("done", outcome_json(event))
        else:
            yield _sse_frame(
                "message",
                {
                    "conversation_id": str(event.conversation.public_id),
                    "message": message_json(event.message),
                },
            )


def _sse_frame(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def message_json(message: Message) -> dict:
    return events.message_payload(message)


async def _visitor_authorized(request: HttpRequest, origin: str):
    """(visitor, None) for a valid visitor token used from an allowed origin, else (None, refusal)."""
    visitor = await _visitor_from_request(request)
    if visitor is None:
        return None, _error(*_INVALID_TOKEN)
    if not origin_allowed(origin=origin, allowed_origins=visitor.tenant.allowed_origins):
        return None, _origin_refused()
    return visitor, None


async def _visitor_for_post(request: HttpRequest, origin: str):
    """(visitor, None) for an authorized, not rate-limited POST, else (None, the refusal)."""
    if request.method != "POST":
        return None, _error(405, "method_not_allowed", "Use POST.")
    visitor, refusal = await _visitor_authorized(request, origin)
    if refusal:
        return None, refusal
    retry_after = await rate_limit_hit(scope="visitor", identity=str(visitor.public_id))
    if retry_after:
        return None, _rate_limited(retry_after)
    return visitor, None


@widget_endpoint
async def handoff(request: HttpRequest, origin: str) -> HttpResponse:
    """The visitor pressed "Talk to a person": the conversation goes to the team's queue."""
    visitor, refusal = await _visitor_for_post(request, origin)
    if refusal:
        return refusal
    result = await in_db_thread(conversation_handoff_request)(
        tenant=visitor.tenant, visitor=visitor
    )
    return JsonResponse(
        {
            "status": "queued",
            "agents_online": result.agents_online,
            "conversation": events.conversation_payload(result.conversation, for_inbox=False),
            "notice": message_json(result.notice) if result.notice else None,
        }
    )


CONTACT_LIMITS = {"name": 120, "email": 254, "phone": 40}


@widget_endpoint
async def contact(request: HttpRequest, origin: str) -> HttpResponse:
    """The offline form: contact details (and a message) for the team to answer later."""
    visitor, refusal = await _visitor_for_post(request, origin)
    if refusal:
        return refusal
    body = _json_body(request) or {}
    fields = {name: str(body.get(name) or "").strip() for name in (*CONTACT_LIMITS, "message")}
    if not fields["email"] and not fields["phone"]:
        return _error(400, "contact_missing", "Leave an email address or a phone number.")
    if fields["email"]:
        try:
            validate_email(fields["email"])
        except ValidationError:
            return _error(400, "bad_email", "This email address does not look right.")
    for name, limit in (
        *CONTACT_LIMITS.items(),
        ("message", settings.CHATDIRECT_MESSAGE_MAX_CHARS),
    ):
        if len(fields[name]) > limit:
            return _error(413, "field_too_long", f"{name} can be at most {limit} characters.")
    conversation = await in_db_thread(visitor_contact_save)(
        tenant=visitor.tenant, visitor=visitor, **fields
    )
    return JsonResponse(
        {
            "status": "saved",
            "conversation": events.conversation_payload(conversation, for_inbox=False),
        }
    )


# Long enough to be cheap, short enough that proxies which cut idle streams never see one idle.
SSE_HEARTBEAT_SECONDS = 15
# The widget reconnects (with `messages?after=` to catch up) after this.
SSE_MAX_SECONDS = 300


@widget_endpoint
async def live(request: HttpRequest, origin: str) -> HttpResponse:
    """Server-sent events of the visitor's live events: the fallback when websockets are blocked."""
    visitor, refusal = await _visitor_authorized(request, origin)
    if refusal:
        return refusal
    response = StreamingHttpResponse(_live_stream(visitor.pk), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _live_stream(visitor_id: int) -> AsyncIterator[bytes]:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = events.visitor_group(visitor_id)
    await layer.group_add(group, channel)
    loop = asyncio.get_running_loop()
    ends = loop.time() + SSE_MAX_SECONDS
    # One receive stays pending across heartbeats: cancelling a channel layer receive can drop
    # the message it was about to return.
    receiving = asyncio.ensure_future(layer.receive(channel))
    try:
        yield b": connected\n\n"
        while loop.time() < ends:
            done, _ = await asyncio.wait({receiving}, timeout=SSE_HEARTBEAT_SECONDS)
            if not done:
                yield b": heartbeat\n\n"
                continue
            event = receiving.result().get("event") or {}
            receiving = asyncio.ensure_future(layer.receive(channel))
            yield _sse_frame(event.get("type", "message"), event)
    finally:
        receiving.cancel()
        await layer.group_discard(group, channel)


def outcome_json(finished: ReplyFinished) -> dict:
    return {
        "conversation_id": str(finished.conversation.public_id),
        "message": message_json(finished.visitor_message),
        "status": finished.status,
        "reply": message_json(finished.reply) if finished.reply else None,
    }
