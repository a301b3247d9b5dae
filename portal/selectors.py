"""Reads only the portal needs."""

from __future__ import annotations

from byok.models import KeyAuditEvent, KeySource
from tenants.models import Tenant

KEY_HISTORY_LENGTH = 20


def client_key_history(*, tenant: Tenant, limit: int = KEY_HISTORY_LENGTH) -> list[KeyAuditEvent]:
    """The audit trail of the tenant's own key. Admin-managed keys stay invisible to clients, so
    their events (which carry the admin key's hint) are left out."""
    return list(
        KeyAuditEvent.objects.filter(tenant_id=tenant.pk, source=KeySource.CLIENT).select_related(
            "actor"
        )[:limit]
    )
