from __future__ import annotations

from django.db import transaction

from conversations.models import BotIdentity
from tenants.models import Tenant

BOT_IDENTITY_FIELDS = ("name", "avatar_url", "accent_color", "greeting", "instructions", "language")


@transaction.atomic
def bot_identity_update(*, tenant: Tenant, **fields: str) -> BotIdentity:
    unknown = set(fields) - set(BOT_IDENTITY_FIELDS)
    if unknown:
        raise TypeError(f"not bot identity fields: {sorted(unknown)}")
    identity, _ = BotIdentity.objects.select_for_update().get_or_create(tenant=tenant)
    for name, value in fields.items():
        setattr(identity, name, value)
    identity.full_clean()
    identity.save()
    return identity
