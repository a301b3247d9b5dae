"""Provider credentials sealed by the vault, and the key audit log.

Neither model ever holds a plaintext key: ``sealed_key`` is a vault record bound to the tenant and
provider, and everything displayed is the ``hint`` computed when the key was saved.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Provider(models.TextChoices):
    ANTHROPIC = "anthropic", "Anthropic"
    OPENAI = "openai", "OpenAI"
    GOOGLE = "google", "Google"
    MISTRAL = "mistral", "Mistral"


class KeySource(models.TextChoices):
    CLIENT = "client", "Client (BYOK, entered in the portal)"
    ADMIN = "admin", "Admin-managed (entered in Django admin)"


class ProviderCredential(models.Model):
    class Status(models.TextChoices):
        UNVERIFIED = "unverified", "Not verified yet"
        VALID = "valid", "Working"
        INVALID = "invalid", "Rejected by the provider"
        QUOTA_EXHAUSTED = "quota_exhausted", "No quota or credit left"
        UNREACHABLE = "unreachable", "Provider unreachable at last check"

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="provider_credentials"
    )
    source = models.CharField(max_length=16, choices=KeySource.choices)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    model = models.CharField(max_length=100, help_text="Model id used with this key.")
    sealed_key = models.TextField(editable=False, help_text="Vault record; never plaintext.")
    hint = models.CharField(max_length=40, help_text="Provider prefix and last four characters.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNVERIFIED)
    status_detail = models.CharField(max_length=300, blank=True, help_text="Scrubbed of secrets.")
    last_verified_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Removing a key deletes its row (a removed key must not linger, even sealed), so the
            # "at most one active credential" rule is a plain unique pair; history is in the audit.
            models.UniqueConstraint(
                fields=["tenant", "source"], name="credential_one_per_tenant_and_source"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=KeySource.values), name="credential_source_known"
            ),
            models.CheckConstraint(
                condition=models.Q(provider__in=Provider.values), name="credential_provider_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.hint}"

    def __repr__(self) -> str:
        return (
            f"<ProviderCredential pk={self.pk} tenant_id={self.tenant_id} source={self.source} "
            f"provider={self.provider} hint={self.hint!r} status={self.status}>"
        )


class KeyAuditEvent(models.Model):
    class Action(models.TextChoices):
        SET = "set", "Key set"
        REPLACED = "replaced", "Key replaced"
        REMOVED = "removed", "Key removed"
        VALIDATED = "validated", "Key validated"
        FAILED_VALIDATION = "failed_validation", "Key failed validation"
        ROTATED = "rotated", "Re-encrypted under a new vault key"

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for system actions (rotation, status checks during chats).",
    )
    # The audit trail outlives the tenant: keep the row, lose the link.
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="key_audit_events",
    )
    source = models.CharField(max_length=16, choices=KeySource.choices)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    hint = models.CharField(max_length=40, blank=True)
    detail = models.CharField(max_length=300, blank=True, help_text="Scrubbed of secrets.")

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["tenant", "-created"], name="keyaudit_tenant_created")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.provider} {self.hint}"

    def __repr__(self) -> str:
        return (
            f"<KeyAuditEvent pk={self.pk} tenant_id={self.tenant_id} action={self.action} "
            f"provider={self.provider} hint={self.hint!r}>"
        )
