"""Reads for provider credentials. None of these returns plaintext: see services.credential_reveal_for_call."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from byok import vault
from byok.models import KeyAuditEvent, KeySource, ProviderCredential

if TYPE_CHECKING:
    from tenants.models import Tenant

# A key the provider has rejected cannot serve a call; every other status may (a quota can be
# topped up, an outage ends), and the chat engine records what happens next.
_UNUSABLE = (ProviderCredential.Status.INVALID,)


def credential_get(*, tenant: Tenant, source: str) -> ProviderCredential | None:
    """The tenant's saved key for ``source``, whatever its status."""
    return ProviderCredential.objects.filter(tenant_id=tenant.pk, source=source).first()


def credential_active(*, tenant: Tenant, source: str) -> ProviderCredential | None:
    """The tenant's key for ``source`` if it can serve provider calls (not rejected by the provider)."""
    return (
        ProviderCredential.objects.filter(tenant_id=tenant.pk, source=source)
        .exclude(status__in=_UNUSABLE)
        .first()
    )


def credential_hint_for_client(*, tenant: Tenant) -> str | None:
    """The hint of the client's own key. Admin-managed keys are never shown to clients, not even
    masked, so this looks at the client source only."""
    return (
        ProviderCredential.objects.filter(tenant_id=tenant.pk, source=KeySource.CLIENT)
        .values_list("hint", flat=True)
        .first()
    )


def key_audit_list(*, tenant: Tenant, limit: int = 50) -> list[KeyAuditEvent]:
    return list(KeyAuditEvent.objects.filter(tenant_id=tenant.pk).select_related("actor")[:limit])


@dataclass
class VaultReport:
    records_per_key_id: Counter[str] = field(default_factory=Counter)
    # (credential pk, tenant id, source, provider, error class name): never any key material.
    failures: list[tuple[int, int, str, str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.records_per_key_id.values())


def credential_vault_report(*, chunk_size: int = 500) -> VaultReport:
    """Every sealed record by key id, and those that do not open with the configured keyring."""
    keyring = vault.configured_keyring()
    report = VaultReport()
    rows = ProviderCredential.objects.order_by("pk").values_list(
        "pk", "tenant_id", "source", "provider", "sealed_key"
    )
    for pk, tenant_id, source, provider, sealed_key in rows.iterator(chunk_size=chunk_size):
        try:
            report.records_per_key_id[vault.record_key_id(sealed_key)] += 1
        except vault.MalformedRecord:
            report.records_per_key_id["(malformed)"] += 1
            report.failures.append((pk, tenant_id, source, provider, "MalformedRecord"))
            continue
        try:
            vault.open_sealed(sealed_key, tenant_id=tenant_id, provider=provider, keyring=keyring)
        except vault.VaultError as exc:
            report.failures.append((pk, tenant_id, source, provider, type(exc).__name__))
    return report
