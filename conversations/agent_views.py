"""The agents' live inbox: the page, one conversation's messages, and the agent actions.

The page is server-rendered with the open conversations; afterwards `/ws/inbox/` pushes what
changes. Actions are plain POSTs (CSRF-protected, JSON answers) so they work, and are checked,
like every other portal form; their live events reach every agent's inbox through the services.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from chatdirect.errors import ChatDirectError
from chatdirect.tenancy import tenant_view
from conversations import events
from conversations.models import Conversation, Message
from conversations.selectors import conversation_get, conversation_list, message_list
from conversations.services import (
    agent_reply_send,
    conversation_hand_back,
    conversation_resolve,
    conversation_take_over,
)

INBOX_SIZE = 100
TRANSCRIPT_SIZE = 500


def _inbox_conversations(*, tenant) -> list[dict]:
    """Unresolved conversations, with the latest message as a preview."""
    latest = Message.objects.filter(tenant=tenant, conversation=OuterRef("pk")).order_by("-id")
    conversations = (
        conversation_list(tenant=tenant)
        .exclude(status=Conversation.Status.RESOLVED)
        .annotate(
            preview=Subquery(latest.values("text")[:1]),
            preview_author=Subquery(latest.values("author")[:1]),
        )[:INBOX_SIZE]
    )
    return [_row(conversation) for conversation in conversations]


def _row(conversation: Conversation) -> dict:
    row = events.conversation_payload(conversation, for_inbox=True)
    row["preview"] = (getattr(conversation, "preview", None) or "")[:160]
    row["preview_author"] = getattr(conversation, "preview_author", None) or ""
    return row


@require_GET
@tenant_view()
def inbox(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inbox/inbox.html",
        {
            "inbox_data": {
                "conversations": _inbox_conversations(tenant=request.tenant),
                "agent": {"id": request.user.pk, "name": events.agent_display_name(request.user)},
                "max_chars": settings.CHATDIRECT_MESSAGE_MAX_CHARS,
            },
        },
    )


@require_GET
@tenant_view()
def conversation_messages(request: HttpRequest, conversation_id) -> JsonResponse:
    conversation = conversation_get(tenant=request.tenant, conversation_id=conversation_id)
    messages = message_list(conversation=conversation).select_related("agent")
    return JsonResponse(
        {
            "conversation": events.conversation_payload(conversation, for_inbox=True),
            "messages": [
                events.message_payload(m) for m in messages.reverse()[:TRANSCRIPT_SIZE][::-1]
            ],
        }
    )


def _action(service):
    """A POST on one conversation of the agent's tenant: 404 alike for missing and foreign."""

    @require_POST
    @tenant_view()
    def view(request: HttpRequest, conversation_id) -> JsonResponse:
        conversation = conversation_get(tenant=request.tenant, conversation_id=conversation_id)
        try:
            result = service(request, conversation)
        except ChatDirectError as error:
            return JsonResponse(
                {"error": {"code": error.code, "message": error.message}}, status=409
            )
        if isinstance(result, JsonResponse):
            return result
        conversation.refresh_from_db()
        return JsonResponse(
            {"conversation": events.conversation_payload(conversation, for_inbox=True), **result}
        )

    view.__name__ = service.__name__
    return view


@_action
def take_over(request, conversation):
    conversation_take_over(tenant=request.tenant, conversation=conversation, agent=request.user)
    return {}


@_action
def reply(request, conversation):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    text = str(body.get("text", "") if isinstance(body, dict) else "").strip()
    limit = settings.CHATDIRECT_MESSAGE_MAX_CHARS
    if not text or len(text) > limit:
        return JsonResponse(
            {
                "error": {
                    "code": "bad_text",
                    "message": f"Write a reply of 1 to {limit} characters.",
                }
            },
            status=400,
        )
    message = agent_reply_send(
        tenant=request.tenant, conversation=conversation, agent=request.user, text=text
    )
    return {"message": events.message_payload(message)}


@_action
def hand_back(request, conversation):
    conversation_hand_back(tenant=request.tenant, conversation=conversation, agent=request.user)
    return {}


@_action
def resolve(request, conversation):
    conversation_resolve(tenant=request.tenant, conversation=conversation, agent=request.user)
    return {}
