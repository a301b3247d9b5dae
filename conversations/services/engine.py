"""The chat engine: a visitor's message in, a streamed reply (or a hand-off) out.

Order matters and is the point of this module: the visitor's message is stored before anything can
fail; the conversation is reserved against the cap only when it is about to get its first reply;
every provider attempt writes one ledger row; a reservation whose reply never came is released.

The provider call is async and holds no database connection or transaction while it waits, so a slow
provider never holds a worker. Database steps run in a thread pool (`chatdirect.asyncdb`), each one short.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from byok.models import ProviderCredential
from byok.services import credential_mark_status
from chatdirect.asyncdb import in_db_thread as _in_thread
from chatdirect.errors import CapReached
from consumption.services import usage_record
from conversations import events, prompts
from conversations.models import Conversation, Message, Visitor
from conversations.providers.base import ChatRequest, ChatResult, ProviderError, TextDelta
from conversations.providers.registry import get_adapter
from conversations.providers.retry import AttemptOutcome, RetryPolicy, stream_with_retries
from conversations.routing import Route, api_key_for_call, route_for
from conversations.selectors import bot_identity_of, catalog_entry_get
from conversations.services.handoff import bot_reply_cannot_help, conversation_queue, notice_text
from tenants.models import Tenant
from tenants.services import ConversationReservation, conversation_release, conversation_reserve

logger = logging.getLogger(__name__)

IDLE_AFTER = dt.timedelta(minutes=settings.CHATDIRECT_CONVERSATION_IDLE_MINUTES)
# Errors that say the dedicated key itself is the problem, and the status the portal then shows.
_CREDENTIAL_STATUS_FOR = {
    "invalid_key": ProviderCredential.Status.INVALID,
    "permission_denied": ProviderCredential.Status.INVALID,
    "quota_exhausted": ProviderCredential.Status.QUOTA_EXHAUSTED,
    "unavailable": ProviderCredential.Status.UNREACHABLE,
    "timeout": ProviderCredential.Status.UNREACHABLE,
}


class Status:
    ANSWERED = "answered"
    QUEUED = "queued"
    CAPPED = "capped"
    FAILED = "failed"


@dataclass(frozen=True)
class VisitorMessageStored:
    conversation: Conversation
    message: Message
    duplicate: bool


@dataclass(frozen=True)
class ReplyDelta:
    text: str


@dataclass(frozen=True)
class ReplyFinished:
    conversation: Conversation
    visitor_message: Message
    status: str
    reply: Message | None


EngineEvent = VisitorMessageStored | ReplyDelta | ReplyFinished


@dataclass
class _ReplyPlan:
    """What `_reply_prepare` decided, under the conversation's row lock."""

    status: str
    route: Route | None = None
    request: ChatRequest | None = None
    reservation: ConversationReservation | None = None
    notice: Message | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


async def message_handle(
    *, tenant: Tenant, visitor: Visitor, text: str, client_message_id: str = ""
) -> AsyncIterator[EngineEvent]:
    """Store the visitor's message, then answer it (or hand it to people). Yields as it goes.

    The first event is always VisitorMessageStored: from then on nothing can lose the message.
    The last is always ReplyFinished.

    The work runs in a task of its own, so a visitor who closes the page or loses the network
    mid-reply does not stop it half way: the reply is still stored (the widget fetches it on
    reconnect), every attempt still reaches the ledger, and a reservation is still settled.
    """
    queue: asyncio.Queue = asyncio.Queue()

    async def run() -> None:
        try:
            async for event in _message_handle(
                tenant=tenant, visitor=visitor, text=text, client_message_id=client_message_id
            ):
                queue.put_nowait(event)
        except Exception as error:
            logger.exception("The chat engine failed for a message of tenant %s", tenant.pk)
            queue.put_nowait(error)
        finally:
            queue.put_nowait(_END)

    task = asyncio.create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)
    while (item := await queue.get()) is not _END:
        if isinstance(item, Exception):
            raise item
        yield item


_END = object()
# Strong references: the event loop keeps only weak ones to tasks.
_running: set[asyncio.Task] = set()


async def _message_handle(
    *, tenant: Tenant, visitor: Visitor, text: str, client_message_id: str = ""
) -> AsyncIterator[EngineEvent]:
    stored, plan = await _in_thread(_message_accept)(
        tenant=tenant, visitor=visitor, text=text, client_message_id=client_message_id
    )
    yield stored
    if stored.duplicate:
        # A resend after a network loss: answer with what already happened, create nothing.
        reply = await _in_thread(_reply_after)(message=stored.message)
        yield ReplyFinished(
            stored.conversation,
            stored.message,
            Status.ANSWERED if reply else Status.QUEUED,
            reply,
        )
        return

    if plan.route is None:
        yield ReplyFinished(stored.conversation, stored.message, plan.status, plan.notice)
        return

    result: ChatResult | None = None
    answered: AttemptOutcome | None = None
    failure: ProviderError | None = None

    async def ledger(outcome: AttemptOutcome) -> None:
        nonlocal answered
        if outcome.result is not None:
            # Written by reply_store, in the reply's transaction: one database trip, not two.
            answered = outcome
            return
        await _in_thread(_usage_write)(
            conversation=stored.conversation, route=plan.route, plan=plan, outcome=outcome
        )

    adapter = get_adapter(plan.route.provider)
    try:
        with api_key_for_call(plan.route) as api_key:
            async for event in stream_with_retries(
                adapter,
                plan.request,
                api_key=api_key,
                policy=RetryPolicy(**settings.CHATDIRECT_PROVIDER_RETRY),
                on_attempt=ledger,
            ):
                if isinstance(event, TextDelta):
                    yield ReplyDelta(event.text)
                else:
                    result = event
    except ProviderError as error:
        failure = error

    if result is not None:
        reply = await _in_thread(reply_store)(
            conversation=stored.conversation, route=plan.route, outcome=answered, plan=plan
        )
        yield ReplyFinished(stored.conversation, stored.message, Status.ANSWERED, reply)
        return
    status, notice = await _in_thread(reply_fail)(
        conversation=stored.conversation, route=plan.route, error=failure, plan=plan
    )
    yield ReplyFinished(stored.conversation, stored.message, status, notice)


async def message_handle_to_end(**kwargs) -> ReplyFinished:
    """The same as `message_handle`, without streaming: the final event."""
    finished = None
    async for event in message_handle(**kwargs):
        if isinstance(event, ReplyFinished):
            finished = event
    return finished


# --- database steps ---------------------------------------------------------------------------------


def _message_accept(
    *, tenant: Tenant, visitor: Visitor, text: str, client_message_id: str
) -> tuple[VisitorMessageStored, _ReplyPlan | None]:
    """Store the message and decide the reply: one trip to the pool, one transaction.

    The decision runs in a savepoint under the conversation's row lock, which the store took, so
    nothing it raises can take the visitor's message back: the message commits, then it raises.
    """
    failure = None
    with transaction.atomic():
        stored = _visitor_message_insert(
            tenant=tenant, visitor=visitor, text=text, client_message_id=client_message_id
        )
        if stored.duplicate:
            return stored, None
        try:
            with transaction.atomic():
                plan = _reply_prepare(conversation=stored.conversation, tenant=tenant)
        except Exception as error:
            failure = error
    if failure is not None:
        raise failure
    return stored, plan


# A visitor's last_seen moves at most this often: it is for "seen recently", not an audit trail.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


def _visitor_message_insert(
    *, tenant: Tenant, visitor: Visitor, text: str, client_message_id: str
) -> VisitorMessageStored:
    """Store the visitor's message in its current conversation; the caller holds the transaction."""
    now = timezone.now()
    if client_message_id:
        existing = (
            Message.objects.filter(
                tenant=tenant, conversation__visitor=visitor, client_message_id=client_message_id
            )
            .select_related("conversation")
            .first()
        )
        if existing is not None:
            return VisitorMessageStored(existing.conversation, existing, duplicate=True)
    conversation, created = conversation_current(tenant=tenant, visitor=visitor, now=now)
    message = Message(
        tenant=tenant,
        conversation=conversation,
        author=Message.Author.VISITOR,
        text=text,
        client_message_id=client_message_id,
    )
    if client_message_id:
        try:
            with transaction.atomic():
                message.save(force_insert=True)
        except IntegrityError:
            # The same resend raced us; the first one won.
            message = Message.objects.get(
                conversation=conversation, client_message_id=client_message_id
            )
            return VisitorMessageStored(conversation, message, duplicate=True)
    else:
        # Without a client id nothing is unique to collide on, so no savepoint is needed.
        message.save(force_insert=True)
    if not created:
        conversation.last_activity = now
        conversation.save(update_fields=["last_activity"])
    if visitor.last_seen is None or now - visitor.last_seen >= LAST_SEEN_RESOLUTION:
        Visitor.objects.filter(pk=visitor.pk).update(last_seen=now)
        visitor.last_seen = now
    conversation.visitor = visitor
    conversation.tenant = tenant
    if created:
        events.conversation_changed(conversation=conversation)
    events.message_created(conversation=conversation, message=message)
    return VisitorMessageStored(conversation, message, duplicate=False)


def conversation_current(
    *, tenant: Tenant, visitor: Visitor, now: dt.datetime
) -> tuple[Conversation, bool]:
    """The visitor's ongoing conversation, or a new one after 30 idle minutes or a resolution.

    The flag says whether it is new, so that callers announce it to the inbox.
    """
    found = Conversation.objects.raw(
        _current_conversation_sql(connection.vendor),
        [tenant.pk, visitor.pk, Conversation.Status.RESOLVED],
    )
    conversation = next(iter(found), None)
    if conversation is not None and now - conversation.last_activity <= IDLE_AFTER:
        return conversation, False
    if conversation is not None:
        conversation.status = Conversation.Status.RESOLVED
        conversation.resolved_at = now
        conversation.save(update_fields=["status", "resolved_at"])
        conversation.visitor = visitor
        events.conversation_changed(conversation=conversation)
    return conversation_start(tenant=tenant, visitor=visitor), True


@functools.cache
def _current_conversation_sql(vendor: str) -> str:
    """`Conversation.objects.select_for_update().filter(tenant=, visitor=).exclude(status=RESOLVED)
    .order_by("-last_activity").first()`, written out once: it runs for every visitor message, and
    building that queryset cost three times executing it (bench_chat's profile)."""
    meta, quote = Conversation._meta, connection.ops.quote_name
    sql = (
        # Only quoted column and table names are interpolated; values are parameters.
        f"SELECT {', '.join(quote(f.column) for f in meta.concrete_fields)} "  # noqa: S608
        f"FROM {quote(meta.db_table)} WHERE {quote('tenant_id')} = %s AND "
        f"{quote('visitor_id')} = %s AND {quote('status')} <> %s "
        f"ORDER BY {quote('last_activity')} DESC LIMIT 1"
    )
    return sql + (" FOR UPDATE" if connection.features.has_select_for_update else "")


@functools.cache
def _history_sql(vendor: str) -> str:
    """The conversation's latest prompt messages, newest first: the same reasoning as above."""
    meta, quote = Message._meta, connection.ops.quote_name
    return (
        f"SELECT {quote('author')}, {quote('text')} FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {quote('conversation_id')} = %s AND {quote('author')} IN (%s, %s, %s) "
        f"ORDER BY {quote('id')} DESC LIMIT %s"
    )


def _history(*, conversation: Conversation) -> list[tuple[str, str]]:
    """(author, text) of the messages a prompt may include, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            _history_sql(connection.vendor),
            [
                conversation.pk,
                Message.Author.VISITOR,
                Message.Author.BOT,
                Message.Author.AGENT,
                prompts.HISTORY_MESSAGES_MAX,
            ],
        )
        return cursor.fetchall()[::-1]


def conversation_start(*, tenant: Tenant, visitor: Visitor) -> Conversation:
    handled_by = (
        Conversation.Handler.QUEUE
        if tenant.chat_mode == Tenant.ChatMode.HUMAN
        else Conversation.Handler.BOT
    )
    return Conversation.objects.create(
        tenant=tenant,
        visitor=visitor,
        mode=tenant.chat_mode,
        handled_by=handled_by,
        status=(
            Conversation.Status.PENDING
            if handled_by == Conversation.Handler.QUEUE
            else Conversation.Status.OPEN
        ),
    )


def _reply_prepare(*, conversation: Conversation, tenant: Tenant) -> _ReplyPlan:
    """Decide who answers, and how. `conversation` is locked and fresh (conversation_current)."""
    if conversation.handled_by != Conversation.Handler.BOT:
        # An agent has it, or it waits for one: the bot stays silent.
        return _ReplyPlan(status=Status.QUEUED)

    route = route_for(tenant=tenant)
    reservation = None
    if conversation.counted_period is None:
        try:
            reservation = conversation_reserve(tenant=tenant, key_source=route.key_source)
        except CapReached:
            notice = _hand_to_people(
                conversation=conversation, text=prompts.cap_reached_notice(tenant=tenant)
            )
            return _ReplyPlan(status=Status.CAPPED, notice=notice)
        conversation.counted_period = reservation.period
        conversation.counted_toward_cap = reservation.counts_toward_cap
        conversation.key_source = route.key_source
        conversation.save(update_fields=["counted_period", "counted_toward_cap", "key_source"])

    catalog_entry = catalog_entry_get(provider=route.provider, model_id=route.model)
    request = prompts.chat_request(
        tenant=tenant,
        identity=bot_identity_of(tenant=tenant),
        model=route.model,
        history=_history(conversation=conversation),
        context_window=catalog_entry.context_window if catalog_entry else 8_000,
        max_output_tokens=catalog_entry.max_output_tokens if catalog_entry else 1024,
    )
    return _ReplyPlan(status=Status.ANSWERED, route=route, request=request, reservation=reservation)


def _usage_write(
    *, conversation: Conversation, route: Route, plan: _ReplyPlan, outcome: AttemptOutcome
) -> None:
    usage = outcome.result.usage if outcome.result else outcome.error.usage
    usage_record(
        tenant=conversation.tenant,
        conversation=conversation,
        request_id=plan.request_id,
        attempt=outcome.attempt_number,
        provider=route.provider,
        model=route.model,
        key_source=route.key_source,
        input_tokens=usage.input_tokens if usage else 0,
        cached_input_tokens=usage.cached_input_tokens if usage else 0,
        cache_write_tokens=usage.cache_write_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        outcome="ok" if outcome.result else outcome.error.kind,
        first_write=True,  # plan.request_id is new for this message, and each attempt is written once
    )


@transaction.atomic
def reply_store(
    *, conversation: Conversation, route: Route, outcome: AttemptOutcome, plan: _ReplyPlan
) -> Message:
    """The bot's reply and the ledger row of the attempt that produced it, together."""
    result = outcome.result
    _usage_write(conversation=conversation, route=route, plan=plan, outcome=outcome)
    reply = Message.objects.create(
        tenant_id=conversation.tenant_id,
        conversation=conversation,
        author=Message.Author.BOT,
        text=result.text,
        provider=route.provider,
        model=result.model or route.model,
        input_tokens=result.usage.input_tokens,
        cached_input_tokens=result.usage.cached_input_tokens,
        output_tokens=result.usage.output_tokens,
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_activity=reply.created)
    if route.credential is not None and route.credential.status != ProviderCredential.Status.VALID:
        credential_mark_status(credential=route.credential, status=ProviderCredential.Status.VALID)
    events.message_created(conversation=conversation, message=reply)
    if conversation.mode == Tenant.ChatMode.HYBRID and bot_reply_cannot_help(result.text):
        _bot_gives_up(conversation=conversation)
    return reply


def _bot_gives_up(*, conversation: Conversation) -> None:
    """Hybrid: the bot said it cannot help, so the conversation goes to the team's queue."""
    locked = (
        Conversation.objects.select_for_update()
        .select_related("tenant", "visitor")
        .get(pk=conversation.pk)
    )
    if locked.handled_by != Conversation.Handler.BOT:
        return  # an agent took over (or it was queued) while the bot was answering
    conversation_queue(conversation=locked, text=notice_text(tenant=locked.tenant, kind="queued"))


@transaction.atomic
def reply_fail(
    *, conversation: Conversation, route: Route, error: ProviderError, plan: _ReplyPlan
) -> tuple[str, Message]:
    """No reply could be produced: give the reservation back and tell the visitor politely."""
    if plan.reservation is not None:
        conversation_release(reservation=plan.reservation)
        Conversation.objects.filter(pk=conversation.pk).update(
            counted_period=None, counted_toward_cap=False
        )
    logger.warning(
        "Reply failed for conversation %s via %s/%s (%s): %s",
        conversation.public_id,
        route.provider,
        route.model,
        route.key_source,
        error.message,
    )
    status_for_key = _CREDENTIAL_STATUS_FOR.get(error.kind)
    if route.credential is not None and status_for_key is not None:
        credential_mark_status(
            credential=route.credential, status=status_for_key, detail=error.message
        )
    tenant = conversation.tenant
    if conversation.mode == Tenant.ChatMode.HYBRID:
        notice = _hand_to_people(
            conversation=conversation,
            text=prompts.failure_notice(tenant=tenant, handed_to_people=True),
            error_code=error.kind,
        )
        return Status.QUEUED, notice
    notice = Message.objects.create(
        tenant=tenant,
        conversation=conversation,
        author=Message.Author.SYSTEM,
        text=prompts.failure_notice(tenant=tenant, handed_to_people=False),
        error_code=error.kind,
    )
    events.message_created(conversation=conversation, message=notice)
    return Status.FAILED, notice


def _hand_to_people(*, conversation: Conversation, text: str, error_code: str = "") -> Message:
    return conversation_queue(conversation=conversation, text=text, error_code=error_code)


def _reply_after(*, message: Message) -> Message | None:
    return (
        Message.objects.filter(conversation_id=message.conversation_id, id__gt=message.id)
        .exclude(author=Message.Author.VISITOR)
        .order_by("id")
        .first()
    )
