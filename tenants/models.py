import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


def widget_id_new() -> str:
    # Public (it sits in the client's page source) but unguessable, so tenants cannot be enumerated.
    return "wgt_" + secrets.token_urlsafe(18)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"{value!r} is not a known IANA time zone (for example America/Toronto)."
        )


def validate_origins(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(origin, str) for origin in value):
        raise ValidationError(
            "Allowed origins must be a list of origins such as https://example.com."
        )
    for origin in value:
        scheme, _, host = origin.partition("://")
        if scheme not in ("http", "https") or not host or "/" in host:
            raise ValidationError(
                f"{origin!r} is not an origin: use scheme and host only, e.g. https://shop.example.com."
            )


class Plan(models.Model):
    name = models.CharField(max_length=64, unique=True)
    monthly_price = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="USD per month.",
    )
    monthly_conversation_cap = models.PositiveIntegerField(
        help_text="Conversations per billing month paid by the platform's pooled keys."
    )
    premium_models = models.BooleanField(default=False, help_text="May select premium-tier models.")
    api_access = models.BooleanField(default=False)
    integrations = models.BooleanField(default=False)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "monthly_price"]

    def __str__(self) -> str:
        return self.name


class Tenant(models.Model):
    class ApiKeyMode(models.TextChoices):
        PLATFORM = "platform", "Platform (pooled keys, plan cap applies)"
        ADMIN = "admin", "Admin-managed dedicated key (no cap, hidden from the client)"
        CLIENT = "client", "Client brings its own key (BYOK, no cap once a working key is saved)"

    class ChatMode(models.TextChoices):
        AI = "ai", "AI bot"
        HYBRID = "hybrid", "Hybrid (AI first, human on request)"
        HUMAN = "human", "Human only"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=64, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="tenants")
    api_key_mode = models.CharField(
        max_length=16, choices=ApiKeyMode.choices, default=ApiKeyMode.PLATFORM
    )
    chat_mode = models.CharField(max_length=16, choices=ChatMode.choices, default=ChatMode.AI)
    timezone = models.CharField(
        max_length=64,
        default=settings.CHATDIRECT_DEFAULT_TIMEZONE,
        validators=[validate_timezone],
        help_text="IANA time zone; the billing month follows it.",
    )
    widget_id = models.CharField(max_length=40, unique=True, default=widget_id_new, editable=False)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_origins],
        help_text='Websites allowed to embed the widget, e.g. ["https://shop.example.com"].',
    )
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        AGENT = "agent", "Agent"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.tenant} ({self.role})"


class ConversationCounter(models.Model):
    """Conversations started in one billing period (a calendar month in the tenant's time zone).

    Two columns because the cap rule counts only what pooled platform keys pay for; conversations
    served by dedicated keys are counted for reporting but never block.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="conversation_counters"
    )
    period = models.DateField(help_text="First day of the billing month, tenant-local.")
    platform_conversations = models.PositiveIntegerField(default=0)
    dedicated_conversations = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "period"], name="counter_unique_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.period:%Y-%m}"
