"""The token ledger, its daily rollups, the USD→CAD rates and the admin's price overrides."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from conversations.models import PROVIDER_CHOICES, Conversation
from tenants.models import Tenant

# Unit prices are USD per million tokens with six decimals, so a cost (tokens × price / 10^6) is
# exact with twelve decimals: the ledger never rounds.
PRICE_FIELD = {"max_digits": 14, "decimal_places": 6}
COST_FIELD = {"max_digits": 24, "decimal_places": 12}
ZERO = Decimal(0)


class KeySource(models.TextChoices):
    PLATFORM = "platform", "Platform (pooled key)"
    ADMIN = "admin", "Admin-managed key"
    CLIENT = "client", "Client's own key (BYOK)"


class UsageEvent(models.Model):
    """One provider attempt. Append-only: written once by `usage_record`, never updated or deleted."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="usage_events")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_events"
    )
    request_id = models.CharField(max_length=64)
    attempt = models.PositiveSmallIntegerField()
    provider = models.CharField(max_length=16, choices=PROVIDER_CHOICES)
    model = models.CharField(max_length=100)
    key_source = models.CharField(max_length=16, choices=KeySource.choices)
    outcome = models.CharField(max_length=32, default="ok", help_text='"ok" or an error code.')
    input_tokens = models.PositiveIntegerField(
        default=0, help_text="Excludes cache reads and writes."
    )
    cached_input_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    input_price = models.DecimalField(**PRICE_FIELD, default=ZERO, help_text="USD per 1M tokens.")
    cached_input_price = models.DecimalField(**PRICE_FIELD, default=ZERO)
    cache_write_price = models.DecimalField(**PRICE_FIELD, default=ZERO)
    output_price = models.DecimalField(**PRICE_FIELD, default=ZERO)
    price_known = models.BooleanField(
        default=True, help_text="False: no price for this model, recorded at zero cost."
    )
    price_source = models.CharField(max_length=40, blank=True)
    cost_usd = models.DecimalField(**COST_FIELD, default=ZERO)
    occurred_at = models.DateTimeField(help_text="UTC.")
    local_day = models.DateField(help_text="The day in the tenant's time zone.")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["request_id", "attempt"], name="usage_unique_attempt")
        ]
        indexes = [
            # The rollup reads whole local days, for one tenant or for all of them.
            models.Index(fields=["local_day", "tenant"], name="usage_day_tenant"),
            models.Index(fields=["tenant", "-occurred_at"], name="usage_tenant_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}#{self.attempt} {self.provider}/{self.model}"

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.cached_input_tokens
            + self.cache_write_tokens
            + self.output_tokens
        )


class PriceOverride(models.Model):
    """An admin's price for one model, true from `effective_from` (00:00 UTC) until the next one."""

    provider = models.CharField(max_length=16, choices=PROVIDER_CHOICES)
    model = models.CharField(
        max_length=100, help_text="The model id exactly as the ledger records it."
    )
    effective_from = models.DateField()
    input_price = models.DecimalField(
        **PRICE_FIELD, validators=[MinValueValidator(0)], help_text="USD per 1M tokens."
    )
    cached_input_price = models.DecimalField(**PRICE_FIELD, validators=[MinValueValidator(0)])
    cache_write_price = models.DecimalField(**PRICE_FIELD, validators=[MinValueValidator(0)])
    output_price = models.DecimalField(**PRICE_FIELD, validators=[MinValueValidator(0)])
    note = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["provider", "model", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "model", "effective_from"], name="priceoverride_unique_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} from {self.effective_from}"


class FxRate(models.Model):
    """USD→CAD for one day; a day without a row uses the latest earlier one."""

    day = models.DateField(unique=True)
    usd_to_cad = models.DecimalField(
        max_digits=10, decimal_places=6, validators=[MinValueValidator(Decimal("0.000001"))]
    )
    source = models.CharField(max_length=40, default="admin")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = "FX rate"

    def __str__(self) -> str:
        return f"{self.day}: 1 USD = {self.usd_to_cad} CAD"


class DailyUsage(models.Model):
    """The ledger summed per tenant-local day; rebuilt whole by `daily_usage_rebuild`, never edited."""

    # Derived rows: every one comes from ledger rows that already hold the foreign key, so the
    # database-level constraint (a deferred check per inserted row) and a separate tenant index
    # (the unique constraint leads with tenant) would only slow the rebuild down.
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="daily_usage",
        db_constraint=False,
        db_index=False,
    )
    local_day = models.DateField()
    provider = models.CharField(max_length=16, choices=PROVIDER_CHOICES)
    model = models.CharField(max_length=100)
    key_source = models.CharField(max_length=16, choices=KeySource.choices)
    calls = models.BigIntegerField(default=0)
    conversations = models.BigIntegerField(default=0, help_text="Distinct conversations.")
    input_tokens = models.BigIntegerField(default=0)
    cached_input_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(**COST_FIELD, default=ZERO)
    cost_cad = models.DecimalField(**COST_FIELD, default=ZERO)
    usd_to_cad = models.DecimalField(max_digits=10, decimal_places=6, default=ZERO)
    unknown_price_calls = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-local_day", "tenant", "provider", "model", "key_source"]
        verbose_name_plural = "daily usage"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "local_day", "provider", "model", "key_source"],
                name="dailyusage_unique_group",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.local_day} {self.provider}/{self.model} ({self.key_source})"
