"""Writes for provider credentials. The only code that seals, opens or replaces a provider key.

Plaintext keys live in arguments and locals of the functions below, all of which are wrapped in
``sensitive_variables()`` so Django's error pages and error e-mails show stars for every local of
theirs and of everything they call (the vault included).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from byok import vault
from byok.models import KeyAuditEvent, KeySource, Provider, ProviderCredential
from byok.redaction import redact, register_secret, secret_registered, unregister_secret
from chatdirect.errors import (
    InvalidProviderKey,
    ProviderKeyCheckUnavailable,
    ProviderQuotaExhausted,
)
from conversations.selectors import model_check_selectable

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tenants.models import Tenant

_STATUS_DETAIL_LIMIT = 300
_HINT_MIN_LENGTH = 12
# Longest first: "sk-ant-" must win over "sk-".
_KEY_PREFIXES = ("sk-ant-", "sk-proj-", "sk-svcacct-", "sk-admin-", "sk-", "AIza")
# Printable ASCII without spaces: every provider's keys fit, and it catches pasted quotes or
# newlines before a provider call is spent on them.
_KEY_SHAPE = re.compile(r"[\x21-\x7e]{8,512}")


@dataclass(frozen=True)
class KeyVerdict:
    """Outcome of checking a key with its provider (or of refusing it by its shape first)."""

    status: str  # a ProviderCredential.Status value
    message: str
    checked_with_provider: bool
    # The provider's finer verdict ("permission_denied": the key works but not for this model).
    reason: str = ""


@dataclass
class RotationReport:
    current_key_id: str
    rotated: int = 0
    already_current: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (credential pk, error class)


def key_hint(api_key: str) -> str:
    """Provider prefix + "…" + last four; only asterisks when the key is too short to hint at."""
    if len(api_key) < _HINT_MIN_LENGTH:
        return "*" * 8
    prefix = next((p for p in _KEY_PREFIXES if api_key.startswith(p)), "")
    return f"{prefix}…{api_key[-4:]}"


def _scrubbed(text: str, *secrets: str) -> str:
    cleaned = " ".join(redact(text, *secrets).split())
    if len(cleaned) > _STATUS_DETAIL_LIMIT:
        cleaned = cleaned[: _STATUS_DETAIL_LIMIT - 1] + "…"
    return cleaned


def _audit(
    *,
    tenant_id: int | None,
    source: str,
    provider: str,
    action: str,
    hint: str,
    actor: User | None = None,
    detail: str = "",
) -> KeyAuditEvent:
    return KeyAuditEvent.objects.create(
        tenant_id=tenant_id,
        source=source,
        provider=provider,
        action=action,
        hint=hint,
        actor=actor if actor is not None and actor.is_authenticated else None,
        detail=_scrubbed(detail),
    )


@sensitive_variables()
def credential_check(*, provider: str, model: str, api_key: str) -> KeyVerdict:
    """Ask the provider whether the key works, with one cheap authenticated call."""
    if not _KEY_SHAPE.fullmatch(api_key):
        return KeyVerdict(
            ProviderCredential.Status.INVALID,
            "This does not look like an API key: paste the whole key, without spaces or quotes.",
            checked_with_provider=False,
        )
    from conversations.providers.registry import close_pools, get_adapter

    adapter = get_adapter(provider)

    async def validate():
        try:
            return await adapter.validate_key(api_key, model)
        finally:
            await close_pools()

    # A loop of its own, not async_to_sync: called from a sync view under ASGI, async_to_sync
    # would run this on the server's loop, whose shared connection pool close_pools must not
    # close under the chats in flight. Key checks are rare; a fresh connection is fine.
    with secret_registered(api_key):
        check = asyncio.run(validate())
    status = {
        "valid": ProviderCredential.Status.VALID,
        "invalid": ProviderCredential.Status.INVALID,
        "permission_denied": ProviderCredential.Status.INVALID,
        "quota_exhausted": ProviderCredential.Status.QUOTA_EXHAUSTED,
        "unreachable": ProviderCredential.Status.UNREACHABLE,
    }[check.status]
    return KeyVerdict(
        status, _scrubbed(check.message, api_key), checked_with_provider=True, reason=check.status
    )


def _refusal(verdict: KeyVerdict, *, provider: str, model: str) -> Exception:
    label = Provider(provider).label
    # Adapter messages read "<summary> Details: <the provider's words>"; the summary is ours to say.
    _, _, details = verdict.message.partition("Details: ")
    said = f" {label} said: {details.strip()}" if details.strip() else ""
    if verdict.reason == "permission_denied":
        return InvalidProviderKey(
            f"{label} accepted this key, but it may not use the model {model}. Choose another "
            f"model, or enable this one for the key in your {label} account.{said}",
            provider=provider,
        )
    if verdict.status == ProviderCredential.Status.QUOTA_EXHAUSTED:
        return ProviderQuotaExhausted(
            f"{label} accepted this key, but its account has no quota or credit left. Add credit "
            f"with {label}, then save the key again.",
            provider=provider,
        )
    if verdict.status == ProviderCredential.Status.UNREACHABLE:
        return ProviderKeyCheckUnavailable(
            f"{label} could not be reached to check this key, so it was not saved. Try again in a "
            "minute.",
            provider=provider,
        )
    if not verdict.checked_with_provider:
        return InvalidProviderKey(verdict.message, provider=provider)
    return InvalidProviderKey(
        f"{label} did not accept this API key. Check that you copied the whole key and that it "
        f"has not been revoked.{said}",
        provider=provider,
    )


@sensitive_variables()
def credential_set(
    *,
    tenant: Tenant,
    source: str,
    provider: str,
    model: str,
    api_key: str,
    actor: User | None,
) -> ProviderCredential:
    """Check a key with its provider, then seal and save it as the tenant's key for ``source``.

    A key that does not work is never saved: the refusal is audited and raised as a
    ``ChatDirectError`` whose message can be shown as is. The check runs before the transaction
    opens so no database lock is held during the provider call.
    """
    source, provider = KeySource(source).value, Provider(provider).value
    api_key, model = api_key.strip(), model.strip()
    # Admins may give any catalog model; clients only what their plan includes.
    model_check_selectable(
        tenant=tenant,
        provider=provider,
        model=model,
        premium_allowed=source == KeySource.ADMIN or tenant.plan.premium_models,
    )
    hint = key_hint(api_key)
    verdict = credential_check(provider=provider, model=model, api_key=api_key)
    if verdict.status not in (
        ProviderCredential.Status.VALID,
        ProviderCredential.Status.UNVERIFIED,
    ):
        _audit(
            tenant_id=tenant.pk,
            source=source,
            provider=provider,
            action=KeyAuditEvent.Action.FAILED_VALIDATION,
            hint=hint,
            actor=actor,
            detail=f"{verdict.status}: {verdict.message}",
        )
        raise _refusal(verdict, provider=provider, model=model)

    sealed = vault.seal(api_key, tenant_id=tenant.pk, provider=provider)
    now = timezone.now()
    fields = {
        "provider": provider,
        "model": model,
        "sealed_key": sealed,
        "hint": hint,
        "status": verdict.status,
        "status_detail": verdict.message,
        "last_verified_at": now if verdict.checked_with_provider else None,
        "updated_by": actor if actor is not None and actor.is_authenticated else None,
    }
    with transaction.atomic():
        # Serialises two first-time saves for one tenant, which would otherwise both insert.
        type(tenant).objects.select_for_update().filter(pk=tenant.pk).first()
        existing = (
            ProviderCredential.objects.select_for_update()
            .filter(tenant_id=tenant.pk, source=source)
            .first()
        )
        if existing is None:
            credential = ProviderCredential.objects.create(
                tenant=tenant, source=source, created_by=fields["updated_by"], **fields
            )
            action, detail = KeyAuditEvent.Action.SET, f"model {model}"
        else:
            previous = f"{existing.provider} {existing.hint}"
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            credential = existing
            action, detail = KeyAuditEvent.Action.REPLACED, f"model {model}; replaced {previous}"
        _audit(
            tenant_id=tenant.pk,
            source=source,
            provider=provider,
            action=action,
            hint=hint,
            actor=actor,
            detail=detail,
        )
    return credential


def credential_set_model(
    *, credential: ProviderCredential, model: str, actor: User | None = None
) -> None:
    """Point an existing key at another model of the same provider; the key is untouched."""
    ProviderCredential.objects.filter(pk=credential.pk).update(
        model=model.strip(),
        updated_by=actor if actor is not None and actor.is_authenticated else None,
        updated=timezone.now(),
    )
    credential.model = model.strip()


def credential_remove(*, tenant: Tenant, source: str, actor: User | None) -> bool:
    """Delete the tenant's key for ``source``. Returns whether there was one."""
    with transaction.atomic():
        credential = (
            ProviderCredential.objects.select_for_update()
            .filter(tenant_id=tenant.pk, source=source)
            .first()
        )
        if credential is None:
            return False
        credential.delete()
        _audit(
            tenant_id=tenant.pk,
            source=credential.source,
            provider=credential.provider,
            action=KeyAuditEvent.Action.REMOVED,
            hint=credential.hint,
            actor=actor,
        )
    return True


class credential_reveal_for_call:  # a service, so named like the others
    """The only way to get a plaintext key: ``with credential_reveal_for_call(credential=c) as key``.

    Opens the sealed record for the duration of one provider call and registers the key with log
    redaction until the block ends. A class rather than a generator so that no frame holding the key
    shows up in a traceback raised from inside the block; ``repr`` shows the hint.
    """

    def __init__(self, *, credential: ProviderCredential) -> None:
        self._credential = credential
        self._plaintext: str | None = None

    @sensitive_variables()
    def __enter__(self) -> str:
        credential = self._credential
        self._plaintext = vault.open_sealed(
            credential.sealed_key, tenant_id=credential.tenant_id, provider=credential.provider
        )
        register_secret(self._plaintext)
        return self._plaintext

    def __exit__(self, *exc_info) -> None:
        if self._plaintext is not None:
            unregister_secret(self._plaintext)
            self._plaintext = None

    def __repr__(self) -> str:
        return f"<credential_reveal_for_call {self._credential.provider} {self._credential.hint}>"


def credential_mark_status(
    *, credential: ProviderCredential, status: str, detail: str = "", actor: User | None = None
) -> bool:
    """Record what the provider said about a stored key (after a chat call or a re-check).

    Conditional on the sealed record being unchanged: a verdict about a key that was replaced in the
    meantime must not stick to its successor. Changes of status are audited.
    """
    status = ProviderCredential.Status(status).value
    detail = _scrubbed(detail)
    now = timezone.now()
    answered = status != ProviderCredential.Status.UNREACHABLE
    with transaction.atomic():
        updates: dict = {"status": status, "status_detail": detail, "updated": now}
        if answered:
            updates["last_verified_at"] = now
        changed = ProviderCredential.objects.filter(
            pk=credential.pk, sealed_key=credential.sealed_key
        ).update(**updates)
        if not changed:
            return False
        if status != credential.status:
            _audit(
                tenant_id=credential.tenant_id,
                source=credential.source,
                provider=credential.provider,
                action=(
                    KeyAuditEvent.Action.VALIDATED
                    if status == ProviderCredential.Status.VALID
                    else KeyAuditEvent.Action.FAILED_VALIDATION
                ),
                hint=credential.hint,
                actor=actor,
                detail=f"{status}: {detail}" if detail else status,
            )
    for name, value in updates.items():
        setattr(credential, name, value)
    return True


def credential_verify(*, credential: ProviderCredential, actor: User | None = None) -> str:
    """Re-check a stored key with its provider and record the outcome. Returns the new status."""
    with credential_reveal_for_call(credential=credential) as api_key:
        verdict = credential_check(
            provider=credential.provider, model=credential.model, api_key=api_key
        )
    credential_mark_status(
        credential=credential, status=verdict.status, detail=verdict.message, actor=actor
    )
    return verdict.status


def credential_rotate_all(
    *,
    batch_size: int = 100,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> RotationReport:
    """Re-encrypt every credential not yet under the keyring's current key id.

    One transaction per batch rather than one outermost transaction: a rotation interrupted half way
    keeps the batches it finished, and running it again picks up the rest (records already under
    the current key id are skipped). Old key ids stay readable throughout, so chats keep working.
    """
    keyring = vault.configured_keyring()
    current = keyring.current_key_id
    current_prefix = f"{vault.FORMAT_VERSION}:{current}:"
    report = RotationReport(current_key_id=current)
    report.already_current = ProviderCredential.objects.filter(
        sealed_key__startswith=current_prefix
    ).count()
    pending = ProviderCredential.objects.exclude(sealed_key__startswith=current_prefix)
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                pending.filter(pk__gt=last_pk).select_for_update().order_by("pk")[:batch_size]
            )
            if not batch:
                break
            for credential in batch:
                _rotate_one(credential, keyring=keyring, dry_run=dry_run, report=report)
            last_pk = batch[-1].pk
        if on_progress is not None:
            on_progress(len(batch))
    return report


def _rotate_one(
    credential: ProviderCredential, *, keyring: vault.Keyring, dry_run: bool, report: RotationReport
) -> None:
    try:
        previous_key_id = vault.record_key_id(credential.sealed_key)
        resealed = vault.reseal(
            credential.sealed_key,
            tenant_id=credential.tenant_id,
            provider=credential.provider,
            keyring=keyring,
        )
    except vault.VaultError as exc:
        report.failed.append((credential.pk, type(exc).__name__))
        return
    report.rotated += 1
    if dry_run:
        return
    ProviderCredential.objects.filter(pk=credential.pk).update(sealed_key=resealed)
    _audit(
        tenant_id=credential.tenant_id,
        source=credential.source,
        provider=credential.provider,
        action=KeyAuditEvent.Action.ROTATED,
        hint=credential.hint,
        detail=f"vault key {previous_key_id} -> {keyring.current_key_id}",
    )
