"""Reads behind the widget API: the tenant by widget id, the visitor by token, new messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from conversations.models import Message, Visitor
from tenants.models import Tenant

MESSAGES_PER_POLL = 200


def tenant_for_widget(*, widget_id: str) -> Tenant | None:
    return Tenant.objects.select_related("plan").filter(widget_id=widget_id, is_active=True).first()


def visitor_for_token(*, tenant_id: int, visitor_public_id: str) -> Visitor | None:
    """The token's visitor, only within the token's tenant (a token never crosses tenants)."""
    try:
        # Unique, so no `.first()`: its ORDER BY costs a compile on every widget request.
        found = Visitor.objects.select_related("tenant__plan", "tenant__bot_identity").filter(
            tenant_id=tenant_id, public_id=visitor_public_id, tenant__is_active=True
        )[:1]
        return next(iter(found), None)
    except ValidationError:  # a malformed UUID inside a validly signed token: unknown
        return None


def visitor_messages_after(*, visitor: Visitor, after_id: int) -> list[Message]:
    return list(
        Message.objects.filter(
            tenant_id=visitor.tenant_id, conversation__visitor=visitor, id__gt=after_id
        ).order_by("id")[:MESSAGES_PER_POLL]
    )
