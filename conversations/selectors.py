"""Reads for conversations. Every selector takes the tenant and filters on it itself."""

from __future__ import annotations

import time

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from conversations.models import AIModel, BotIdentity, Conversation, Message
from tenants.models import Tenant


def bot_identity_get(*, tenant: Tenant) -> BotIdentity:
    """The tenant's bot identity; an unsaved default when the tenant never edited it."""
    identity = BotIdentity.objects.filter(tenant=tenant).first()
    return identity or BotIdentity(tenant=tenant)


def bot_identity_of(*, tenant: Tenant) -> BotIdentity:
    """`bot_identity_get` for a tenant loaded with `select_related("bot_identity")`: no query then."""
    try:
        return tenant.bot_identity
    except BotIdentity.DoesNotExist:
        return BotIdentity(tenant=tenant)


# The catalog is a handful of admin-edited rows read for every reply. Each process keeps it for a
# minute; an edit clears this process's copy at once (conversations.apps) and others' within the
# minute. It only sizes the prompt (context window, output budget): which model and key answer is
# read fresh for every message (conversations.routing).
CATALOG_CACHE_SECONDS = 60
_catalog_cache: dict[tuple[str, str], tuple[float, AIModel | None]] = {}


def catalog_entry_get(*, provider: str, model_id: str) -> AIModel | None:
    key = (provider, model_id)
    now = time.monotonic()
    cached = _catalog_cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    entry = AIModel.objects.filter(provider=provider, model_id=model_id).first()
    _catalog_cache[key] = (now + CATALOG_CACHE_SECONDS, entry)
    return entry


def catalog_cache_clear(**_) -> None:
    _catalog_cache.clear()


def conversation_list(
    *, tenant: Tenant, status: str | None = None, search: str | None = None
) -> QuerySet[Conversation]:
    conversations = (
        Conversation.objects.filter(tenant=tenant)
        .select_related("visitor", "assigned_agent")
        .annotate(message_count=Count("messages"))
        .order_by("-last_activity")
    )
    if status:
        conversations = conversations.filter(status=status)
    if search:
        conversations = conversations.filter(
            Q(visitor__name__icontains=search)
            | Q(visitor__email__icontains=search)
            | Q(messages__text__icontains=search)
        ).distinct()
    return conversations


def conversation_get(*, tenant: Tenant, conversation_id) -> Conversation:
    """One conversation of this tenant; 404 alike for missing and for another tenant's."""
    conversation = (
        Conversation.objects.filter(tenant=tenant, public_id=conversation_id)
        .select_related("visitor", "assigned_agent")
        .first()
        if _is_uuid(conversation_id)
        else None
    )
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def message_list(*, conversation: Conversation, after_id: int | None = None) -> QuerySet[Message]:
    messages = Message.objects.filter(tenant_id=conversation.tenant_id, conversation=conversation)
    if after_id is not None:
        messages = messages.filter(id__gt=after_id)
    return messages.order_by("id")


def model_catalog(
    *, provider: str | None = None, premium_allowed: bool = True
) -> QuerySet[AIModel]:
    models = AIModel.objects.filter(active=True).exclude(provider="demo")
    if provider:
        models = models.filter(provider=provider)
    if not premium_allowed:
        models = models.filter(tier=AIModel.Tier.STANDARD)
    return models


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# The Pro plan's default model (DESIGN.md); preselected for a new key wherever the plan allows it.
DEFAULT_MODEL = ("anthropic", "claude-haiku-4-5")


def model_default(*, catalog: list[AIModel]) -> AIModel | None:
    """The model to preselect among `catalog` (already filtered for the plan)."""
    preferred = [m for m in catalog if (m.provider, m.model_id) == DEFAULT_MODEL]
    return (preferred or catalog or [None])[0]


def conversation_list_for_portal(
    *, tenant: Tenant, status: str | None = None, search: str | None = None
) -> QuerySet[Conversation]:
    """The portal's list: `conversation_list` plus the provider and model of the latest reply.

    The message count is a subquery rather than a join so that a search, which joins messages,
    cannot multiply it.
    """
    from django.db.models import IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    replies = Message.objects.filter(tenant=tenant, conversation=OuterRef("pk")).exclude(
        provider=""
    )
    message_totals = (
        Message.objects.filter(tenant=tenant, conversation=OuterRef("pk"))
        .order_by()
        .values("conversation")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return conversation_list(tenant=tenant, status=status, search=search).annotate(
        reply_provider=Subquery(replies.order_by("-id").values("provider")[:1]),
        reply_model=Subquery(replies.order_by("-id").values("model")[:1]),
        messages_total=Coalesce(Subquery(message_totals, output_field=IntegerField()), 0),
    )


def model_check_selectable(
    *, tenant: Tenant, provider: str, model: str, premium_allowed: bool
) -> None:
    """Raise ModelNotAllowed unless the catalog offers `model` for `provider` to this tenant."""
    from chatdirect.errors import ModelNotAllowed

    entry = AIModel.objects.filter(provider=provider, model_id=model, active=True).first()
    if entry is None:
        raise ModelNotAllowed(f"{model!r} is not an available {provider} model.")
    if entry.tier == AIModel.Tier.PREMIUM and not premium_allowed:
        raise ModelNotAllowed(
            f"{entry.display_name} is a premium model; the {tenant.plan.name} plan includes "
            "standard models only. Choose another model or upgrade the plan."
        )
