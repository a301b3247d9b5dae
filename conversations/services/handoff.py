"""Live chat with people: hand-off to the queue, take-over, agent replies, hand-back, resolution.

Each service locks the conversation row, writes, and queues its live events for after the commit.
The chat engine consults `handled_by` under the same lock before the bot answers, so an agent who
has taken over silences the bot until they hand back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from chatdirect.errors import CapReached, ChatDirectError
from conversations import events
from conversations.models import BotIdentity, Conversation, Message, Visitor
from conversations.routing import route_for
from tenants.models import Tenant
from tenants.services import conversation_reserve


class ConversationClosed(ChatDirectError):
    """This conversation is resolved; the visitor's next message starts a new one."""

    code = "conversation_closed"


class NoBotInHumanMode(ChatDirectError):
    """This workspace chats with people only, so there is no bot to hand back to."""

    code = "no_bot"


@dataclass(frozen=True)
class HandoffResult:
    conversation: Conversation
    notice: Message | None
    agents_online: bool


_NOTICES = {
    "queued": {
        "en": "I've asked a member of our team to join. They will reply here.",
        "fr": "J'ai demandé à un membre de notre équipe de se joindre à vous. Il vous répondra ici.",
    },
    "queued_offline": {
        "en": "No one from our team is online right now. Leave your contact details and we'll "
        "get back to you.",
        "fr": "Personne de notre équipe n'est en ligne pour le moment. Laissez vos coordonnées et "
        "nous vous recontacterons.",
    },
    "joined": {"en": "{name} joined the conversation.", "fr": "{name} a rejoint la conversation."},
    "handed_back": {
        "en": "{name} handed the conversation back to the assistant.",
        "fr": "{name} a redonné la conversation à l'assistant.",
    },
    "resolved": {
        "en": "This conversation was marked as resolved.",
        "fr": "Cette conversation a été marquée comme résolue.",
    },
    "contact": {
        "en": "Contact details left: {details}",
        "fr": "Coordonnées laissées : {details}",
    },
}

# A hybrid bot is told to say that a person can take over when it cannot help (prompts.py); these
# are the ways models phrase that, in both languages the widget speaks. Matching the reply is the
# "low confidence" signal of DESIGN.md that needs no second model call.
_CANNOT_HELP = re.compile(
    r"\b(?:"
    r"(?:can(?:no|['’])t|unable to|not able to) (?:help|assist|answer)"
    r"|talk to a (?:person|human)"
    r"|(?:member of (?:the|our) team|team member) (?:can|will) take over"
    r"|je ne (?:peux|suis) pas (?:en mesure de )?(?:vous )?(?:aider|répondre)"
    r"|parler à une personne"
    r"|membre de (?:l['’]|notre )équipe (?:peut|va) prendre le relais"
    r")",
    re.IGNORECASE,
)


def bot_reply_cannot_help(text: str) -> bool:
    return bool(_CANNOT_HELP.search(text))


def notice_text(*, tenant: Tenant, kind: str, **values: str) -> str:
    language = (
        BotIdentity.objects.filter(tenant=tenant).values_list("language", flat=True).first() or "en"
    )
    return _NOTICES[kind].get(language, _NOTICES[kind]["en"]).format(**values)


def conversation_queue(*, conversation: Conversation, text: str, error_code: str = "") -> Message:
    """Put a locked conversation in the human queue with a notice to the visitor (no commit)."""
    conversation.handled_by = Conversation.Handler.QUEUE
    conversation.status = Conversation.Status.PENDING
    conversation.assigned_agent = None
    conversation.handoff_requested_at = timezone.now()
    conversation.save(
        update_fields=["handled_by", "status", "assigned_agent", "handoff_requested_at"]
    )
    events.conversation_changed(conversation=conversation)
    return _system_message(conversation=conversation, text=text, error_code=error_code)


@transaction.atomic
def conversation_handoff_request(*, tenant: Tenant, visitor: Visitor) -> HandoffResult:
    """The visitor pressed "Talk to a person" (hybrid) or needs one (human mode, at the cap)."""
    online = events.agents_online(tenant_id=tenant.pk)
    conversation = _visitor_conversation_locked(tenant=tenant, visitor=visitor)
    if conversation.handled_by != Conversation.Handler.BOT:
        # Already waiting for or talking to a person: asking twice changes nothing.
        return HandoffResult(conversation=conversation, notice=None, agents_online=online)
    notice = conversation_queue(
        conversation=conversation,
        text=notice_text(tenant=tenant, kind="queued" if online else "queued_offline"),
    )
    return HandoffResult(conversation=conversation, notice=notice, agents_online=online)


@transaction.atomic
def conversation_take_over(*, tenant: Tenant, conversation: Conversation, agent) -> Conversation:
    conversation = _locked(tenant=tenant, conversation=conversation)
    if conversation.status == Conversation.Status.RESOLVED:
        raise ConversationClosed()
    if (
        conversation.handled_by == Conversation.Handler.AGENT
        and conversation.assigned_agent_id == agent.pk
    ):
        return conversation
    _assign(conversation=conversation, agent=agent)
    return conversation


@transaction.atomic
def agent_reply_send(*, tenant: Tenant, conversation: Conversation, agent, text: str) -> Message:
    """An agent's message to the visitor; replying takes the conversation over if needed."""
    conversation = _locked(tenant=tenant, conversation=conversation)
    if conversation.status == Conversation.Status.RESOLVED:
        raise ConversationClosed()
    if not (
        conversation.handled_by == Conversation.Handler.AGENT
        and conversation.assigned_agent_id == agent.pk
    ):
        _assign(conversation=conversation, agent=agent)
    if conversation.counted_period is None:
        _reserve_for_agent_reply(tenant=tenant, conversation=conversation)
    reply = Message.objects.create(
        tenant=tenant,
        conversation=conversation,
        author=Message.Author.AGENT,
        agent=agent,
        text=text,
    )
    conversation.last_activity = reply.created
    conversation.save(update_fields=["last_activity"])
    events.message_created(conversation=conversation, message=reply)
    return reply


def _reserve_for_agent_reply(*, tenant: Tenant, conversation: Conversation) -> None:
    """The first reply makes the thread a conversation (DESIGN: "bot or agent"), so it is counted
    here, in the column of whoever pays for the tenant's replies: toward the cap on platform keys,
    as dedicated usage otherwise.

    At the cap, an agent is never stopped from answering a visitor: the cap limits what pooled AI
    keys pay for, and a person's reply costs the platform nothing. The reply goes out uncounted and
    the conversation stays unreserved, so the bot still cannot answer in it until next month.
    """
    key_source = route_for(tenant=tenant).key_source
    try:
        reservation = conversation_reserve(tenant=tenant, key_source=key_source)
    except CapReached:
        return
    conversation.counted_period = reservation.period
    conversation.counted_toward_cap = reservation.counts_toward_cap
    conversation.key_source = key_source
    conversation.save(update_fields=["counted_period", "counted_toward_cap", "key_source"])


@transaction.atomic
def conversation_hand_back(*, tenant: Tenant, conversation: Conversation, agent) -> Conversation:
    conversation = _locked(tenant=tenant, conversation=conversation)
    if conversation.mode == Tenant.ChatMode.HUMAN:
        raise NoBotInHumanMode()
    if conversation.status == Conversation.Status.RESOLVED:
        raise ConversationClosed()
    _handler_set(
        conversation=conversation,
        handled_by=Conversation.Handler.BOT,
        assigned_agent=None,
        notice_kind="handed_back",
        notice_agent=agent,
    )
    return conversation


@transaction.atomic
def conversation_resolve(*, tenant: Tenant, conversation: Conversation, agent) -> Conversation:
    conversation = _locked(tenant=tenant, conversation=conversation)
    if conversation.status == Conversation.Status.RESOLVED:
        return conversation
    conversation.status = Conversation.Status.RESOLVED
    conversation.resolved_at = timezone.now()
    conversation.save(update_fields=["status", "resolved_at"])
    _system_message(conversation=conversation, text=notice_text(tenant=tenant, kind="resolved"))
    events.conversation_changed(conversation=conversation)
    return conversation


@transaction.atomic
def visitor_contact_save(
    *,
    tenant: Tenant,
    visitor: Visitor,
    name: str = "",
    email: str = "",
    phone: str = "",
    message: str = "",
) -> Conversation:
    """The offline form: keep the details on the visitor and put the thread in the team's queue."""
    Visitor.objects.filter(pk=visitor.pk).update(
        **{
            field: value
            for field, value in (("name", name), ("email", email), ("phone", phone))
            if value
        }
    )
    visitor.refresh_from_db()
    conversation = _visitor_conversation_locked(tenant=tenant, visitor=visitor)
    if message:
        stored = Message.objects.create(
            tenant=tenant, conversation=conversation, author=Message.Author.VISITOR, text=message
        )
        events.message_created(conversation=conversation, message=stored)
    details = ", ".join(value for value in (name, email, phone) if value)
    if conversation.handled_by == Conversation.Handler.BOT:
        conversation.handled_by = Conversation.Handler.QUEUE
        conversation.handoff_requested_at = timezone.now()
    if conversation.handled_by == Conversation.Handler.QUEUE:
        conversation.status = Conversation.Status.PENDING
    conversation.last_activity = timezone.now()
    conversation.save(
        update_fields=["handled_by", "status", "handoff_requested_at", "last_activity"]
    )
    events.conversation_changed(conversation=conversation)
    _system_message(
        conversation=conversation, text=notice_text(tenant=tenant, kind="contact", details=details)
    )
    return conversation


# --- helpers -------------------------------------------------------------------------------------


def _locked(*, tenant: Tenant, conversation: Conversation) -> Conversation:
    # Filtering on the tenant again makes a conversation of another tenant impossible to act on,
    # whatever the caller passed in.
    locked = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("visitor", "assigned_agent")
        .get(tenant=tenant, pk=conversation.pk)
    )
    locked.tenant = tenant  # the row matched it: no query to read it back
    return locked


def _visitor_conversation_locked(*, tenant: Tenant, visitor: Visitor) -> Conversation:
    from conversations.services.engine import conversation_current

    conversation, created = conversation_current(tenant=tenant, visitor=visitor, now=timezone.now())
    conversation = _locked(tenant=tenant, conversation=conversation)
    if created:
        events.conversation_changed(conversation=conversation)
    return conversation


def _assign(*, conversation: Conversation, agent) -> None:
    _handler_set(
        conversation=conversation,
        handled_by=Conversation.Handler.AGENT,
        assigned_agent=agent,
        notice_kind="joined",
        notice_agent=agent,
    )


def _handler_set(
    *, conversation: Conversation, handled_by: str, assigned_agent, notice_kind: str, notice_agent
) -> None:
    """Open the conversation with a new handler, tell everyone, and say so in the thread."""
    conversation.handled_by = handled_by
    conversation.status = Conversation.Status.OPEN
    conversation.assigned_agent = assigned_agent
    conversation.save(update_fields=["handled_by", "status", "assigned_agent"])
    events.conversation_changed(conversation=conversation)
    _system_message(
        conversation=conversation,
        text=notice_text(
            tenant=conversation.tenant,
            kind=notice_kind,
            name=events.agent_display_name(notice_agent),
        ),
    )


def _system_message(*, conversation: Conversation, text: str, error_code: str = "") -> Message:
    message = Message.objects.create(
        tenant_id=conversation.tenant_id,
        conversation=conversation,
        author=Message.Author.SYSTEM,
        text=text,
        error_code=error_code,
    )
    events.message_created(conversation=conversation, message=message)
    return message
