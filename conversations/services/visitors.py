from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from conversations.models import BotIdentity, Visitor
from conversations.selectors import bot_identity_get
from tenants.models import Tenant


@dataclass(frozen=True)
class VisitorSession:
    visitor: Visitor
    identity: BotIdentity
    locale: str
    resumed: bool


@transaction.atomic
def visitor_session_start(
    *, tenant: Tenant, visitor_public_id: str | None = None, locale: str = ""
) -> VisitorSession:
    """Resume the visitor named by a valid token of this tenant, or start a new one."""
    visitor = None
    if visitor_public_id:
        visitor = Visitor.objects.filter(tenant=tenant, public_id=visitor_public_id).first()
    resumed = visitor is not None
    identity = bot_identity_get(tenant=tenant)
    # The page's language wins when we speak it; otherwise the bot's configured language.
    language = locale.split("-")[0].lower() if locale else ""
    chosen = language if language in BotIdentity.Language.values else identity.language
    if visitor is None:
        visitor = Visitor.objects.create(tenant=tenant, locale=chosen)
    else:
        Visitor.objects.filter(pk=visitor.pk).update(last_seen=timezone.now(), locale=chosen)
    return VisitorSession(visitor=visitor, identity=identity, locale=chosen, resumed=resumed)
